"""Supplies API: orders (S3; docs/supplies.md, "Ordering").

``POST /orders`` is the rush path: the ``Idempotency-Key`` header is required, and a retry with the
same key and body gets the first answer again (201 the first time, 200 on a replay, the refusal's
own status when the first answer was a refusal; the same key with another body is 422). Residents
order for their own household; grid workers and community staff (``PROXY_ORDER_ROLES``) for any
household they may edit (a proxy order, recorded with who placed it); other roles get 403.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError, HttpError
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel, Field

from linli.lib import hotroutes, scope
from linli.lib.apiauth import DEFERRED_AUTH, PendingToken, bearer_token
from linli.lib.apiutil import ErrorOut, plain_body
from linli.lib.wording import sentences
from linli.registry.models import Household
from linli.supplies import selectors
from linli.supplies.choices import OrderStatus, PaymentMode, Priority
from linli.supplies.models import Offer, Order, OrderLine
from linli.supplies.permissions import VIEW_ROLES, has_role
from linli.supplies.services import ordering, rush

router = Router(tags=["supplies-orders"])

JSON_UTF8 = "application/json; charset=utf-8"
PAGE_SIZE = 50


# The order's body is a plain pydantic model, not a ninja Schema: a Schema validates through a
# wrapper that can read ORM objects, ~40 µs more per order on the rush path.
class OrderLineIn(BaseModel):
    offer: int
    quantity: int = Field(ge=1, le=ordering.MAX_QUANTITY)


class OrderIn(BaseModel):
    window: int
    household: int
    lines: list[OrderLineIn] = Field(max_length=ordering.MAX_LINES)
    payment_mode: Literal["prepaid", "on_delivery", "credit"] | None = None
    note: str = Field(default="", max_length=200)


class OrderLineOut(Schema):
    offer: int
    quantity: int
    price: str
    amount: str


class PlacedOut(Schema):
    id: int
    window: int
    household: int
    status: str
    priority: int
    payment_mode: str
    total: str
    is_proxy: bool
    lines: list[OrderLineOut]


class SupplyLineOut(Schema):
    offer: int
    name: str
    unit: str
    quantity: int
    price: str
    amount: str
    short: int


class SupplyOrderOut(Schema):
    id: int
    window: int
    window_title: str
    delivery_on: datetime.date
    household: int
    address: str
    status: str
    status_label: str
    priority: int
    priority_label: str
    payment_mode: str
    total: str
    is_proxy: bool
    placed_by: str
    note: str
    created_at: datetime.datetime
    cancelled_at: datetime.datetime | None
    lines: list[SupplyLineOut]


class OrderPageOut(Schema):
    count: int
    page: int
    results: list[SupplyOrderOut]


class MenuOfferOut(Schema):
    id: int
    name: str
    category: str
    unit: str
    price: str
    per_household_limit: int | None
    remaining: int = Field(description="本户可订的剩余数量（封控、隔离户含预留部分）")


class MenuWindowOut(Schema):
    id: int
    title: str
    supplier: str
    opens_at: datetime.datetime
    cutoff_at: datetime.datetime
    delivery_on: datetime.date
    live_order: int | None
    offers: list[MenuOfferOut]


class HouseholdWindowsOut(Schema):
    household: int
    priority: int
    priority_label: str
    windows: list[MenuWindowOut]


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=NinjaJSONEncoder, ensure_ascii=False), status=status, content_type=JSON_UTF8
    )


def _order_out(order: Order) -> dict[str, Any]:
    placer = order.placed_by
    return {
        "id": order.pk,
        "window": order.window_id,
        "window_title": str(order.window),
        "delivery_on": order.window.delivery_on,
        "household": order.household_id,
        "address": order.household.address,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "priority": int(order.priority),
        "priority_label": str(Priority(order.priority).label),
        "payment_mode": order.payment_mode,
        "total": str(order.total),
        "is_proxy": order.is_proxy,
        "placed_by": (placer.display_name or placer.username) if placer is not None else "",
        "note": order.note,
        "created_at": order.created_at,
        "cancelled_at": order.cancelled_at,
        "lines": [
            {
                "offer": line.offer_id,
                "name": line.offer.name,
                "unit": line.offer.unit,
                "quantity": line.quantity,
                "price": str(line.price),
                "amount": str(line.amount),
                "short": line.short,
            }
            for line in order.lines.all()
        ],
    }


def _readable_orders(request: HttpRequest) -> Any:
    user: Any = request.user
    if not (getattr(user, "is_resident", False) or has_role(user, VIEW_ROLES)):
        raise HttpError(403, _("您的角色不能查看订单"))
    lines = Prefetch("lines", queryset=OrderLine.objects.select_related("offer").order_by("pk"))
    return selectors.orders_for(user).select_related("household__building", "household__unit").prefetch_related(lines)


def hot_order(request: HttpRequest, params: Mapping[str, Any]) -> HttpResponse | None:
    """The rush path's answer to a resident's order by bearer token (201, or 409 for a household's
    second order), before Django's handler (the hot route of ``linli.wsgi``), else before ninja
    parses the request (its parameter models and auth, ~0.08 ms an order: ``hotroutes.answered_first``);
    None when the statement did not answer or the request is not plain — ninja then runs the
    operation as ever and answers (401, 422, or the general path: ``order_submit`` runs with a bearer
    token only after the statement was tried here, on the body ninja parses the same way)."""
    pending = bearer_token(request)
    if pending is None:
        return None
    payload = plain_body(request, OrderIn)
    if payload is None or payload.payment_mode == PaymentMode.CREDIT:
        return None  # community credit is not the resident's to choose: the general path refuses it
    placed = rush.place(
        key_hash=pending.key_hash, key=request.META.get("HTTP_IDEMPOTENCY_KEY", ""), body=payload.model_dump()
    )
    if placed is None:
        return None
    return HttpResponse(placed[1], status=placed[0], content_type=JSON_UTF8, charset="utf-8")


@router.post(
    "/orders",
    response={201: PlacedOut, 200: PlacedOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="下单（需 Idempotency-Key 请求头）",
    auth=DEFERRED_AUTH,
)
@decorate_view(hotroutes.answered_first(hot_order))
def order_submit(request: HttpRequest, payload: OrderIn) -> HttpResponse:
    """Place an order once per key. Replays answer 200 with the first order (or the first refusal)."""
    auth = getattr(request, "auth", None)  # set by ninja
    key = request.META.get("HTTP_IDEMPOTENCY_KEY", "")
    body = payload.model_dump()
    token_to_touch, facts = None, None
    if isinstance(auth, PendingToken):
        if connection.vendor == "postgresql":
            # The token's check and the order's facts in one statement (the rush path).
            checked = ordering.token_facts(
                auth.key_hash,
                window=payload.window,
                household=payload.household,
                offer_ids=[line.offer for line in payload.lines],
            )
            if checked is None:
                raise AuthenticationError
            request.user, token_to_touch, facts = checked.user, checked.touch, checked.facts
        elif auth.resolve(request) is None:
            raise AuthenticationError
    status, body = ordering.submit_order(
        actor=request.user, key=key, body=body, token_to_touch=token_to_touch, facts=facts
    )
    return _json(status, body)


@router.get("/orders", response=OrderPageOut, summary="订单列表")
def order_list(
    request: HttpRequest, window: int | None = None, status: OrderStatus | None = None, page: int = 1
) -> dict[str, Any]:
    orders = _readable_orders(request)
    if window is not None:
        orders = orders.filter(window_id=window)
    if status is not None:
        orders = orders.filter(status=status)
    orders = orders.order_by("-created_at", "-pk")
    page = max(page, 1)
    count = orders.count()
    rows = orders[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return {"count": count, "page": page, "results": [_order_out(order) for order in rows]}


@router.get("/orders/{order_id}", response=SupplyOrderOut, summary="订单详情")
def order_detail(request: HttpRequest, order_id: int) -> dict[str, Any]:
    order = scope.get_visible_or_404(_readable_orders(request), request.user, pk=order_id)
    return _order_out(order)


@router.post(
    "/orders/{order_id}/cancel", response={200: SupplyOrderOut, 403: ErrorOut, 422: ErrorOut}, summary="取消订单"
)
def order_cancel(request: HttpRequest, order_id: int) -> Any:
    order = scope.get_visible_or_404(_readable_orders(request), request.user, pk=order_id)
    if not ordering.may_order_for(request.user, order.household):
        raise HttpError(403, _("您不能取消该户的订单"))
    try:
        ordering.cancel_order(order, actor=request.user)
    except ValidationError as error:
        return Status(422, {"detail": sentences(error.messages), "code": str(error.code or "invalid"), "errors": {}})
    return _order_out(_readable_orders(request).get(pk=order.pk))


@router.get("/households/{household_id}/windows", response=HouseholdWindowsOut, summary="本户可订购的窗口")
def household_windows(request: HttpRequest, household_id: int) -> dict[str, Any]:
    """The open windows of the household's community, each offer with the units this household can still get."""
    user: Any = request.user
    qs = ordering.households_with_priority(Household.objects.filter(pk=household_id))
    household = scope.get_visible_or_404(qs, user, pk=household_id)
    if not ordering.may_order_for(user, household):
        raise HttpError(403, _("您不能为该户下单"))
    priority = ordering.priority_of(household.sealed, household.isolated)  # type: ignore[attr-defined]
    windows = list(selectors.open_windows(household))
    live = dict(
        Order.objects.filter(window__in=windows, household_id=household.pk, status=OrderStatus.PLACED).values_list(
            "window_id", "pk"
        )
    )
    offers_by_window: dict[int, list[Offer]] = {}
    for offer in Offer.objects.filter(window__in=windows).order_by("category", "name", "pk"):
        offers_by_window.setdefault(offer.window_id, []).append(offer)
    result = []
    for window in windows:
        left = selectors.remaining(window)
        result.append(
            {
                "id": window.pk,
                "title": str(window),
                "supplier": window.supplier.name,
                "opens_at": window.opens_at,
                "cutoff_at": window.cutoff_at,
                "delivery_on": window.delivery_on,
                "live_order": live.get(window.pk),
                "offers": [
                    {
                        "id": offer.pk,
                        "name": offer.name,
                        "category": offer.category,
                        "unit": offer.unit,
                        "price": str(offer.price),
                        "per_household_limit": offer.per_household_limit,
                        "remaining": left.get(offer.pk, (0, 0))[0]
                        + (left.get(offer.pk, (0, 0))[1] if priority != Priority.NORMAL else 0),
                    }
                    for offer in offers_by_window.get(window.pk, [])
                ],
            }
        )
    return {
        "household": household.pk,
        "priority": int(priority),
        "priority_label": str(priority.label),
        "windows": result,
    }
