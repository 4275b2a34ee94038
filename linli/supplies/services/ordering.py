"""Ordering (SPEC S3, S4 priority): a household's order in a window, placed so a rush cannot oversell.

Stock lives in :class:`~linli.supplies.models.OfferBucket` rows and is only ever taken with a
conditional UPDATE (``remaining >= n``) in the same transaction as the order's rows, so stock cannot
go negative (the CHECK constraint is the last line of defence) and an acknowledged order is never
lost; a shortfall rolls the whole order back. Correctness never rests on ``select_for_update``
(SQLite ignores it): it only orders the locks of the rare multi-bucket take.

An offer's units are split over ``buckets`` rows: a line takes its units from one random bucket
that is not locked by another order (PostgreSQL ``SKIP LOCKED``), so concurrent orders of a hot item
spread over several rows instead of queueing on one. When no single free bucket holds the line, it
takes from several: it locks the buckets with stock in ascending id order (so concurrent takers
cannot deadlock), then takes with conditional UPDATEs. Sealed and isolated households (S4,
H7) take from the reserved buckets first, then the general ones; other households only from general.

:func:`submit_order` is the idempotent wrapper the API and pages call: every submission carries a
key; the first answer for (account, key) is stored in the order's own transaction (a refusal in its
own), and a retry with the same body gets it again. Same key with a different body is refused. A
refusal is stored with its reason and values (``ORDER_TEXTS``) and worded when answered: a retry made
after the page was switched to another language gets it in that language.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.models import ApiToken
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health.choices import HOME_PLACES
from linli.health.choices import OrderStatus as QuarantineStatus
from linli.health.models import QuarantineOrder, SealedHousehold
from linli.lib import prepared, scope
from linli.lib.wording import sentences, worded
from linli.registry.models import Household
from linli.supplies.choices import OrderStatus, PaymentMode, Priority
from linli.supplies.models import IdempotencyKey, Offer, OfferBucket, Order, OrderLine, OrderWindow, household_kwargs
from linli.supplies.permissions import PROXY_ORDER_ROLES, has_role

MAX_LINES = 50
MAX_QUANTITY = 999
KEY_MAX_LENGTH = 100
# HTTP status of each refusal code (the API answers with these; pages show the message).
# The refusal of a second live order of a household in a window (also said by services/rush.py).
DUPLICATE_MESSAGE = gettext_lazy("本户在该窗口已有订单；如需修改，请先取消原订单")
REFUSAL_STATUS = {"sold_out": 409, "duplicate": 409, "closed": 422, "limit": 422, "empty": 422, "invalid": 422}

# What an order refusal says, by its reason: worded in the caller's language when answered, so a
# refusal replayed for its key (a retry, a reload) is in the language of the one asking now, not of
# the first. Stored as ``reason`` (and ``params``, its values) beside the text in the key's row.
ORDER_TEXTS = {
    "empty": gettext_lazy("订单里没有商品"),
    "too_many_lines": gettext_lazy("一次最多订购 %(n)d 种商品"),
    "repeated_offer": gettext_lazy("同一商品只能填写一行"),
    "quantity": gettext_lazy("数量必须在 1 到 %(n)d 之间"),
    "malformed": gettext_lazy("订单内容不完整或格式有误"),
    "not_in_window": gettext_lazy("商品不在该窗口中，请刷新后重试"),
    "other_community": gettext_lazy("该窗口不服务本户所在社区"),
    "not_open_yet": gettext_lazy("该窗口尚未开放下单"),
    "closed": gettext_lazy("该窗口已截单或未开放"),
    "payment_mode": gettext_lazy("付款方式无效"),
    "credit_by_staff": gettext_lazy("社区记账须由社区工作人员代为下单，请选择货到付款或网格员代收"),
    "limit": gettext_lazy("「%(name)s」每户限购 %(limit)d%(unit)s"),
    "sold_out": gettext_lazy("「%(name)s」已售罄或库存不足"),
    "duplicate": DUPLICATE_MESSAGE,
}


def order_text(reason: str, params: dict[str, Any] | None = None, fallback: str = "") -> str:
    """The text of the refusal ``reason`` with ``params`` in the active language (``fallback`` for a
    reason not known, or values that do not fit it)."""
    return worded(ORDER_TEXTS, reason, params, fallback)


def refuse(message: str, code: str, **params: Any) -> ValidationError:
    error = ValidationError(message, code=code)
    error.refusal = {"code": code, **params}  # type: ignore[attr-defined]
    return error


def refuse_for(reason: str, code: str, values: dict[str, Any] | None = None, **params: Any) -> ValidationError:
    """:func:`refuse` worded from ``ORDER_TEXTS[reason]`` with ``values``, which it keeps (a stored
    refusal is worded again from them when replayed)."""
    error = refuse(order_text(reason, values), code, **params)
    error.wording = {"reason": reason, **({"params": values} if values else {})}  # type: ignore[attr-defined]
    return error


# ----------------------------------------------------------------------------------------------
# Priority (S4)


def _sealed(household_ref: Any) -> Exists:
    return Exists(SealedHousehold.objects.filter(household_id=household_ref, active=True))


def _isolated(household_ref: Any) -> Exists:
    return Exists(
        QuarantineOrder.objects.filter(
            household_id=household_ref, status=QuarantineStatus.ACTIVE, place__in=sorted(HOME_PLACES)
        )
    )


def priority_of(sealed: bool, isolated: bool) -> Priority:
    if sealed:
        return Priority.SEALED
    if isolated:
        return Priority.ISOLATED
    return Priority.NORMAL


def household_priority(household: Household) -> Priority:
    """SEALED inside an active seal (H7), ISOLATED with a member in active home quarantine, else NORMAL."""
    row = (
        Household.objects.filter(pk=household.pk)
        .annotate(sealed=_sealed(OuterRef("pk")), isolated=_isolated(OuterRef("pk")))
        .values_list("sealed", "isolated")
        .first()
    )
    return priority_of(*row) if row else Priority.NORMAL


def raise_priorities(orders: Any) -> None:
    """Raise each of ``orders`` (a queryset) to its household's priority now if that is higher: sealed
    since it ordered → SEALED, put in home quarantine since → ISOLATED. Never lowered (a bag still
    taken to the door after a seal ends harms no one). Two UPDATEs touching only the orders raised."""
    sealed, isolated = _sealed(OuterRef("household_id")), _isolated(OuterRef("household_id"))
    orders.filter(sealed).exclude(priority=Priority.SEALED).update(priority=Priority.SEALED)
    orders.filter(isolated, priority=Priority.NORMAL).update(priority=Priority.ISOLATED)


def households_with_priority(qs: Any) -> Any:
    """``qs`` of households annotated with ``sealed`` and ``isolated`` (one query for both)."""
    return qs.annotate(sealed=_sealed(OuterRef("pk")), isolated=_isolated(OuterRef("pk")))


# ----------------------------------------------------------------------------------------------
# Who may order for whom (S3)


def is_member(actor: Any, household: Household) -> bool:
    return bool(getattr(actor, "household_id", None) == household.pk and getattr(actor, "is_resident", False))


def may_order_for(actor: Any, household: Household) -> bool:
    """A resident orders for their own household; proxy roles for any household they may edit."""
    if is_member(actor, household):
        return True
    if not has_role(actor, PROXY_ORDER_ROLES):
        return False
    return scope.editable(Household.objects.filter(pk=household.pk), actor).exists()


# ----------------------------------------------------------------------------------------------
# Stock


def _take_whole(offer: Offer, reserved: bool, n: int) -> bool:
    """Take ``n`` units from one bucket of the pool; True when taken.

    On PostgreSQL with several buckets, one statement takes them from a random bucket that holds
    ``n`` and that no other transaction has locked (``SKIP LOCKED``): the order never waits behind
    another, and never keeps a lock on a bucket it did not take from (a plain UPDATE that waits and
    then finds too little keeps the row locked until commit, and trying the next bucket while holding
    it lets two orders deadlock). With one bucket, or on SQLite (one writer at a time), a conditional
    UPDATE per bucket, starting at a random one.
    """
    count = offer.buckets
    if count > 1 and connection.features.has_select_for_update_skip_locked:
        table = connection.ops.quote_name(OfferBucket._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET remaining = remaining - %s WHERE id = ("
                f"SELECT id FROM {table} WHERE offer_id = %s AND reserved = %s AND remaining >= %s "
                "ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)",
                [n, offer.pk, reserved, n],
            )
            return cursor.rowcount == 1
    table = connection.ops.quote_name(OfferBucket._meta.db_table)
    start = random.randrange(count) if count > 1 else 0
    with connection.cursor() as cursor:
        for step in range(count):
            # filter(offer, reserved, n, remaining__gte=n).update(remaining=F("remaining") - n), as SQL:
            # the ORM's compiling costs more than the statement on this path.
            cursor.execute(
                f"UPDATE {table} SET remaining = remaining - %s "
                "WHERE offer_id = %s AND reserved = %s AND n = %s AND remaining >= %s",
                [n, offer.pk, reserved, (start + step) % count, n],
            )
            if cursor.rowcount == 1:
                return True
    return False


def _take_spread(offer: Offer, pools: tuple[bool, ...], need: int) -> tuple[int, int]:
    """Take up to ``need`` units over several buckets (``pools`` in order of preference).

    Returns (units taken, of which from reserved). The buckets with stock are locked first, in
    ascending id order (so two orders spreading over the same buckets cannot deadlock; SQLite,
    which ignores the lock, has one writer at a time anyway); every take is still a conditional
    UPDATE, and when one finds less than it saw the buckets are read again.
    """
    taken = from_reserved = 0
    for _attempt in range(5):
        rows = list(
            OfferBucket.objects.select_for_update()
            .filter(offer_id=offer.pk, reserved__in=pools, remaining__gt=0)
            .order_by("pk")
            .values_list("pk", "reserved", "remaining")
        )
        if not rows:
            break
        short = False
        for pk, reserved, remaining in sorted(rows, key=lambda row: (pools.index(row[1]), row[0])):
            k = min(remaining, need - taken)
            if k <= 0:
                break
            if OfferBucket.objects.filter(pk=pk, remaining__gte=k).update(remaining=F("remaining") - k):
                taken += k
                from_reserved += k if reserved else 0
            else:
                short = True
        if taken >= need or not short:
            break
    return taken, from_reserved


def _take(offer: Offer, quantity: int, *, priority: Priority) -> int | None:
    """Take ``quantity`` units of ``offer``; the units that came from reserved buckets, or None when
    the stock is short (the caller rolls the whole order back)."""
    pools: tuple[bool, ...] = (True, False) if priority != Priority.NORMAL and offer.reserved else (False,)
    if _take_whole(offer, pools[0], quantity):
        return quantity if pools[0] else 0
    taken, from_reserved = _take_spread(offer, pools, quantity)
    if taken < quantity:
        return None
    return from_reserved


def _give_back(offer_id: int, reserved: bool, n: int) -> None:
    """Return ``n`` units to a bucket of the pool (an increase needs no condition)."""
    bucket = OfferBucket.objects.filter(offer_id=offer_id, reserved=reserved).order_by("?").values_list("pk")[:1]
    OfferBucket.objects.filter(pk__in=bucket).update(remaining=F("remaining") + n)


# ----------------------------------------------------------------------------------------------
# Placing an order


def _clean_lines(lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not lines:
        raise refuse_for("empty", "empty")
    if len(lines) > MAX_LINES:
        raise refuse_for("too_many_lines", "invalid", {"n": MAX_LINES})
    seen: set[int] = set()
    for offer_id, quantity in lines:
        if offer_id in seen:
            raise refuse_for("repeated_offer", "invalid")
        seen.add(offer_id)
        if not 1 <= quantity <= MAX_QUANTITY:
            raise refuse_for("quantity", "invalid", {"n": MAX_QUANTITY})
    # Ascending offer ids: concurrent orders lock bucket rows in one order (no deadlock).
    return sorted(lines)


@dataclass(frozen=True)
class Remember:
    """The idempotency row to write with the order: (account, key, hash of the request body), and
    the API token whose ``last_used_at`` is due (:data:`linli.lib.apiauth.LAST_USED_RESOLUTION`),
    written in the same transaction rather than in a commit of its own."""

    user_id: int
    key: str
    request_hash: str
    touch_token: int | None = None


def touch_token(token_id: int | None, now: datetime.datetime | None = None) -> None:
    """Mark the API token ``token_id`` used now (nothing when None)."""
    if token_id is not None:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now or timezone.now())


def place_order(
    *,
    window: OrderWindow | int,
    household: Household,
    lines: list[tuple[int, int]],
    actor: Any,
    payment_mode: str | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
    priority: Priority | None = None,
    remember: Remember | None = None,
) -> Order:
    """Place ``household``'s order in ``window`` (S3), taking stock atomically.

    ``lines`` are (offer id, quantity). Raises ``ValidationError`` with ``code`` in closed, sold_out,
    limit, duplicate, empty, invalid. ``window`` may be an id: the window comes with the offers in
    one query anyway. ``priority`` (when the caller has it) saves a query. ``remember``: the
    idempotency row written in the order's transaction, answering with :func:`order_answer`.
    """
    lines = _clean_lines(lines)
    window_id = window.pk if isinstance(window, OrderWindow) else window
    offers = {
        offer.pk: offer
        for offer in Offer.objects.select_related("window").filter(
            window_id=window_id, pk__in=[offer_id for offer_id, _q in lines]
        )
    }
    return _place(
        offers=offers,
        household=household,
        lines=lines,
        actor=actor,
        payment_mode=payment_mode,
        note=note,
        now=now,
        priority=priority,
        remember=remember,
    )


def _place(
    *,
    offers: dict[int, Offer],
    household: Household,
    lines: list[tuple[int, int]],
    actor: Any,
    payment_mode: str | None,
    note: str,
    now: datetime.datetime | None,
    priority: Priority | None,
    remember: Remember | None,
) -> Order:
    """:func:`place_order` once the offers (each with its ``window``) are loaded; ``lines`` cleaned."""
    now = now or timezone.now()
    if len(offers) != len(lines):
        raise refuse_for("not_in_window", "invalid")
    window = next(iter(offers.values())).window
    if window.community_id != household.community_id:
        raise refuse_for("other_community", "invalid")
    if not window.is_open_at(now):
        if now < window.opens_at and window.status == "published":
            raise refuse_for("not_open_yet", "closed")
        raise refuse_for("closed", "closed")
    mode = payment_mode or PaymentMode.ON_DELIVERY
    if mode not in PaymentMode.values:
        raise refuse_for("payment_mode", "invalid")
    if mode == PaymentMode.CREDIT and is_member(actor, household):
        # The community pays for these (S7: the elderly, hardship households): staff choose it.
        raise refuse_for("credit_by_staff", "invalid")
    for offer_id, quantity in lines:
        offer = offers[offer_id]
        if offer.per_household_limit is not None and quantity > offer.per_household_limit:
            raise refuse_for(
                "limit",
                "limit",
                {"name": offer.name, "limit": offer.per_household_limit, "unit": offer.unit},
                offer=offer_id,
            )
    if priority is None:
        priority = household_priority(household)
    proxy = not is_member(actor, household)
    rows = [
        OrderLine(
            offer_id=offer_id, quantity=quantity, price=offers[offer_id].price, amount=offers[offer_id].price * quantity
        )
        for offer_id, quantity in lines
    ]
    placer = actor if getattr(actor, "is_authenticated", False) else None
    order = Order(
        window_id=window.pk,
        supplier_id=window.supplier_id,
        status=OrderStatus.PLACED,
        priority=priority,
        payment_mode=mode,
        total=sum((row.amount for row in rows), Decimal("0")),
        placed_by=placer,
        is_proxy=proxy,
        note=note[:200],
        **household_kwargs(household),
    )
    normal = priority == Priority.NORMAL
    pg = connection.vendor == "postgresql"
    try:
        if (
            normal
            and pg
            and not proxy
            and connection.get_autocommit()
            and all(offers[row.offer_id].buckets > 1 for row in rows)
            and _insert_pg(order, rows, remember)
        ):
            # The whole order in one statement, its own commit: no BEGIN and COMMIT round trips.
            for row in rows:
                row.from_reserved = 0
            order.window = window
            order.lines_cache = rows  # type: ignore[attr-defined]
            return order
        with transaction.atomic():
            # The stock first, then the order: a transaction holding this household's new order (its
            # entry in the one-live-order index) never waits for a bucket, so it cannot close a
            # circle with a one-statement order (here, or services/rush.py) that holds a bucket and
            # waits on that entry.
            for row in rows:
                offer = offers[row.offer_id]
                from_reserved = _take(offer, row.quantity, priority=priority)
                if from_reserved is None:
                    if _live_order_exists(window.pk, household.pk):
                        raise refuse_for("duplicate", "duplicate")
                    raise refuse_for("sold_out", "sold_out", {"name": offer.name}, offer=offer.pk)
                row.from_reserved = from_reserved
            order.save(force_insert=True)
            for row in rows:
                row.order = order
            OrderLine.objects.bulk_create(rows)
            _remember(order, rows, remember)
            order.window = window
            if proxy:
                audit_record(
                    actor=actor,
                    action=AuditAction.CREATE,
                    obj=order,
                    changes={"household": household.pk, "total": str(order.total), "is_proxy": True},
                    street_id=household.street_id,
                    community_id=household.community_id,
                )
    except IntegrityError as exc:
        if "order_one_live_per_household" in str(exc) or _live_order_exists(window.pk, household.pk):
            raise refuse_for("duplicate", "duplicate") from exc
        raise
    order.lines_cache = rows  # type: ignore[attr-defined]
    return order


def _remember(order: Order, rows: list[OrderLine], remember: Remember | None) -> None:
    if remember is not None:
        touch_token(remember.touch_token, order.created_at)
        IdempotencyKey.objects.create(
            user_id=remember.user_id,
            key=remember.key,
            request_hash=remember.request_hash,
            status_code=201,
            response=order_answer(order, rows),
        )


ORDER_COLUMNS = (
    "street_id", "community_id", "grid_id", "compound_id", "building_id", "unit_id", "household_id",
    "window_id", "supplier_id", "status", "priority", "payment_mode", "total", "placed_by_id", "is_proxy",
    "note", "created_at",
)  # fmt: skip


@functools.cache
def _insert_sql(lines: int, remember: bool, touch: bool) -> str:
    """The statement of :func:`_insert_pg` for its shape (made once per shape)."""
    quote = connection.ops.quote_name
    order_table, line_table = quote(Order._meta.db_table), quote(OrderLine._meta.db_table)
    key_table, bucket_table = quote(IdempotencyKey._meta.db_table), quote(OfferBucket._meta.db_table)
    columns = ", ".join(ORDER_COLUMNS)
    placeholders = ", ".join(["%s"] * len(ORDER_COLUMNS))
    # Every line's free bucket (a random general bucket holding its units that no other order has
    # locked) is locked first (c); they are all taken (b) only when every line found one, and the
    # order is written (o) only when they were.
    values = ", ".join(["(%s::integer, %s::integer)"] * lines)
    parts = [
        f"c AS (SELECT v.quantity, (SELECT id FROM {bucket_table} WHERE offer_id = v.offer_id AND NOT reserved "
        "AND remaining >= v.quantity ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED) "
        f"AS bucket_id FROM (VALUES {values}) AS v (offer_id, quantity))",
        f"b AS (UPDATE {bucket_table} SET remaining = remaining - c.quantity FROM c "
        f"WHERE {bucket_table}.id = c.bucket_id AND NOT EXISTS (SELECT 1 FROM c WHERE c.bucket_id IS NULL) "
        "RETURNING 1)",
        f"o AS (INSERT INTO {order_table} ({columns}) SELECT {placeholders} "
        "WHERE (SELECT count(*) FROM b) = %s RETURNING id)",
    ]
    values = ", ".join(["(%s::integer, %s::integer, %s::numeric, %s::numeric)"] * lines)
    parts.append(
        f"l AS (INSERT INTO {line_table} (order_id, offer_id, quantity, from_reserved, price, amount, short) "
        f"SELECT o.id, v.offer_id, v.quantity, 0, v.price, v.amount, 0 FROM o, (VALUES {values}) "
        "AS v (offer_id, quantity, price, amount))"
    )
    if remember:
        parts.append(
            f"k AS (INSERT INTO {key_table} (user_id, key, request_hash, status_code, response, created_at) "
            "SELECT %s, %s, %s, 201, jsonb_set(%s::jsonb, '{id}', to_jsonb(o.id)), %s FROM o)"
        )
        if touch:
            token_table = quote(ApiToken._meta.db_table)
            parts.append(f"t AS (UPDATE {token_table} SET last_used_at = %s WHERE id = %s AND EXISTS (SELECT FROM o))")
    return f"WITH {', '.join(parts)} SELECT id FROM o"


def _insert_pg(order: Order, rows: list[OrderLine], remember: Remember | None) -> bool:
    """All or nothing, in one statement (so it can run outside a transaction, as its own commit):
    take each line's units from one random free bucket of its offer (as :func:`_take_whole`), and
    insert the order, its lines (nothing from reserved buckets) and the idempotency row, and touch
    the API token (``remember.touch_token``). False when a line finds no free bucket holding its
    units: nothing was taken or written. Sets ``order.pk`` and each line's ``order_id``. A unique
    violation (a live order of the household, or the key answered already) raises
    ``IntegrityError`` as the ORM's would.
    """
    order.created_at = timezone.now()
    touch = remember.touch_token if remember is not None else None
    sql = _insert_sql(len(rows), remember is not None, touch is not None)
    params: list[Any] = []
    for row in rows:
        params += [row.offer_id, row.quantity]
    params += [getattr(order, column) for column in ORDER_COLUMNS] + [len(rows)]
    for row in rows:
        params += [row.offer_id, row.quantity, row.price, row.amount]
    if remember is not None:
        template = json.dumps(order_answer(order, rows), cls=DjangoJSONEncoder)
        params += [remember.user_id, remember.key, remember.request_hash, template, order.created_at]
        if touch is not None:
            params += [order.created_at, touch]
    found = next(iter(prepared.fetch(sql, params)), None)
    if found is None:
        return False
    order.pk = found[0]
    order._state.adding = False
    order._state.db = connection.alias
    for row in rows:
        row.order_id = order.pk
    return True


def _live_order_exists(window_id: int, household_id: int) -> bool:
    return Order.objects.filter(window_id=window_id, household_id=household_id, status=OrderStatus.PLACED).exists()


def cancel_order(order: Order, *, actor: Any, now: datetime.datetime | None = None) -> Order:
    """Cancel a live order before its window's cut-off; its units go back to the buckets they came from."""
    now = now or timezone.now()
    window = order.window
    if not window.is_open_at(now):
        raise refuse(_("已截单，不能再取消订单"), "closed")
    with transaction.atomic():
        cancelled = Order.objects.filter(pk=order.pk, status=OrderStatus.PLACED).update(
            status=OrderStatus.CANCELLED, cancelled_at=now, cancelled_by=actor if actor.is_authenticated else None
        )
        if not cancelled:
            raise refuse(_("该订单已取消"), "invalid")
        for offer_id, quantity, from_reserved in OrderLine.objects.filter(order_id=order.pk).values_list(
            "offer_id", "quantity", "from_reserved"
        ):
            if from_reserved:
                _give_back(offer_id, True, from_reserved)
            if quantity - from_reserved:
                _give_back(offer_id, False, quantity - from_reserved)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=order,
            changes={"status": [OrderStatus.PLACED.value, OrderStatus.CANCELLED.value]},
            street_id=order.street_id,
            community_id=order.community_id,
        )
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.cancelled_by = actor if actor.is_authenticated else None
    return order


# ----------------------------------------------------------------------------------------------
# Idempotent submission


def request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_answer(order: Order, lines: list[OrderLine]) -> dict[str, Any]:
    """The JSON an accepted order is answered with (and replayed from the idempotency row)."""
    return {
        "id": order.pk,
        "window": order.window_id,
        "household": order.household_id,
        "status": order.status,
        "priority": int(order.priority),
        "payment_mode": order.payment_mode,
        "total": str(order.total),
        "is_proxy": order.is_proxy,
        "lines": [
            {"offer": row.offer_id, "quantity": row.quantity, "price": str(row.price), "amount": str(row.amount)}
            for row in lines
        ],
    }


@dataclass(frozen=True)
class OrderBody:
    window: int
    household: int
    lines: list[tuple[int, int]]
    payment_mode: str | None
    note: str


def parse_body(body: dict[str, Any]) -> OrderBody:
    try:
        return OrderBody(
            window=int(body["window"]),
            household=int(body["household"]),
            lines=[(int(line["offer"]), int(line["quantity"])) for line in body.get("lines") or []],
            payment_mode=body.get("payment_mode") or None,
            note=str(body.get("note") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise refuse_for("malformed", "invalid") from exc


def _stored(actor: Any, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
    row = IdempotencyKey.objects.filter(user_id=actor.pk, key=key).values_list(
        "request_hash", "status_code", "response"
    )
    found = row.first()
    if found is None:
        return None
    stored_hash, status, response = found
    if stored_hash != digest:
        return 422, {
            "detail": _("该幂等键已用于另一份不同的订单，请为新订单生成新的幂等键"),
            "code": "key_reused",
            "errors": {},
        }
    if status == 201:
        return 200, response
    return status, _refusal_replayed(response)


def _refusal_replayed(response: dict[str, Any]) -> dict[str, Any]:
    """A stored refusal as answered now: worded from its ``reason`` and ``params`` in the active
    language, without them. One stored as its text alone (before reasons were kept), or with a reason
    not known, keeps its text."""
    reason = response.get("reason")
    if reason is None:
        return response
    answer = {name: value for name, value in response.items() if name not in ("reason", "params")}
    answer["detail"] = order_text(reason, response.get("params"), fallback=str(response.get("detail") or ""))
    return answer


def _store_refusal(
    actor: Any, key: str, digest: str, status: int, answer: dict[str, Any], wording: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """Store the refusal ``answer`` for the key (with ``wording``: its reason and values, when it has
    them) and answer it; when another submission with the key answered first, that answer."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                user_id=actor.pk,
                key=key,
                request_hash=digest,
                status_code=status,
                response={**answer, **(wording or {})},
            )
    except IntegrityError:
        # Another submission with this key answered first: that answer is the answer.
        return _stored(actor, key, digest) or (status, answer)
    return status, answer


def refusal_answer(error: ValidationError) -> tuple[int, dict[str, Any]]:
    info = getattr(error, "refusal", None) or {"code": getattr(error, "code", None) or "invalid"}
    code = info["code"] if info["code"] in REFUSAL_STATUS else "invalid"
    detail = sentences(error.messages)
    return REFUSAL_STATUS[code], {"detail": detail, "errors": {}, **info, "code": code}


def resolve_household(actor: Any, household_id: int) -> Household | tuple[int, dict[str, Any]]:
    """The household ``actor`` may order for, with ``sealed``/``isolated`` annotations; else (403|404, body)."""
    if getattr(actor, "is_resident", False):
        if actor.household_id != household_id:
            return 403, {"detail": _("居民只能为本户下单"), "errors": {}}
        household = households_with_priority(Household.objects.filter(pk=household_id)).first()
    elif has_role(actor, PROXY_ORDER_ROLES):
        household = households_with_priority(scope.editable(Household.objects.filter(pk=household_id), actor)).first()
        if household is None:
            if scope.visible(Household.objects.filter(pk=household_id), actor).exists():
                return 403, {"detail": _("您不能为该户代下单"), "errors": {}}
            return 404, {"detail": _("未找到该户，或不在您的负责范围内"), "errors": {}}
    else:
        return 403, {"detail": _("您的角色不能下单"), "errors": {}}
    if household is None:
        return 404, {"detail": _("未找到该户，或不在您的负责范围内"), "errors": {}}
    return household


Facts = tuple[Household, Priority, dict[int, Offer]]


def sql_literal(value: str) -> str:
    """A constant of the code (a choice's value, never user input) as an SQL string literal."""
    assert value.isidentifier(), value
    return f"'{value}'"


def priority_sql(household: str) -> tuple[str, str]:
    """SQL of :func:`_sealed` and :func:`_isolated` for the household row ``household`` (an alias):
    (sealed, isolated) as EXISTS expressions, the constants written in."""
    sealed = connection.ops.quote_name(SealedHousehold._meta.db_table)
    quarantine = connection.ops.quote_name(QuarantineOrder._meta.db_table)
    home = ", ".join(sql_literal(place) for place in sorted(HOME_PLACES))
    return (
        f"EXISTS (SELECT 1 FROM {sealed} s WHERE s.household_id = {household}.id AND s.active)",
        f"EXISTS (SELECT 1 FROM {quarantine} q WHERE q.household_id = {household}.id "
        f"AND q.status = {sql_literal(QuarantineStatus.ACTIVE.value)} AND q.place IN ({home}))",
    )


@functools.cache
def _facts_sql() -> tuple[str, str]:
    """The facts query's pieces: its columns (the quarantine status and home places written in as
    constants: fewer parameters to send) and the join of the window's named offers to ``h``
    (parameters: window id, offer ids)."""
    table = {model: connection.ops.quote_name(model._meta.db_table) for model in (Offer, OrderWindow)}
    sealed, isolated = priority_sql("h")
    columns = (
        f"h.id, h.street_id, h.community_id, h.grid_id, h.compound_id, h.building_id, h.unit_id, {sealed}, {isolated}, "
        "o.id, o.name, o.unit, o.price, o.per_household_limit, o.reserved, o.buckets, "
        "w.id, w.community_id, w.supplier_id, w.status, w.opens_at, w.cutoff_at, w.title, w.delivery_on"
    )
    offers = (
        f"LEFT JOIN ({table[Offer]} o JOIN {table[OrderWindow]} w ON w.id = o.window_id) "
        "ON h.id IS NOT NULL AND o.window_id = %s AND o.id = ANY(%s)"
    )
    return columns, offers


def _facts_params(window_id: int, offer_ids: list[int]) -> list[Any]:
    return [window_id, sorted(set(offer_ids))]


def _facts_pg(actor: Any, parsed: OrderBody) -> Facts | None:
    """On PostgreSQL, one statement for what an order needs: the household if ``actor`` may order for
    it (the same rule as :func:`resolve_household`), its priority, and the window's offers named by
    the lines, each with its window. None when the household is not one the account may order for
    (the caller then asks :func:`resolve_household` why: 403 or 404)."""
    scope_sql, scope_params = "", []
    if getattr(actor, "is_resident", False):
        if actor.household_id != parsed.household:
            return None
    elif has_role(actor, PROXY_ORDER_ROLES):
        if not scope.is_unrestricted(actor):
            level = scope.user_level(actor)
            if level is None:
                return None
            lookup = Household.SCOPE_LOOKUPS[level]
            scope_sql = f" AND h.{'id' if lookup == 'pk' else lookup} = %s"
            scope_params = [getattr(actor, f"{level}_id")]
    else:
        return None
    columns, offers = _facts_sql()
    offer_params = _facts_params(parsed.window, [offer_id for offer_id, _q in parsed.lines])
    sql = (
        f"SELECT {columns} FROM {connection.ops.quote_name(Household._meta.db_table)} h {offers} "
        f"WHERE h.id = %s{scope_sql}"
    )
    rows = prepared.fetch(sql, [*offer_params, parsed.household, *scope_params])
    return _facts_of(rows) if rows else None


@dataclass(frozen=True)
class TokenFacts:
    """What :func:`token_facts` found: the token's account, the token's id when its ``last_used_at``
    is due (else None), and the order's facts when the account is a resident of the household."""

    user: Any
    touch: int | None
    facts: Facts | None


def token_facts(key_hash: str, *, window: int, household: int, offer_ids: list[int]) -> TokenFacts | None:
    """On PostgreSQL, the bearer token's check (:func:`linli.lib.apiauth.token_user`'s rules: an
    unrevoked token of an active account) and, for a resident ordering for their own household, the
    order's facts (as :func:`_facts_pg`) — one statement, without the ORM. None: the token is not
    valid. Writes nothing (the order writes ``last_used_at`` in its own transaction)."""
    from linli.accounts.choices import Role
    from linli.accounts.models import User
    from linli.lib.apiauth import LAST_USED_RESOLUTION

    fields, attnames, sql = _token_facts_sql()
    params = [household, Role.RESIDENT.value, *_facts_params(window, offer_ids), key_hash]
    rows = prepared.fetch(sql, params)
    if not rows:
        return None
    first, n = rows[0], len(fields)
    user = prepared.loaded(User, dict(zip(attnames, first[:n], strict=True)))
    token_id, used = first[n : n + 2]
    due = used is None or timezone.now() - used >= LAST_USED_RESOLUTION
    facts = _facts_of([row[n + 2 :] for row in rows]) if first[n + 2] is not None else None
    return TokenFacts(user=user, touch=token_id if due else None, facts=facts)


# The account's fields token_facts leaves deferred (loaded if ever read): nothing on the order path
# reads them, and the timestamps cost a time-zone conversion each.
TOKEN_USER_DEFERRED = frozenset(
    {"password", "last_login", "date_joined", "first_name", "last_name", "email", "phone", "supplier_name"}
)


@functools.cache
def _token_facts_sql() -> tuple[Any, list[str], str]:
    """:func:`token_facts`'s account fields, their attribute names and its statement (made once)."""
    from linli.accounts.models import User

    quote = connection.ops.quote_name
    fields = [field for field in User._meta.concrete_fields if field.name not in TOKEN_USER_DEFERRED]
    columns, offers = _facts_sql()
    sql = (
        f"SELECT {', '.join(f'u.{quote(field.column)}' for field in fields)}, t.id, t.last_used_at, {columns} "
        f"FROM {quote(ApiToken._meta.db_table)} t JOIN {quote(User._meta.db_table)} u ON u.id = t.user_id "
        f"LEFT JOIN {quote(Household._meta.db_table)} h ON h.id = %s AND h.id = u.household_id AND u.role = %s "
        f"{offers} WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active"
    )
    return fields, [field.attname for field in fields], sql


HOUSEHOLD_PLACE = ("id", "street_id", "community_id", "grid_id", "compound_id", "building_id", "unit_id")


def _facts_of(rows: list[Any]) -> Facts:
    """The household, its priority and the offers (each with its window) from the facts columns."""
    first = rows[0]
    household = prepared.loaded(
        Household,
        dict(zip(HOUSEHOLD_PLACE, first[:7], strict=True)),
    )
    offers: dict[int, Offer] = {}
    for row in rows:
        if row[9] is None:
            continue
        window = prepared.loaded(
            OrderWindow,
            dict(
                id=row[16],
                community_id=row[17],
                supplier_id=row[18],
                status=row[19],
                opens_at=row[20],
                cutoff_at=row[21],
                title=row[22],
                delivery_on=row[23],
            ),
        )
        offer = prepared.loaded(
            Offer,
            dict(
                id=row[9],
                window_id=row[16],
                name=row[10],
                unit=row[11],
                price=row[12],
                per_household_limit=row[13],
                reserved=row[14],
                buckets=row[15],
            ),
        )
        offer.window = window
        offers[offer.pk] = offer
    return household, priority_of(first[7], first[8]), offers


def submit_order(
    *,
    actor: Any,
    key: str,
    body: dict[str, Any],
    now: datetime.datetime | None = None,
    token_to_touch: int | None = None,
    facts: Facts | None = None,
) -> tuple[int, dict[str, Any]]:
    """Place an order once per (account, ``key``): (HTTP status, JSON body).

    201 and the order the first time; a retry with the same body gets 200 and the same order (or the
    same refusal, with its status); the same key with a different body gets 422. Refusals: 409
    sold out / duplicate order, 422 closed / limit / invalid; 403/404 for a household the account
    may not order for (not stored: nothing was decided about the order).

    ``token_to_touch``: the caller's API token whose ``last_used_at`` is due; a placed order writes
    it in its own transaction, any other answer afterwards. ``facts``: the order's facts when the
    caller has them already (:func:`token_facts`, for this body's window, household and offers).
    """
    status, answer = _submit(actor=actor, key=key, body=body, now=now, token_to_touch=token_to_touch, facts=facts)
    if status != 201:
        touch_token(token_to_touch, now)
    return status, answer


def _submit(
    *,
    actor: Any,
    key: str,
    body: dict[str, Any],
    now: datetime.datetime | None,
    token_to_touch: int | None,
    facts: Facts | None,
) -> tuple[int, dict[str, Any]]:
    """:func:`submit_order` before the token's touch."""
    key = (key or "").strip()
    if not key or len(key) > KEY_MAX_LENGTH:
        return 422, {"detail": _("缺少幂等键（Idempotency-Key），或长度超过 100"), "code": "invalid", "errors": {}}
    digest = request_hash(body)
    try:
        parsed = parse_body(body)
    except ValidationError as error:
        return refusal_answer(error)
    remember = Remember(actor.pk, key, digest, token_to_touch)
    if facts is None and connection.vendor == "postgresql":
        facts = _facts_pg(actor, parsed)
    try:
        if facts is not None:
            household, priority, offers = facts
            order = _place(
                offers=offers,
                household=household,
                lines=_clean_lines(parsed.lines),
                actor=actor,
                payment_mode=parsed.payment_mode,
                note=parsed.note,
                now=now,
                priority=priority,
                remember=remember,
            )
        else:
            found = resolve_household(actor, parsed.household)
            if not isinstance(found, Household):
                return _stored(actor, key, digest) or found
            order = place_order(
                window=parsed.window,
                household=found,
                lines=parsed.lines,
                actor=actor,
                payment_mode=parsed.payment_mode,
                note=parsed.note,
                now=now,
                priority=priority_of(getattr(found, "sealed", False), getattr(found, "isolated", False)),
                remember=remember,
            )
    except IntegrityError:
        # The key's row exists: this key was answered already (perhaps a moment ago, concurrently).
        stored = _stored(actor, key, digest)
        if stored is None:
            raise
        return stored
    except ValidationError as error:
        stored = _stored(actor, key, digest)
        if stored is not None:
            return stored
        status, answer = refusal_answer(error)
        return _store_refusal(actor, key, digest, status, answer, getattr(error, "wording", None))
    return 201, order_answer(order, order.lines_cache)  # type: ignore[attr-defined]
