"""Aggregation at cut-off and fair shortfall allocation (SPEC S4).

``aggregate`` turns a window's live orders into one purchase order for its supplier: one
:class:`~linli.supplies.models.Package` per order (the household's bag, with its hand-over code) and
one :class:`~linli.supplies.models.PurchaseLine` per offer × drop-off point. A household's drop-off
point is an active point of its compound that lists its building, else the compound's active point
that lists no buildings, else none. Sealed households (``Order.priority == SEALED``) get no drop-off
point: the supplier delivers their bag to the door, contactless. The work is set-based — two
``INSERT … SELECT`` statements whatever the number of orders — so a window of 100,000 orders
aggregates in about the time the bare SQL takes (``bench/bench_packing.py``).

``shortfall_allocate`` applies what the supplier can deliver. Per offer, the units go first to
sealed households, then to isolated ones, then to everyone else (``Priority``); inside the class that
runs out, the units are spread max-min fairly (:func:`fair_shares`): nobody gets more than they
ordered, the total is exactly what is available, and two households of that class who did not get
all they ordered differ by at most one unit (the odd units go to the earliest orders). Every
household whose bag changed is told: a :class:`~linli.supplies.models.SupplyNotice` on its page and an
SMS to the householder's phone.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.services import sms_send
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.lib.wording import listed
from linli.registry.choices import Relation
from linli.registry.models import Person
from linli.supplies.choices import OrderStatus, PackageStatus, Priority, WindowStatus
from linli.supplies.models import (
    Offer,
    Order,
    OrderLine,
    OrderWindow,
    Package,
    PurchaseLine,
    PurchaseOrder,
    SupplyNotice,
)
from linli.supplies.services.ordering import raise_priorities

K = TypeVar("K", bound=Hashable)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # as models.new_handover_code: no look-alikes
CODE_LENGTH = 10
HANDOVER_PREFIX = "LLP:"
BATCH = 2000


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# ----------------------------------------------------------------------------------------------
# Hand-over codes


# Random bytes below 248 (= 8 × 31) map evenly onto the 31 letters; the rest are dropped.
_CODE_TABLE = bytes(ord(CODE_ALPHABET[b % len(CODE_ALPHABET)]) if b < 248 else 0 for b in range(256))
_CODE_DROP = bytes(range(248, 256))


def handover_codes(count: int) -> list[str]:
    """``count`` distinct random hand-over codes (as ``new_handover_code`` makes one), made in bulk."""
    codes: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        need = count - len(out)
        raw = secrets.token_bytes(need * CODE_LENGTH * 9 // 8 + 64).translate(_CODE_TABLE, _CODE_DROP).decode("ascii")
        for start in range(0, len(raw) - CODE_LENGTH + 1, CODE_LENGTH):
            code = raw[start : start + CODE_LENGTH]
            if code not in codes:
                codes.add(code)
                out.append(code)
                if len(out) == count:
                    break
    return out


def handover_reference(code: str) -> str:
    """The text of a label's hand-over QR: ``LLP:<handover code>``."""
    return f"{HANDOVER_PREFIX}{code}"


def parse_handover_reference(text: str) -> str | None:
    """The hand-over code in a scanned ``LLP:<code>`` (or a bare code), or None for any other text."""
    text = text.strip().upper()
    if text.startswith(HANDOVER_PREFIX):
        text = text[len(HANDOVER_PREFIX) :]
    if len(text) == CODE_LENGTH and all(c in CODE_ALPHABET for c in text):
        return text
    return None


# ----------------------------------------------------------------------------------------------
# Aggregation


# The drop-off point of every building of the community, then one package per live order.
# (INSERT … WITH …, not WITH … INSERT: Python's sqlite3 counts the rows of the first form only.)
# {codes} is the vendor's table of (rn, code): the n-th order by id gets the n-th code.
_PACKAGES_SQL = """
INSERT INTO supplies_package (street_id, community_id, grid_id, compound_id, building_id, unit_id, household_id,
  order_id, window_id, supplier_id, drop_off_id, handover_code, contactless, amount, status, photo, problem,
  resolution)
WITH points AS (
  SELECT b.id AS building_id,
    COALESCE(
      (SELECT MIN(m.dropoffpoint_id) FROM supplies_dropoffpoint_buildings m
         JOIN supplies_dropoffpoint d ON d.id = m.dropoffpoint_id
        WHERE m.building_id = b.id AND d.is_active AND d.compound_id = b.compound_id),
      (SELECT MIN(d.id) FROM supplies_dropoffpoint d
        WHERE d.compound_id = b.compound_id AND d.is_active
          AND NOT EXISTS (SELECT 1 FROM supplies_dropoffpoint_buildings m WHERE m.dropoffpoint_id = d.id))
    ) AS drop_off_id
  FROM registry_building b WHERE b.community_id = %(community)s
),
live AS (
  SELECT o.id, o.street_id, o.community_id, o.grid_id, o.compound_id, o.building_id, o.unit_id, o.household_id,
         o.window_id, o.supplier_id, o.priority, o.total, ROW_NUMBER() OVER (ORDER BY o.id) AS rn
    FROM supplies_order o WHERE o.window_id = %(window)s AND o.status = %(placed)s
),
codes AS ({codes})
SELECT o.street_id, o.community_id, o.grid_id, o.compound_id, o.building_id, o.unit_id, o.household_id,
  o.id, o.window_id, o.supplier_id, CASE WHEN o.priority = %(sealed)s THEN NULL ELSE p.drop_off_id END, c.code,
  o.priority = %(sealed)s, o.total, %(packed)s, '', '', ''
FROM live o JOIN codes c ON c.rn = o.rn LEFT JOIN points p ON p.building_id = o.building_id
"""

_CODES_PG = "SELECT code, rn FROM unnest(%(codes)s::text[]) WITH ORDINALITY AS t(code, rn)"
_CODES_SQLITE = "SELECT value AS code, key + 1 AS rn FROM json_each(%(codes)s)"

_LINES_SQL = """
INSERT INTO supplies_purchaseline (purchase_id, offer_id, drop_off_id, quantity, short, amount)
SELECT %(purchase)s, l.offer_id, p.drop_off_id, SUM(l.quantity), 0, ROUND(SUM(l.amount), 2)
  FROM supplies_orderline l JOIN supplies_package p ON p.order_id = l.order_id
 WHERE p.window_id = %(window)s
 GROUP BY l.offer_id, p.drop_off_id
"""


def _insert_packages(window: OrderWindow, count: int) -> int:
    """One package per live order of ``window`` (``count`` of them); the number inserted."""
    for _attempt in range(5):
        codes = handover_codes(count)
        if connection.vendor == "postgresql":
            sql, codes_param = _PACKAGES_SQL.format(codes=_CODES_PG), codes
        else:
            sql, codes_param = _PACKAGES_SQL.format(codes=_CODES_SQLITE), json.dumps(codes)  # type: ignore[assignment]
        params: dict[str, Any] = {
            "community": window.community_id,
            "window": window.pk,
            "placed": OrderStatus.PLACED.value,
            "sealed": int(Priority.SEALED),
            "packed": PackageStatus.PACKED.value,
            "codes": codes_param,
        }
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                return int(cursor.rowcount)
        except IntegrityError:
            # A code already on an earlier window's label (about 1 in 10,000 for 100,000 new codes):
            # draw them all again.
            if Package.objects.filter(window_id=window.pk).exists():
                raise
    raise IntegrityError("could not draw unique hand-over codes")


def aggregate(window: OrderWindow, *, actor: Any, now: datetime.datetime | None = None) -> PurchaseOrder:
    """Aggregate ``window`` after its cut-off into its purchase order (idempotent: a second call answers it)."""
    now = now or timezone.now()
    existing = PurchaseOrder.objects.filter(window_id=window.pk).first()
    if existing is not None:
        return existing
    if window.status == WindowStatus.DRAFT:
        raise ValidationError(_("窗口尚未发布，没有订单可以汇总"))
    if now < window.cutoff_at:
        local = timezone.localtime(window.cutoff_at)
        raise ValidationError(
            _("截单时间（%(cutoff)s）之前不能汇总订单") % {"cutoff": f"{local:%Y-%m-%d %H:%M}"}, code="before_cutoff"
        )
    try:
        with transaction.atomic():
            locked = OrderWindow.objects.select_for_update().get(pk=window.pk)
            existing = PurchaseOrder.objects.filter(window_id=locked.pk).first()
            if existing is not None:
                return existing
            if locked.status != WindowStatus.PUBLISHED:
                raise ValidationError(_("该窗口当前状态不能汇总"))
            live = Order.objects.filter(window_id=locked.pk, status=OrderStatus.PLACED)
            # A household sealed (or put in home quarantine) after it ordered — a building sealed in the
            # evening — is served as it is now: its bag goes to the door, contactless, and it comes first
            # if stock runs short. Until here the order kept the priority it had when it was placed.
            raise_priorities(live)
            totals = live.aggregate(n=Count("pk"), total=Sum("total"))
            count = int(totals["n"] or 0)
            # SQLite sums the amounts as floats: 782.900000000000 in the message and the audit row.
            total = (totals["total"] or Decimal("0")).quantize(Decimal("0.01"))
            purchase = PurchaseOrder.objects.create(window=locked, total=total, orders=count, created_by=_actor(actor))
            packed = _insert_packages(locked, count) if count else 0
            if packed != count:  # an order placed or cancelled after cut-off: should not happen
                raise ValidationError(_("汇总期间订单发生变化，请重试"))
            if count:
                with connection.cursor() as cursor:
                    cursor.execute(_LINES_SQL, {"purchase": purchase.pk, "window": locked.pk})
            locked.status = WindowStatus.AGGREGATED
            locked.aggregated_at = now
            locked.save(update_fields=["status", "aggregated_at"])
            window.status, window.aggregated_at = locked.status, locked.aggregated_at
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=purchase,
                changes={"window": locked.pk, "orders": count, "total": str(purchase.total)},
                street_id=locked.street_id,
                community_id=locked.community_id,
            )
            return purchase
    except IntegrityError:
        # Another request aggregated the window at the same moment (SQLite has no row lock).
        existing = PurchaseOrder.objects.filter(window_id=window.pk).first()
        if existing is None:
            raise
        return existing


# ----------------------------------------------------------------------------------------------
# Shortfalls


def fair_shares(units: int, demands: Sequence[tuple[K, int]]) -> dict[K, int]:
    """``units`` spread max-min fairly over ``demands`` (key, quantity), listed in tie-break order.

    Everyone gets ``min(quantity, level)`` for the highest level the units allow; the units left
    over (fewer than the households still wanting more) go one each to the first of those in
    ``demands``' order. So: nobody gets more than they asked, the shares add up to
    ``min(units, total demand)``, and two households that did not get everything differ by at most one.
    """
    shares: dict[K, int] = {key: 0 for key, _q in demands}
    left = max(0, units)
    pending = sorted(range(len(demands)), key=lambda i: (demands[i][1], i))
    position = 0
    while position < len(pending):
        waiting = len(pending) - position
        level = left // waiting
        index = pending[position]
        key, quantity = demands[index]
        if quantity <= level:  # the smallest remaining demand fits under the level: served in full
            shares[key] = quantity
            left -= quantity
            position += 1
            continue
        # Everyone still waiting asked for more than the level: each gets it, and the odd units
        # go to the earliest of them (their order in ``demands``).
        rest = sorted(pending[position:])
        extra = left - level * waiting
        for rank, i in enumerate(rest):
            shares[demands[i][0]] = level + (1 if rank < extra else 0)
        break
    return shares


def allocate(units: int, demands: Sequence[tuple[K, int, int]]) -> dict[K, int]:
    """``units`` over (key, priority, quantity) demands: a priority class is served in full before the
    next gets anything; the class that runs out shares max-min fairly (:func:`fair_shares`)."""
    shares: dict[K, int] = {}
    left = max(0, units)
    classes: dict[int, list[tuple[K, int]]] = defaultdict(list)
    for key, priority, quantity in demands:
        classes[priority].append((key, quantity))
    for priority in sorted(classes):
        members = classes[priority]
        wanted = sum(q for _k, q in members)
        if wanted <= left:
            shares.update({key: q for key, q in members})
            left -= wanted
        else:
            shares.update(fair_shares(left, members))
            left = 0
    return shares


def _placement(order: Order) -> dict[str, int]:
    """The household and ancestor ids of a record about ``order``'s household (copied from the order)."""
    levels = ("street", "community", "grid", "compound", "building", "unit", "household")
    return {f"{level}_id": getattr(order, f"{level}_id") for level in levels}


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _shortfall_text(window: OrderWindow, shorts: list[tuple[str, str, int]], amount: Decimal) -> str:
    if not shorts:
        return _("您在“%(window)s”的订单已恢复足量配送，应付金额 %(amount)s 元。") % {
            "window": str(window),
            "amount": _money(amount),
        }
    items = listed(_("%(name)s缺%(n)d%(unit)s") % {"name": name, "n": n, "unit": unit} for name, unit, n in shorts)
    return _("您在“%(window)s”的订单因商超缺货调整：%(items)s，应付金额调整为 %(amount)s 元。") % {
        "window": str(window),
        "items": items,
        "amount": _money(amount),
    }


def _householders(household_ids: Iterable[int]) -> dict[int, Person]:
    """The householder (with a phone) of each household, for the SMS."""
    found: dict[int, Person] = {}
    people = Person.objects.filter(household_id__in=list(household_ids)).exclude(phone="").select_related("household")
    for person in people.order_by("household_id", "pk"):
        current = found.get(person.household_id)
        if current is None or (current.relation != Relation.HOUSEHOLDER and person.relation == Relation.HOUSEHOLDER):
            found[person.household_id] = person
    return found


def shortfall_allocate(
    purchase: PurchaseOrder, available: dict[int, int], *, actor: Any, now: datetime.datetime | None = None
) -> list[Order]:
    """Apply what the supplier can deliver of each offer (offer id → units) and tell every household whose
    bag changed; the orders whose bag changed. Offers not in ``available`` stay as they are.

    Can be run again (a corrected answer from the supplier) until delivery starts: the shares are
    recomputed from what was ordered, not from the previous shares.
    """
    now = now or timezone.now()
    window = OrderWindow.objects.get(pk=purchase.window_id)
    ordered: dict[int, int] = {
        row["offer_id"]: int(row["q"])
        for row in PurchaseLine.objects.filter(purchase=purchase).values("offer_id").annotate(q=Sum("quantity"))
    }
    errors: list[ValidationError] = []
    for offer_id, units in available.items():
        if offer_id not in ordered:
            errors.append(ValidationError(_("商品 %(offer)s 不在本采购单中") % {"offer": offer_id}))
        elif not isinstance(units, int) or units < 0 or units > ordered[offer_id]:
            errors.append(
                ValidationError(
                    _("可供数量须在 0 到 %(n)d 之间（商品 %(offer)s）") % {"n": ordered[offer_id], "offer": offer_id}
                )
            )
    if errors:
        raise ValidationError(errors)
    if Package.objects.filter(window_id=window.pk).exclude(status=PackageStatus.PACKED).exists():
        raise ValidationError(_("配送已经开始，不能再调整缺货分配"))
    if not available:
        raise ValidationError(_("请填写至少一种商品的可供数量"))

    with transaction.atomic():
        PurchaseOrder.objects.select_for_update().filter(pk=purchase.pk).first()
        lines = list(
            OrderLine.objects.filter(
                order__window_id=window.pk, order__status=OrderStatus.PLACED, offer_id__in=list(available)
            )
            .values_list("pk", "order_id", "offer_id", "quantity", "short", "order__priority")
            .order_by("order_id", "pk")
        )
        by_offer: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for pk, _order, offer_id, quantity, _short, priority in lines:
            by_offer[offer_id].append((pk, priority, quantity))  # in order id order: the tie-break
        shares: dict[int, int] = {}
        for offer_id, demands in by_offer.items():
            shares.update(allocate(available[offer_id], demands))
        changed: list[OrderLine] = []
        changed_orders: set[int] = set()
        for pk, order_id, _offer, quantity, short, _p in lines:
            new_short = quantity - shares[pk]
            if new_short != short:
                changed.append(OrderLine(pk=pk, short=new_short))
                changed_orders.add(order_id)
        OrderLine.objects.bulk_update(changed, ["short"], batch_size=BATCH)

        # What each purchase line (offer × drop-off point) now lacks.
        drop_offs = dict(Package.objects.filter(window_id=window.pk).values_list("order_id", "drop_off_id"))
        shorts: dict[tuple[int, int | None], int] = defaultdict(int)
        for offer_id, order_id, short in OrderLine.objects.filter(
            order__window_id=window.pk, order__status=OrderStatus.PLACED, short__gt=0
        ).values_list("offer_id", "order_id", "short"):
            shorts[(offer_id, drop_offs.get(order_id))] += short
        purchase_lines = list(PurchaseLine.objects.filter(purchase=purchase))
        for line in purchase_lines:
            line.short = shorts.get((line.offer_id, line.drop_off_id), 0)
        PurchaseLine.objects.bulk_update(purchase_lines, ["short"], batch_size=BATCH)

        # The bags whose content changed: their amount, and a word to the household.
        orders = list(Order.objects.filter(pk__in=changed_orders).order_by("pk"))
        offers = {o.pk: o for o in Offer.objects.filter(window_id=window.pk)}
        order_lines: dict[int, list[tuple[int, int, Decimal]]] = defaultdict(list)
        for order_id, offer_id, short, price in OrderLine.objects.filter(order_id__in=changed_orders).values_list(
            "order_id", "offer_id", "short", "price"
        ):
            order_lines[order_id].append((offer_id, short, price))
        packages = {p.order_id: p for p in Package.objects.filter(order_id__in=changed_orders)}
        notices: list[SupplyNotice] = []
        texts: dict[int, str] = {}
        for order in orders:
            missing = sum((price * short for _o, short, price in order_lines[order.pk]), Decimal("0"))
            amount = order.total - missing
            package = packages.get(order.pk)
            if package is not None:
                package.amount = amount
            short_items = [
                (offers[offer_id].name, offers[offer_id].unit, short)
                for offer_id, short, _price in sorted(order_lines[order.pk])
                if short > 0
            ]
            text = _shortfall_text(window, short_items, amount)[:500]
            texts[order.pk] = text
            notices.append(SupplyNotice(order=order, text=text, **_placement(order)))
        Package.objects.bulk_update(list(packages.values()), ["amount"], batch_size=BATCH)
        SupplyNotice.objects.bulk_create(notices, batch_size=BATCH)

        purchase.confirmed_at = now
        purchase.confirmed_by = _actor(actor)
        purchase.save(update_fields=["confirmed_at", "confirmed_by"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=purchase,
            changes={"available": {str(k): v for k, v in available.items()}, "orders_changed": len(orders)},
            street_id=window.street_id,
            community_id=window.community_id,
        )

        phones = _householders(order.household_id for order in orders)

        def send() -> None:
            for order in orders:
                person = phones.get(order.household_id)
                if person is not None:
                    sms_send(phone=person.phone, body=texts[order.pk], person=person)

        # Texts leave only once the allocation is committed: a rolled-back one tells nobody.
        transaction.on_commit(send)
    return orders
