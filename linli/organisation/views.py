"""Organisation pages: the responsibility chain per compound (R5) with its entrance notice, working groups (R6)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.lib import scope
from linli.lib.views import apply_errors, posted_pk
from linli.organisation import selectors, services
from linli.organisation.forms import ChainForm, CoverSlotForm, GroupMemberForm, ManagingUnitForm, WorkingGroupForm
from linli.organisation.models import CoverSlot, GroupMember, ManagingUnit, ResponsibilityChain, WorkingGroup
from linli.organisation.notice import NoticeData, render_notice_pdf
from linli.registry.models import Community, Compound


def _require_staff(user: Any) -> None:
    """Organisation pages are for staff with a place in the tree; residents and suppliers are refused."""
    if scope.is_unrestricted(user):
        return
    if user.is_resident or scope.user_level(user) is None:
        raise PermissionDenied(_("无权访问组织与包保页面"))


def _require_organiser(user: Any) -> None:
    _require_staff(user)
    if not services.can_organise(user):
        raise PermissionDenied(_("只有社区干部和街道指挥部可以修改包保责任和工作组"))


# --- responsibility chain -----------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_staff(user)
    compounds = list(selectors.compounds_with_chain(user))
    editable = (
        set(scope.editable(Compound.objects.all(), user).values_list("pk", flat=True))
        if services.can_organise(user)
        else set()
    )
    rows = []
    for compound in compounds:
        chain = getattr(compound, "responsibility", None)
        slots = list(compound.cover_slots.all())
        rows.append(
            {
                "compound": compound,
                "chain": chain,
                "filled": bool(chain and chain.filled),
                "slots": slots,
                "gaps": selectors.cover_gaps(slots),
                "lead": services.compound_lead(compound, list(compound.managing_units.all())),
                "editable": compound.pk in editable,
            }
        )
    return render(request, "organisation/index.html", {"rows": rows})


def _chain_initial(compound: Compound) -> dict[str, str]:
    chain = ResponsibilityChain.objects.filter(compound=compound).first()
    return {name: getattr(chain, name) for name in services.CHAIN_FIELDS} if chain else {}


@login_required
def compound_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The chain form, cover slots and former managers of one compound; the POSTed ``action`` says which."""
    user: Any = request.user
    _require_organiser(user)
    compound = scope.get_editable_or_404(Compound.objects.select_related("community", "street"), user, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    chain_form = ChainForm(request.POST if action == "chain" else None, initial=_chain_initial(compound))
    slot_form = CoverSlotForm(request.POST if action == "slot_add" else None, prefix="slot")
    unit_form = ManagingUnitForm(request.POST if action == "unit_add" else None, prefix="unit")
    if action:
        done = _compound_action(request, compound, action, chain_form, slot_form, unit_form)
        if done:
            return redirect("org:compound_edit", pk=compound.pk)
    slots = list(CoverSlot.objects.filter(compound=compound).order_by("starts", "id"))
    context = {
        "compound": compound,
        "chain_form": chain_form,
        "slot_form": slot_form,
        "unit_form": unit_form,
        "slots": slots,
        "gaps": selectors.cover_gaps(slots),
        "units": list(ManagingUnit.objects.filter(compound=compound)),
        "lead": services.compound_lead(compound),
    }
    return render(request, "organisation/compound_edit.html", context, status=400 if action else 200)


def _compound_action(
    request: HttpRequest,
    compound: Compound,
    action: str,
    chain_form: ChainForm,
    slot_form: CoverSlotForm,
    unit_form: ManagingUnitForm,
) -> bool:
    """Carry out one POSTed action; True when done (redirect), False to show the page with errors."""
    user = request.user
    if action == "slot_remove":
        slot = scope.get_editable_or_404(
            CoverSlot.objects.filter(compound=compound), user, pk=posted_pk(request, "slot")
        )
        services.cover_slot_remove(slot=slot, actor=user, request=request)
        messages.success(request, _("已删除包保时段"))
        return True
    if action == "unit_remove":
        unit = scope.get_editable_or_404(
            ManagingUnit.objects.filter(compound=compound), user, pk=posted_pk(request, "unit")
        )
        services.managing_unit_remove(unit=unit, actor=user, request=request)
        messages.success(request, _("已删除原管理单位"))
        return True
    forms_by_action: dict[str, Form] = {"chain": chain_form, "slot_add": slot_form, "unit_add": unit_form}
    form = forms_by_action.get(action)
    if form is None or not form.is_valid():
        return False
    try:
        if action == "chain":
            services.responsibility_chain_save(compound=compound, actor=user, request=request, **form.cleaned_data)
            messages.success(request, _("已保存包保责任"))
        elif action == "slot_add":
            services.cover_slot_add(compound=compound, actor=user, request=request, **form.cleaned_data)
            messages.success(request, _("已添加包保时段"))
        else:
            services.managing_unit_add(compound=compound, actor=user, request=request, **form.cleaned_data)
            messages.success(request, _("已添加原管理单位"))
    except ValidationError as exc:
        apply_errors(form, exc)
        return False
    return True


@login_required
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_staff(user)
    compound = scope.get_visible_or_404(
        Compound.objects.select_related("community", "street", "responsibility"), user, pk=pk
    )
    chain: ResponsibilityChain | None = getattr(compound, "responsibility", None)
    lead = services.compound_lead(compound)
    slots = CoverSlot.objects.filter(compound=compound).order_by("starts", "id")
    kinds = {"cadre": _("干部"), "volunteer": _("志愿者")}
    data = NoticeData(
        compound_name=compound.name,
        address=compound.address,
        community_name=compound.community.name,
        street_name=compound.street.name,
        chain=[
            (_("街道包保领导"), chain.street_leader if chain else "", chain.street_leader_phone if chain else ""),
            (_("社区包保干部"), chain.community_leader if chain else "", chain.community_leader_phone if chain else ""),
            (_("小区责任人"), chain.responsible if chain else "", chain.responsible_phone if chain else ""),
        ],
        lead_label=_("物业公司") if compound.property_company.strip() else _("牵头单位"),
        lead_name=lead.name,
        slots=[
            (f"{slot.starts:%H:%M} - {slot.ends:%H:%M}", slot.name, str(kinds.get(slot.kind, slot.kind)), slot.phone)
            for slot in slots
        ],
        duty_phones=selectors.community_duty_phones(compound.community),
        date=timezone.localdate(),
    )
    response = HttpResponse(render_notice_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{compound.code}.pdf"'
    return response


# --- working groups -------------------------------------------------------------------------------------


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_staff(user)
    rows = list(selectors.groups_visible(user))
    can_organise = services.can_organise(user)
    editable = (
        set(scope.editable(WorkingGroup.objects.all(), user).values_list("pk", flat=True)) if can_organise else set()
    )
    # Communities the account may seed defaults for: those of its scope that have no group yet.
    seedable = (
        list(scope.editable(Community.objects.all(), user).exclude(working_groups__isnull=False))
        if can_organise
        else []
    )
    return render(
        request,
        "organisation/groups.html",
        {"groups": rows, "editable": editable, "can_organise": can_organise, "seedable": seedable},
    )


@login_required
@require_POST
def groups_seed(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_organiser(user)
    community = scope.get_editable_or_404(Community.objects.all(), user, pk=posted_pk(request, "community"))
    created = services.working_groups_seed_defaults(community=community, actor=user)
    messages.success(
        request, _("已为%(community)s生成%(count)d个默认工作组") % {"community": community.name, "count": len(created)}
    )
    return redirect("org:groups")


def _group_communities(user: Any) -> Any:
    """The communities an account may put a new group in; None when its own community is the only choice."""
    if scope.is_unrestricted(user) or scope.user_level(user) == "street":
        return scope.editable(Community.objects.all(), user)
    return None


@login_required
def group_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_organiser(user)
    communities = _group_communities(user)
    form = WorkingGroupForm(request.POST or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        community = data.pop("community", None) if communities is not None else user.community
        street = community.street if community is not None else user.street
        if street is None:  # a superuser must pick a community: there is no street of its own
            form.add_error("community", _("请选择所属社区"))
        else:
            try:
                group = services.working_group_create(
                    street=street, community=community, actor=user, request=request, **data
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已创建工作组，请添加组员"))
                return redirect("org:group_edit", pk=group.pk)
    return render(request, "organisation/group_form.html", {"form": form, "group": None})


@login_required
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_organiser(user)
    group = scope.get_editable_or_404(WorkingGroup.objects.select_related("community", "street"), user, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    initial = {name: getattr(group, name) for name in services.GROUP_FIELDS}
    form = WorkingGroupForm(request.POST if action == "group" else None, initial=initial)
    member_form = GroupMemberForm(request.POST if action == "member_add" else None, prefix="member")
    if action == "member_remove":
        member = scope.get_editable_or_404(
            GroupMember.objects.filter(group=group), user, pk=posted_pk(request, "member")
        )
        services.group_member_remove(member=member, actor=user, request=request)
        messages.success(request, _("已移除组员"))
        return redirect("org:group_edit", pk=group.pk)
    if action == "group" and form.is_valid():
        try:
            services.working_group_update(group=group, actor=user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存工作组"))
            return redirect("org:group_edit", pk=group.pk)
    if action == "member_add" and member_form.is_valid():
        try:
            services.group_member_add(group=group, actor=user, request=request, **member_form.cleaned_data)
        except ValidationError as exc:
            apply_errors(member_form, exc)
        else:
            messages.success(request, _("已添加组员"))
            return redirect("org:group_edit", pk=group.pk)
    members = list(GroupMember.objects.filter(group=group).order_by("-is_leader", "id"))
    context = {"form": form, "member_form": member_form, "group": group, "members": members}
    return render(request, "organisation/group_form.html", context, status=400 if action else 200)


@login_required
def group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_organiser(user)
    group = scope.get_editable_or_404(WorkingGroup.objects.all(), user, pk=pk)
    if request.method == "POST":
        services.working_group_delete(group=group, actor=user, request=request)
        messages.success(request, _("已删除工作组 %(name)s") % {"name": group.name})
        return redirect("org:groups")
    return render(request, "organisation/group_delete.html", {"group": group})
