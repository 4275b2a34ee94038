"""API of the gate: household passes, holds and the resident's own pass (A2; docs/gate.md).

Staff endpoints are for the roles that edit the registry, on households and compounds in their
editable scope (404 otherwise). A service's refusal (``GateError``) answers 400 with the Chinese
message in ``detail``.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from linli.gate import pass_admin, passes, services
from linli.gate.models import HouseholdPass
from linli.lib import scope
from linli.lib.apiutil import ErrorOut, bad_request, tree_staff
from linli.registry.models import Compound, Household, Person

router = Router(tags=["gate"])


def _pass_admin(request: HttpRequest) -> Any:
    user: Any = tree_staff(request, _("只有工作人员可以办理通行证"))
    if not getattr(user, "can_edit_registry", False):
        raise HttpError(403, _("只有社区干部、网格员和街道指挥部可以办理通行证"))
    return user


def _household(request: HttpRequest, household_id: int) -> tuple[Any, Household]:
    user = _pass_admin(request)
    household = scope.get_editable_or_404(Household.objects.select_related("compound"), user, pk=household_id)
    return user, household


class PassMemberOut(Schema):
    id: int
    name: str


class PassOut(Schema):
    id: int
    issue_no: int
    number: str
    number_display: str
    token: str
    valid_from: datetime.date
    valid_until: datetime.date
    is_active: bool
    issued_at: datetime.datetime
    revoked_at: datetime.datetime | None
    revoked_reason: str
    members: list[PassMemberOut]


class HouseholdPassOut(Schema):
    household_id: int
    room: str
    status: Literal["valid", "held", "expired", "pending", "none"]
    hold: str | None
    current: PassOut | None
    history: list[PassOut]


class IssueIn(Schema):
    members: list[int] = Field(
        default_factory=list, max_length=passes.MAX_MEMBERS, description="指定外出人员的 id；不填则为户主"
    )


class RevokeIn(Schema):
    reason: str = Field(default="", max_length=100)


class HoldIn(Schema):
    reason: Literal["sealed", "home_observation", "other"]
    note: str = Field(default="", max_length=200)


class ReleaseIn(Schema):
    reason: Literal["sealed", "home_observation", "other"] | None = None


class ReleasedOut(Schema):
    released: int
    hold: str | None


class BulkOut(Schema):
    issued: int
    renewed: int
    already: int
    held: int
    no_members: int


class CompoundRowOut(Schema):
    household_id: int
    room: str
    status: str
    number: str
    valid_until: datetime.date | None
    hold: str | None


class TicketOut(Schema):
    number: str
    token: str
    period_start: datetime.date
    period_end: datetime.date
    collected_at: datetime.datetime | None


class MyPassOut(Schema):
    household_id: int
    compound: str
    room: str
    status: str
    hold: str | None
    hold_explanation: str
    number: str
    token: str
    valid_from: datetime.date | None
    valid_until: datetime.date | None
    members: list[str]
    ticket_mode: bool
    ticket: TicketOut | None


def _pass_out(item: HouseholdPass) -> dict[str, Any]:
    return {
        "id": item.pk,
        "issue_no": item.issue_no,
        "number": item.number,
        "number_display": passes.format_number(item.number),
        "token": item.token,
        "valid_from": item.valid_from,
        "valid_until": item.valid_until,
        "is_active": item.is_active,
        "issued_at": item.issued_at,
        "revoked_at": item.revoked_at,
        "revoked_reason": item.revoked_reason,
        "members": [{"id": person.pk, "name": person.name} for person in item.members.all()],
    }


def _household_out(household: Household) -> dict[str, Any]:
    history = list(
        HouseholdPass.objects.filter(household=household).prefetch_related("members").order_by("-issue_no")[:20]
    )
    current = next((item for item in history if item.is_active), None)
    hold = services.active_hold(household.pk)
    return {
        "household_id": household.pk,
        "room": household.address,
        "status": pass_admin.pass_status(current, hold, timezone.localdate()),
        "hold": hold,
        "current": _pass_out(current) if current else None,
        "history": [_pass_out(item) for item in history],
    }


@router.get("/households/{household_id}/pass", response=HouseholdPassOut, summary="户通行证：当前、状态与发证记录")
def household_pass(request: HttpRequest, household_id: int) -> dict[str, Any]:
    _user, household = _household(request, household_id)
    return _household_out(household)


@router.post(
    "/households/{household_id}/pass",
    response={200: HouseholdPassOut, 400: ErrorOut},
    summary="发放或重新发放户通行证（原证作废）",
)
def household_pass_issue(request: HttpRequest, household_id: int, data: IssueIn) -> Any:
    user, household = _household(request, household_id)
    members = list(Person.objects.filter(household=household).order_by("pk"))
    if data.members:
        by_id = {person.pk: person for person in members}
        unknown = [pk for pk in data.members if pk not in by_id]
        if unknown:
            return bad_request({"members": [_("指定外出人员必须是本户成员")]})
        chosen = [by_id[pk] for pk in dict.fromkeys(data.members)]
    else:
        default = pass_admin.householder_choice(members)
        if default is None:
            return bad_request({"members": [_("本户还没有登记人员，请先添加人员")]})
        chosen = [default]
    try:
        services.pass_issue(household=household, members=chosen, actor=user)
    except services.GateError as exc:
        return bad_request({"members": [str(exc)]})
    return _household_out(household)


@router.post(
    "/households/{household_id}/pass/revoke", response={200: HouseholdPassOut, 400: ErrorOut}, summary="作废户通行证"
)
def household_pass_revoke(request: HttpRequest, household_id: int, data: RevokeIn) -> Any:
    user, household = _household(request, household_id)
    current = HouseholdPass.objects.filter(household=household, is_active=True).first()
    if current is None:
        return bad_request({"pass": [_("本户没有有效的通行证，无需作废")]})
    services.pass_revoke(household_pass=current, actor=user, reason=data.reason.strip())
    return _household_out(household)


@router.post(
    "/households/{household_id}/holds",
    response={200: HouseholdPassOut, 400: ErrorOut},
    summary="暂停本户通行（封控、居家观察、其他）",
)
def household_hold_set(request: HttpRequest, household_id: int, data: HoldIn) -> Any:
    user, household = _household(request, household_id)
    try:
        services.hold_set(household=household, reason=data.reason, note=data.note.strip(), source="gate", actor=user)
    except services.GateError as exc:
        return bad_request({"reason": [str(exc)]})
    return _household_out(household)


@router.post("/households/{household_id}/holds/release", response=ReleasedOut, summary="解除本户的暂停（一项或全部）")
def household_hold_release(request: HttpRequest, household_id: int, data: ReleaseIn) -> dict[str, Any]:
    user, household = _household(request, household_id)
    released = services.hold_release(household=household, reason=data.reason, actor=user)
    return {"released": released, "hold": services.active_hold(household.pk)}


@router.get("/compounds/{compound_id}/passes", response=list[CompoundRowOut], summary="小区各户通行证状态")
def compound_passes(request: HttpRequest, compound_id: int) -> list[dict[str, Any]]:
    user = _pass_admin(request)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=compound_id)
    return [
        {
            "household_id": row.household_id,
            "room": row.address,
            "status": row.status,
            "number": row.number,
            "valid_until": row.valid_until,
            "hold": row.hold,
        }
        for row in pass_admin.compound_rows(compound)
    ]


@router.post(
    "/compounds/{compound_id}/passes/issue-missing",
    response=BulkOut,
    summary="为小区内没有有效通行证的户批量发证（指定户主）",
)
def compound_passes_issue_missing(request: HttpRequest, compound_id: int) -> dict[str, Any]:
    user = _pass_admin(request)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=compound_id)
    outcome = pass_admin.passes_issue_missing(compound, user)
    return {
        "issued": outcome.issued,
        "renewed": outcome.renewed,
        "already": outcome.already,
        "held": outcome.held,
        "no_members": outcome.no_members,
    }


@router.get("/my-pass", response={200: MyPassOut, 403: ErrorOut}, summary="居民：本户通行证（及本期出入券）")
def my_pass(request: HttpRequest) -> Any:
    from linli.gate.views_passes import resident_pass_context

    user: Any = request.user
    if not getattr(user, "is_resident", False) or not user.household_id:
        return Status(403, {"detail": _("只有已关联住户的居民账号可以查看本户通行证")})
    household = scope.get_visible_or_404(
        Household.objects.select_related("compound", "building", "unit"), user, pk=user.household_id
    )
    context = resident_pass_context(household)
    current = context["current"]
    showable = bool(context["qr"])
    ticket = context["ticket"]
    return {
        "household_id": household.pk,
        "compound": household.compound.name,
        "room": household.address,
        "status": context["status"],
        "hold": context["hold"],
        "hold_explanation": str(context["hold_explanation"]),
        "number": current.number if showable else "",
        "token": current.token if showable else "",
        "valid_from": current.valid_from if current else None,
        "valid_until": current.valid_until if current else None,
        "members": context["members"],
        "ticket_mode": context["ticket_mode"],
        "ticket": {
            "number": ticket.number,
            "token": ticket.token if ticket.collected_at is None else "",
            "period_start": context["ticket_start"],
            "period_end": context["ticket_end"],
            "collected_at": ticket.collected_at,
        }
        if ticket
        else None,
    }
