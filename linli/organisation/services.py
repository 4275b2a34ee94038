"""Writes of the responsibility chain 包保 (SPEC R5) and the working groups (R6); each one transaction, audited.

Callers have checked the account may edit the compound or the group (``scope.editable``) and holds an
organising role (:func:`can_organise`).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.organisation.models import (
    CoverSlot,
    GroupKind,
    GroupMember,
    ManagingUnit,
    ResponsibilityChain,
    WorkingGroup,
)
from linli.registry.models import Community, Compound, Street

# Who arranges the chain and the groups: community workers and street commanders.
ORGANISE_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER})

CHAIN_FIELDS = [
    "street_leader",
    "street_leader_phone",
    "community_leader",
    "community_leader_phone",
    "responsible",
    "responsible_phone",
]

# A mobile number, a landline with its area code (0551-62345678, extension allowed), a local
# number, or a short service number (12345): duty phones are often landlines.
CONTACT_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{7,8}|\d{3,5})$")


def can_organise(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in ORGANISE_ROLES))


def clean_contact_phone(value: str) -> str:
    """Normalise (full-width digits, spaces) and check a contact phone; '' stays ''."""
    phone = re.sub(r"\s", "", unicodedata.normalize("NFKC", value or "")).replace("—", "-")
    if phone.startswith("+86"):
        phone = phone[3:]
    if phone and not CONTACT_PHONE_RE.match(phone):
        raise ValidationError(_("电话号码格式不正确：应为11位手机号或带区号的固定电话（如 0551-62345678）"))
    return phone


def _clean_phones(fields: dict[str, Any], names: list[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in names:
        try:
            fields[name] = clean_contact_phone(fields.get(name, ""))
        except ValidationError as exc:
            errors[name] = exc.messages
    return errors


# --- lead unit (R6) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadUnit:
    """Who leads a compound's epidemic work, and why (the rule of SPEC R6 that picked it)."""

    name: str
    basis: str


def compound_lead(compound: Compound, managers: list[ManagingUnit] | None = None) -> LeadUnit:
    """The compound's lead unit by the rule of SPEC R6 [003].

    A property company leads its compound. Without one, the former manager leads: of several recorded
    managers, the one with most buildings (a tie goes to the one recorded first); a single former
    manager may also be recorded as ``Compound.lead_unit``; with none, the community leads.
    Pass ``managers`` when they are already loaded (a list page), to save a query.
    """
    if compound.property_company.strip():
        return LeadUnit(compound.property_company.strip(), _("物业公司"))
    if managers is None:
        managers = list(ManagingUnit.objects.filter(compound=compound))
    if managers:
        chosen = max(managers, key=lambda unit: (unit.buildings, -unit.pk))
        if len(managers) > 1:
            return LeadUnit(chosen.name, _("管理楼栋最多的原管理单位"))
        return LeadUnit(chosen.name, _("原管理单位"))
    if compound.lead_unit.strip():
        return LeadUnit(compound.lead_unit.strip(), _("原管理单位"))
    return LeadUnit(compound.community.name, _("无物业、无原管理单位，由社区牵头"))


def compound_lead_unit(compound: Compound) -> str:
    """The name of the unit that leads the compound (see :func:`compound_lead`)."""
    return compound_lead(compound).name


MAX_MANAGED_BUILDINGS = 999


def managing_unit_add(
    *,
    compound: Compound,
    actor: Any,
    name: str,
    buildings: int,
    contact: str = "",
    phone: str = "",
    request: HttpRequest | None = None,
) -> ManagingUnit:
    fields: dict[str, Any] = {
        "name": (name or "").strip(),
        "buildings": buildings,
        "contact": contact.strip(),
        "phone": phone,
    }
    errors = _clean_phones(fields, ["phone"])
    if not fields["name"]:
        errors["name"] = [_("请填写原管理单位名称")]
    if buildings is None or buildings < 1:
        errors["buildings"] = [_("管理楼栋数至少为1")]
    elif buildings > MAX_MANAGED_BUILDINGS:  # a typo, not a street: and past the column's range a 500
        errors["buildings"] = [_("管理楼栋数最多为 %(n)s") % {"n": MAX_MANAGED_BUILDINGS}]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            unit = ManagingUnit.objects.create(compound=compound, **fields)
            audit_record(
                actor=actor, action=AuditAction.CREATE, obj=unit, changes=diff({}, snapshot(unit)), request=request
            )
    except IntegrityError as exc:
        raise ValidationError({"name": [_("该小区已登记此原管理单位")]}) from exc
    return unit


def managing_unit_remove(*, unit: ManagingUnit, actor: Any, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=unit, changes=diff(snapshot(unit), {}), request=request
        )
        unit.delete()


# --- responsibility chain (R5) ----------------------------------------------------------------------


def responsibility_chain_save(
    *, compound: Compound, actor: Any, request: HttpRequest | None = None, **fields: Any
) -> ResponsibilityChain:
    """Create or change a compound's chain. A person may be left blank until assigned, never a phone without a name."""
    unknown = set(fields) - set(CHAIN_FIELDS)
    if unknown:
        raise TypeError(f"unknown chain fields: {sorted(unknown)}")
    values = {name: (fields.get(name) or "").strip() for name in CHAIN_FIELDS}
    errors = _clean_phones(values, [name for name in CHAIN_FIELDS if name.endswith("_phone")])
    for person in ("street_leader", "community_leader", "responsible"):
        if values[person] and not values[f"{person}_phone"] and f"{person}_phone" not in errors:
            errors[f"{person}_phone"] = [_("请填写联系电话")]
        if values[f"{person}_phone"] and not values[person]:
            errors[person] = [_("请填写姓名")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            chain = ResponsibilityChain.objects.select_for_update().filter(compound=compound).first()
            before = snapshot(chain, CHAIN_FIELDS) if chain else {}
            if chain is None:
                chain = ResponsibilityChain(compound=compound)
            for name, value in values.items():
                setattr(chain, name, value)
            chain.save()
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE if before else AuditAction.CREATE,
                obj=chain,
                changes=diff(before, snapshot(chain, CHAIN_FIELDS)),
                request=request,
            )
    except IntegrityError as exc:  # two first saves at once: the one-to-one row exists now
        raise ValidationError(_("包保责任刚被他人保存，请刷新后重试")) from exc
    return chain


def cover_slot_add(
    *,
    compound: Compound,
    actor: Any,
    name: str,
    phone: str,
    starts: datetime.time,
    ends: datetime.time,
    kind: str = "cadre",
    request: HttpRequest | None = None,
) -> CoverSlot:
    """A cadre or volunteer covers the compound from ``starts`` to ``ends`` (ending before it starts: overnight)."""
    fields: dict[str, Any] = {
        "name": (name or "").strip(),
        "phone": phone,
        "starts": starts,
        "ends": ends,
        "kind": kind,
    }
    errors = _clean_phones(fields, ["phone"])
    if not fields["name"]:
        errors["name"] = [_("请填写姓名")]
    if not fields["phone"] and "phone" not in errors:
        errors["phone"] = [_("请填写联系电话")]
    if kind not in {"cadre", "volunteer"}:
        errors["kind"] = [_("身份应为干部或志愿者")]
    if starts is None or ends is None:
        errors["starts"] = [_("请填写开始和结束时间")]
    elif starts == ends:
        errors["ends"] = [_("结束时间不能与开始时间相同")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        slot = CoverSlot.objects.create(compound=compound, **fields)
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=slot, changes=diff({}, snapshot(slot)), request=request
        )
    return slot


def cover_slot_remove(*, slot: CoverSlot, actor: Any, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=slot, changes=diff(snapshot(slot), {}), request=request
        )
        slot.delete()


# --- working groups (R6) ----------------------------------------------------------------------------

# Default duties of the leading group and the working groups, from the seed plans [001 p1, p3; 004].
DEFAULT_DUTIES: dict[str, Any] = {
    GroupKind.LEADING: gettext_lazy(
        "负责疫情防控工作的组织、指挥和协调；部署防控措施，压实包保责任；严格值班值守和日报告、零报告制度。"
    ),
    GroupKind.LIAISON: gettext_lazy(
        "负责会议组织、综合材料起草；登记信息汇总上报，与上级指挥部沟通联络；协调各工作组信息报送。"
    ),
    GroupKind.LOGISTICS: gettext_lazy(
        "负责防控物资储备和调运；为出行不便的居民采购、配送生活物资；保障防控经费和一线人员防护用品。"
    ),
    GroupKind.PUBLICITY: gettext_lazy(
        "负责向居民宣传防控政策和防护知识，及时发布疫情信息；做好舆论引导，不造谣、不传谣、不信谣。"
    ),
    GroupKind.RESCUE: gettext_lazy("负责需紧急就医居民的帮助和转运，对接医院和急救中心，处置突发情况。"),
    GroupKind.GUARD: gettext_lazy(
        "负责小区出入口24小时值守：进出人员戴口罩、测体温、查验通行证并登记，外来人员和车辆严格管控。"
    ),
    GroupKind.MEDICAL: gettext_lazy(
        "负责防控技术指导；配合卫生院做好重点人员登记、健康监测、居家隔离和核酸检测；发现发热病人及时送诊上报。"
    ),
    GroupKind.TRAFFIC: gettext_lazy(
        "负责交通管控和车辆登记；保障防控人员、药品和急用物资运送；做好人员密集场所的劝阻和疏散。"
    ),
    GroupKind.SECURITY: gettext_lazy(
        "由驻片民警负责，关注与疫情防控有关的治安动态，依法查处违法犯罪，劝阻聚集，维护社会稳定。"
    ),
    GroupKind.ENVIRONMENT: gettext_lazy(
        "负责爱国卫生运动和环境整治；公共区域、电梯、楼道清洁消毒；垃圾分类和废弃口罩定点收集处置。"
    ),
}

GROUP_FIELDS = ["kind", "name", "duties", "duty_phone"]


def _clean_group_fields(fields: dict[str, Any]) -> dict[str, Any]:
    values = {
        "kind": fields.get("kind") or "",
        "name": (fields.get("name") or "").strip(),
        "duties": (fields.get("duties") or "").strip(),
        "duty_phone": fields.get("duty_phone") or "",
    }
    errors = _clean_phones(values, ["duty_phone"])
    if values["kind"] not in GroupKind.values:
        errors["kind"] = [_("请选择工作组类别")]
    if not values["name"]:
        errors["name"] = [_("请填写名称")]
    if not values["duties"]:
        errors["duties"] = [_("请填写职责")]
    if errors:
        raise ValidationError(errors)
    return values


def working_group_create(
    *,
    street: Street,
    community: Community | None,
    actor: Any,
    request: HttpRequest | None = None,
    **fields: Any,
) -> WorkingGroup:
    """A group of a community, or of the street itself when ``community`` is None."""
    values = _clean_group_fields(fields)
    if community is not None and community.street_id != street.pk:
        raise ValidationError({"community": [_("社区不属于该街道")]})
    with transaction.atomic():
        group = WorkingGroup.objects.create(street=street, community=community, **values)
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=group, changes=diff({}, snapshot(group)), request=request
        )
    return group


def working_group_update(
    *, group: WorkingGroup, actor: Any, request: HttpRequest | None = None, **fields: Any
) -> WorkingGroup:
    values = _clean_group_fields({**snapshot(group, GROUP_FIELDS), **fields})
    with transaction.atomic():
        before = snapshot(group, GROUP_FIELDS)
        for name, value in values.items():
            setattr(group, name, value)
        group.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=group,
            changes=diff(before, snapshot(group, GROUP_FIELDS)),
            request=request,
        )
    return group


def working_group_delete(*, group: WorkingGroup, actor: Any, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        changes = diff(snapshot(group), {})
        changes["members"] = [[member.name for member in group.members.all()], None]
        audit_record(actor=actor, action=AuditAction.DELETE, obj=group, changes=changes, request=request)
        group.delete()


def group_member_add(
    *,
    group: WorkingGroup,
    actor: Any,
    name: str,
    phone: str,
    title: str = "",
    is_leader: bool = False,
    request: HttpRequest | None = None,
) -> GroupMember:
    fields: dict[str, Any] = {"name": (name or "").strip(), "title": (title or "").strip(), "phone": phone}
    errors = _clean_phones(fields, ["phone"])
    if not fields["name"]:
        errors["name"] = [_("请填写姓名")]
    if not fields["phone"] and "phone" not in errors:
        errors["phone"] = [_("请填写联系电话")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        member = GroupMember.objects.create(group=group, is_leader=is_leader, **fields)
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=member, changes=diff({}, snapshot(member)), request=request
        )
    return member


def group_member_remove(*, member: GroupMember, actor: Any, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=member, changes=diff(snapshot(member), {}), request=request
        )
        member.delete()


def working_groups_seed_defaults(*, community: Community, actor: Any = None) -> list[WorkingGroup]:
    """Create the community's leading group and the standard working groups with their default duties.

    Idempotent: a kind the community already has is left alone. Returns the groups created.
    """
    created: list[WorkingGroup] = []
    with transaction.atomic():
        existing = set(WorkingGroup.objects.filter(community=community).values_list("kind", flat=True))
        for kind in GroupKind:
            if kind.value in existing:
                continue
            group = WorkingGroup.objects.create(
                street_id=community.street_id,
                community=community,
                kind=kind.value,
                name=f"{community.name}疫情防控{kind.label}",
                duties=str(DEFAULT_DUTIES[kind]),
            )
            audit_record(actor=actor, action=AuditAction.CREATE, obj=group, changes=diff({}, snapshot(group)))
            created.append(group)
    return created
