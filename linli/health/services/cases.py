"""Cases, close contacts and epidemic points (H5, H6) and the community status (H5)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health import rules
from linli.health.choices import (
    CaseKind,
    CaseSource,
    Category,
    CommunityStatus,
    ContactKind,
    OrderStatus,
    PointKind,
)
from linli.health.models import (
    Case,
    CloseContact,
    EpidemicPoint,
    IsolationSite,
    KeyPerson,
    QuarantineOrder,
    StatusRecord,
)
from linli.health.services._common import _actor, _decimal, _now, _today
from linli.health.services.orders import key_person_register
from linli.lib.wording import bracketed, listed, sentences
from linli.registry.models import Community, Household, Person

# ----------------------------------------------------------------------------------------------
# Cases, contacts, epidemic points (H5, H6) and the community status (H5)


def case_record(
    *,
    community: Community,
    name: str,
    kind: str,
    confirmed_on: datetime.date,
    source: str,
    actor: Any,
    person: Person | None = None,
    onset_date: datetime.date | None = None,
    isolated_on: datetime.date | None = None,
    source_note: str = "",
    cluster: str = "",
    address: str = "",
    note: str = "",
    now: datetime.datetime | None = None,
) -> Case:
    """Record a case and recompute the community's status (H5)."""
    today = _today(now)
    errors: dict[str, str] = {}
    if kind not in CaseKind.values:
        errors["kind"] = _("请选择病例类型")
    if source not in CaseSource.values:
        errors["source"] = _("请选择感染来源是否明确")
    if confirmed_on > today:
        errors["confirmed_on"] = _("确诊日期不能晚于今天")
    if onset_date and onset_date > confirmed_on:
        errors["onset_date"] = _("发病日期不能晚于确诊日期")
    # Isolation may come before onset (a contact already in quarantine who falls ill): that case has
    # no epidemic point to trace (``point_window``), but the date is not wrong.
    if isolated_on is not None and isolated_on > today:
        errors["isolated_on"] = _("隔离日期不能晚于今天")
    if person is not None and person.household.community_id != community.pk:
        errors["person"] = _("该人员不属于本社区")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = Case.objects.create(
            street_id=community.street_id,
            community=community,
            person=person,
            household=person.household if person else None,
            name=(name or (person.name if person else "")).strip(),
            kind=kind,
            onset_date=onset_date,
            confirmed_on=confirmed_on,
            isolated_on=isolated_on,
            source=source,
            source_note=source_note,
            cluster=cluster.strip(),
            address=address,
            note=note,
            created_by=_actor(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=case,
            changes={"kind": kind, "confirmed_on": str(confirmed_on), "source": source},
            street_id=community.street_id,
            community_id=community.pk,
        )
        status_refresh(community, now=now)
    return case


def contact_add(
    case: Case,
    *,
    person: Person,
    kind: str,
    actor: Any,
    last_contact_on: datetime.date | None = None,
    register: bool = True,
    site: IsolationSite | None = None,
    now: datetime.datetime | None = None,
) -> CloseContact:
    """Link a close contact to a case and, in the same step, register them as a key person (H6).

    The close contact's observation (H2: 14 days centralized) counts from the last contact when it
    is known, else from today.
    """
    errors: dict[str, str] = {}
    if kind not in ContactKind.values:
        errors["kind"] = _("请选择接触方式")
    if last_contact_on is not None and last_contact_on > _today(now):
        errors["last_contact_on"] = _("末次接触日期不能晚于今天")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                contact = CloseContact.objects.create(
                    case=case, person=person, name=person.name, kind=kind, last_contact_on=last_contact_on
                )
        except IntegrityError:
            raise ValidationError(_("%(name)s 已是该病例的密切接触者") % {"name": person.name}) from None
        if (
            register
            and not KeyPerson.objects.filter(person=person, category=Category.CLOSE_CONTACT, active=True).exists()
        ):
            registration = key_person_register(
                person,
                category=Category.CLOSE_CONTACT,
                actor=actor,
                arrived_on=None,
                starts_on=last_contact_on,
                case=case,
                site=site,
                start_order=not QuarantineOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).exists(),
                note=_("病例 %(name)s 的密切接触者") % {"name": case.name},
                now=now,
            )
            contact.key_person = registration.key_person
            contact.save(update_fields=["key_person"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=contact,
            changes={"case": case.pk, "kind": kind},
            street_id=case.street_id,
            community_id=case.community_id,
        )
    return contact


# An epidemic point is a place the case stayed more than this long (H6).
POINT_MIN_HOURS = Decimal("1")
# … from this many days before onset until isolation (H6).
POINT_DAYS_BEFORE_ONSET = 3


def point_window(case: Case, *, now: datetime.datetime | None = None) -> tuple[datetime.date, datetime.date] | None:
    """The days the case's epidemic points lie in (H6): 3 days before onset until isolation (or today).

    None when there are none: the onset is not known yet, or the case was isolated before the window
    began (a contact already in quarantine who fell ill) — never a window that runs backwards.
    """
    if case.onset_date is None:
        return None
    start = case.onset_date - datetime.timedelta(days=POINT_DAYS_BEFORE_ONSET)
    end = case.isolated_on or _today(now)
    if end < start:
        return None
    return start, end


def point_add(
    case: Case,
    *,
    kind: str,
    place: str,
    visited_on: datetime.date,
    hours: Decimal | float | str,
    actor: Any,
    household: Household | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> EpidemicPoint:
    """Record an epidemic point; only places in the H6 window and over 1 hour qualify."""
    window = point_window(case, now=now)
    errors: dict[str, str] = {}
    if case.onset_date is None:
        errors["visited_on"] = _("请先填写病例的发病日期：疫点从发病前 3 天算起")
    elif window is None:
        errors["visited_on"] = _(
            "该病例 %(isolated)s 已隔离，早于疫点追溯起点 %(start)s（发病前 3 天），没有需要追溯的疫点"
        ) % {
            "isolated": case.isolated_on.isoformat() if case.isolated_on else "",
            "start": (case.onset_date - datetime.timedelta(days=POINT_DAYS_BEFORE_ONSET)).isoformat(),
        }
    elif not window[0] <= visited_on <= window[1]:
        errors["visited_on"] = _("到访日期须在 %(start)s 至 %(end)s 之间（发病前 3 天至隔离）") % {
            "start": window[0].isoformat(),
            "end": window[1].isoformat(),
        }
    if kind not in PointKind.values:
        errors["kind"] = _("请选择疫点类型")
    stay = _decimal(hours, places=Decimal("0.1"))
    if stay is None or stay <= POINT_MIN_HOURS:
        errors["hours"] = _("停留超过 1 小时的场所才列为疫点")
    elif stay > Decimal("999.9"):
        errors["hours"] = _("停留小时数过大，请核对")
    if not (place or "").strip():
        errors["place"] = _("请填写地点")
    if errors or stay is None:
        raise ValidationError(errors)
    with transaction.atomic():
        point = EpidemicPoint.objects.create(
            case=case, kind=kind, place=place.strip(), visited_on=visited_on, hours=stay, household=household, note=note
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=point,
            changes={"place": point.place, "visited_on": str(visited_on)},
            street_id=case.street_id,
            community_id=case.community_id,
        )
    return point


MEASURES: dict[int, Any] = {
    1: gettext_lazy("组织动员"),
    2: gettext_lazy("健康教育"),
    3: gettext_lazy("信息告知"),
    4: gettext_lazy("疫区返回人员管理"),
    5: gettext_lazy("环境卫生治理"),
    6: gettext_lazy("物资准备"),
    7: gettext_lazy("密切接触者管理"),
    8: gettext_lazy("消毒"),
    9: gettext_lazy("疫区封锁"),
    10: gettext_lazy("限制人员聚集"),
}
# H5: the strategy and the measures (1–6, 1–8, 1–10) each status calls for.
STRATEGY = {
    CommunityStatus.NO_CASE: (gettext_lazy("外防输入"), 6),
    CommunityStatus.CASE: (gettext_lazy("内防扩散、外防输出"), 8),
    CommunityStatus.OUTBREAK: (gettext_lazy("内防扩散、外防输出"), 8),
    CommunityStatus.TRANSMISSION: (gettext_lazy("内防蔓延、外防输出"), 10),
}


@dataclass
class StatusFinding:
    """A community's status and the cases that made it."""

    status: str
    cases: list[Case]
    outbreaks: list[list[Case]]
    sporadic_unknown: list[Case]
    explanation: str

    @property
    def strategy(self) -> str:
        return str(STRATEGY[CommunityStatus(self.status)][0])

    @property
    def measures(self) -> list[tuple[int, str]]:
        return [(n, str(MEASURES[n])) for n in range(1, STRATEGY[CommunityStatus(self.status)][1] + 1)]

    @property
    def case_ids(self) -> list[int]:
        return sorted(c.pk for c in self.cases)


def _cluster_keys(case: Case) -> list[str]:
    keys = []
    if case.cluster:
        keys.append(f"c:{case.cluster}")
    if case.household_id:
        unit_id = case.household.unit_id if case.household else None
        keys.append(f"u:{unit_id}" if unit_id else f"h:{case.household_id}")
    return keys


def classify(
    cases: Sequence[Case], *, today: datetime.date, window_days: int = 14, large_outbreak_cases: int = 5
) -> StatusFinding:
    """The community status of H5 from its case records.

    Counted: confirmed cases (not asymptomatic infections) confirmed within the last ``window_days``
    days, today included (today − 13 … today for 14). Cases in one small range — the same cluster
    name (a family, a site), the same unit (which holds the household) — form an outbreak when
    there are two or more. Community transmission: two or more sporadic cases (in no outbreak) of
    unknown source, or two or more outbreaks of at least ``large_outbreak_cases`` cases.
    """
    first_day = today - datetime.timedelta(days=window_days - 1)
    counted = sorted(
        (c for c in cases if c.kind == CaseKind.CONFIRMED and first_day <= c.confirmed_on <= today),
        key=lambda c: (c.confirmed_on, c.pk or 0),
    )
    # Union the cases that share a small range.
    parent = list(range(len(counted)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, case in enumerate(counted):
        for key in _cluster_keys(case):
            if key in owner:
                parent[find(index)] = find(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[Case]] = {}
    for index, case in enumerate(counted):
        groups.setdefault(find(index), []).append(case)
    outbreaks = [g for g in groups.values() if len(g) >= 2]
    # By position, not pk: a preview may classify cases not saved yet (their pk is None).
    sporadic = [c for index, c in enumerate(counted) if len(groups[find(index)]) < 2]
    sporadic_unknown = [c for c in sporadic if c.source == CaseSource.UNKNOWN]
    large = [g for g in outbreaks if len(g) >= large_outbreak_cases]

    def names(group: Iterable[Case]) -> str:
        return listed(bracketed(c.name, f"{c.confirmed_on:%m-%d}") for c in group)

    window_text = _("近 %(days)s 天（%(start)s 至 %(end)s）") % {
        "days": window_days,
        "start": first_day.isoformat(),
        "end": today.isoformat(),
    }
    if len(sporadic_unknown) >= 2 or len(large) >= 2:
        status = CommunityStatus.TRANSMISSION
        parts = []
        if len(sporadic_unknown) >= 2:
            parts.append(
                _("%(n)s 例来源不明的散发病例：%(names)s")
                % {"n": len(sporadic_unknown), "names": names(sporadic_unknown)}
            )
        if len(large) >= 2:
            parts.append(
                _("%(n)s 起较大规模暴发（每起 %(size)s 例及以上）") % {"n": len(large), "size": large_outbreak_cases}
            )
        explanation = window_text + _("出现") + sentences(parts)
    elif outbreaks:
        status = CommunityStatus.OUTBREAK
        explanation = (
            window_text
            + _("在同一家庭、场所或单元等小范围内出现 2 例及以上确诊病例：")
            + sentences(names(g) for g in outbreaks)
        )
    elif counted:
        status = CommunityStatus.CASE
        explanation = window_text + _("出现确诊病例，尚无续发：") + names(counted)
    else:
        status = CommunityStatus.NO_CASE
        explanation = window_text + _("无确诊病例")
    return StatusFinding(
        status=status, cases=counted, outbreaks=outbreaks, sporadic_unknown=sporadic_unknown, explanation=explanation
    )


def status_of(community: Community, *, now: datetime.datetime | None = None) -> StatusFinding:
    today = _today(now)
    settings = rules.settings_for(community.street_id)
    first_day = today - datetime.timedelta(days=settings.status_window_days - 1)
    cases = list(
        Case.objects.filter(community=community, confirmed_on__gte=first_day, confirmed_on__lte=today).select_related(
            "household"
        )
    )
    return classify(
        cases,
        today=today,
        window_days=settings.status_window_days,
        large_outbreak_cases=settings.large_outbreak_cases,
    )


def status_refresh(community: Community, *, now: datetime.datetime | None = None) -> StatusFinding:
    """Recompute the status; a change (or a different set of cases) is recorded in the history."""
    with transaction.atomic():
        Community.objects.select_for_update().filter(pk=community.pk).exists()
        finding = status_of(community, now=now)
        last = StatusRecord.objects.filter(community=community).order_by("-since", "-pk").first()
        if last is None or last.status != finding.status or last.case_ids != finding.case_ids:
            if last is not None or finding.status != CommunityStatus.NO_CASE:
                StatusRecord.objects.create(
                    street_id=community.street_id,
                    community=community,
                    status=finding.status,
                    explanation=finding.explanation,
                    case_ids=finding.case_ids,
                    since=_now(now),
                )
    return finding
