"""Organisation API: a compound's responsibility chain (get, put) and the working groups. Staff only, scoped."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.lib import scope
from linli.lib.apiutil import ErrorOut, bad_request, tree_staff
from linli.organisation import selectors, services
from linli.registry.models import Compound

router = Router(tags=["organisation"])


class SlotOut(Schema):
    id: int
    name: str
    kind: str
    phone: str
    starts: datetime.time
    ends: datetime.time


class ChainIn(Schema):
    street_leader: str = Field("", max_length=50)
    street_leader_phone: str = ""
    community_leader: str = Field("", max_length=50)
    community_leader_phone: str = ""
    responsible: str = Field("", max_length=50)
    responsible_phone: str = ""


class ChainOut(ChainIn):
    compound_id: int
    compound: str
    filled: bool
    lead_unit: str
    lead_unit_basis: str
    cover_slots: list[SlotOut]
    cover_gaps: list[list[datetime.time]]


class MemberOut(Schema):
    name: str
    title: str
    phone: str
    is_leader: bool


class GroupOut(Schema):
    id: int
    street_id: int
    community_id: int | None
    kind: str
    kind_label: str
    name: str
    duties: str
    duty_phone: str
    members: list[MemberOut]


def _staff(request: HttpRequest) -> Any:
    return tree_staff(request, _("无权访问组织与包保数据"))


def _chain_out(compound: Compound) -> dict[str, Any]:
    chain = getattr(compound, "responsibility", None)
    slots = list(compound.cover_slots.order_by("starts", "id"))
    lead = services.compound_lead(compound)
    data: dict[str, Any] = {name: getattr(chain, name) if chain else "" for name in services.CHAIN_FIELDS}
    data.update(
        compound_id=compound.pk,
        compound=compound.name,
        filled=bool(chain and chain.filled),
        lead_unit=lead.name,
        lead_unit_basis=lead.basis,
        cover_slots=slots,
        cover_gaps=[list(gap) for gap in selectors.cover_gaps(slots)],
    )
    return data


def _not_found() -> HttpError:
    return HttpError(404, _("未找到该小区，或不在您的负责范围内"))


@router.get("/compounds/{compound_id}/chain", response=ChainOut, summary="小区包保责任体系")
def chain_get(request: HttpRequest, compound_id: int) -> Any:
    user = _staff(request)
    try:
        compound = scope.get_visible_or_404(Compound.objects.select_related("community"), user, pk=compound_id)
    except Http404 as exc:
        raise _not_found() from exc
    return _chain_out(compound)


@router.put("/compounds/{compound_id}/chain", response={200: ChainOut, 400: ErrorOut}, summary="修改小区包保责任体系")
def chain_put(request: HttpRequest, compound_id: int, payload: ChainIn) -> Any:
    user = _staff(request)
    if not services.can_organise(user):
        raise HttpError(403, _("只有社区干部和街道指挥部可以修改包保责任"))
    try:
        compound = scope.get_editable_or_404(Compound.objects.select_related("community"), user, pk=compound_id)
    except Http404 as exc:
        raise _not_found() from exc
    try:
        services.responsibility_chain_save(compound=compound, actor=user, request=request, **payload.dict())
    except ValidationError as exc:
        return bad_request(exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages})
    compound = Compound.objects.select_related("community", "responsibility").get(pk=compound.pk)
    return Status(200, _chain_out(compound))


@router.get("/groups", response=list[GroupOut], summary="领导小组与工作组")
def group_list(request: HttpRequest) -> Any:
    user = _staff(request)
    return [
        {
            "id": group.pk,
            "street_id": group.street_id,
            "community_id": group.community_id,
            "kind": group.kind,
            "kind_label": str(group.get_kind_display()),
            "name": group.name,
            "duties": group.duties,
            "duty_phone": group.duty_phone,
            "members": list(group.members.all()),
        }
        for group in selectors.groups_visible(user)
    ]
