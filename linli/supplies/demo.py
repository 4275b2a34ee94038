"""The demo street's supplies (SPEC S1–S10), written through the services as the demo accounts.

Two designated suppliers: 和平平价超市 serving every community of the street (the demo supplier
account works for it) and 惠民生鲜 serving the first community. A catalogue with a standard vegetable
box, eggs, pork, rice, flour, oil, salt and a medicine; today's stock and prices (yesterday's too, with
one abnormal rise in pork) and the staff checks of the morning. In the demo accounts' community: last
round's window, already aggregated, with a shortfall of pork shared out, its bags partly handed over
(the sealed households' left at the door, contactless) and payments collected; and a
window open now, with proxy orders by the grid worker and a sealed household's contactless order.
The demo resident has a delivered order from last round and is free to order in the open window.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from linli.accounts.choices import Role
from linli.health.models import SealedHousehold
from linli.registry.demo import SUPPLIER_NAME
from linli.registry.models import Building, Community, Compound, Household, Street
from linli.supplies.choices import DELIVERED_STATES, Category, PackageStatus, PaymentMode, StaffCheckKind
from linli.supplies.models import (
    DeliveryRun,
    Item,
    Order,
    OrderLine,
    OrderWindow,
    Package,
    PurchaseOrder,
    Supplier,
    SupplyNotice,
)
from linli.supplies.services import aggregation, catalogue, delivery, money, ordering, stock

MAIN_SUPPLIER = SUPPLIER_NAME  # the demo supplier account's supermarket
FRESH_SUPPLIER = "惠民生鲜"

# name, category, unit, price, limit, stock on hand, yesterday's price (None: the same)
CATALOGUE: tuple[tuple[str, str, str, str, int | None, int, str | None], ...] = (
    ("标准蔬菜包", Category.VEGETABLES, "份", "29.90", 2, 600, None),
    ("鸡蛋", Category.EGGS, "盒", "15.80", 2, 400, "15.50"),
    ("猪肉（前腿）", Category.PORK, "斤", "16.50", 3, 300, "14.20"),  # +16 %: flagged as abnormal
    ("东北大米", Category.RICE, "袋", "32.00", 1, 500, None),
    ("面粉", Category.FLOUR, "袋", "18.00", 1, 200, None),
    ("食用油", Category.OIL, "桶", "59.90", 1, 150, None),
    ("食盐", Category.SALT, "袋", "2.50", None, 800, None),
    ("布洛芬缓释胶囊", Category.MEDICINE, "盒", "12.80", 1, 60, None),
)
# What the standard vegetable box holds (its parts are catalogue items too).
BOX_PARTS: tuple[tuple[str, str, str], ...] = (("大白菜", "3.20", "2"), ("土豆", "2.80", "1"), ("胡萝卜", "3.00", "1"))
FRESH_CATALOGUE: tuple[tuple[str, str, str, str], ...] = (
    ("时令蔬菜组合", Category.VEGETABLES, "份", "25.00"),
    ("苹果", Category.FRUIT, "斤", "6.80"),
)


@dataclass
class SuppliesSeed:
    suppliers: int = 0
    items: int = 0
    windows: int = 0
    orders: int = 0
    proxy_orders: int = 0
    delivered: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "supplies_suppliers": self.suppliers,
            "supplies_windows": self.windows,
            "supplies_orders": self.orders,
            "supplies_delivered": self.delivered,
        }


@dataclass
class Actors:
    commander: Any
    worker: Any
    grid_worker: Any
    building_lead: Any
    supplier: Any


def _actors(accounts: Sequence[Any]) -> Actors | None:
    by_role: dict[str, Any] = {}
    for user in accounts:
        if not user.is_superuser:
            by_role.setdefault(user.role, user)
    needed = (Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.BUILDING_LEAD, Role.SUPPLIER)
    if any(role not in by_role for role in needed):
        return None
    return Actors(*(by_role[role] for role in needed))


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def seed_supplies(
    street: Street,
    *,
    accounts: Sequence[Any],
    resident: Any = None,
    rng: random.Random,
    now: datetime.datetime,
    say: Callable[[str], None] = lambda message: None,
) -> SuppliesSeed:
    """The supplies demo of ``street``; nothing when a needed demo account is missing."""
    result = SuppliesSeed()
    actors = _actors(accounts)
    if actors is None or actors.building_lead.building_id is None:
        return result
    community = Community.objects.get(pk=actors.worker.community_id)
    building = Building.objects.get(pk=actors.building_lead.building_id)
    compound = Compound.objects.get(pk=building.compound_id)
    today = timezone.localdate(now)

    main, items = _suppliers(street, community, actors, result)
    _reports(items, actors, now, today)
    point = delivery.drop_off_create(
        compound=compound, name="东门投放点", location="东门岗亭旁，红色帐篷下", actor=actors.worker
    )

    # The health demo's sealed households (in the demo compound when its sealed unit is there).
    sealed = sorted(
        Household.objects.filter(
            pk__in=SealedHousehold.objects.filter(active=True, community_id=community.pk).values("household_id")
        ),
        key=lambda h: (h.compound_id != compound.pk, h.pk),
    )
    kept_apart = [h.pk for h in sealed] + ([resident.household_id] if resident is not None else [])
    # Households of the demo compound with people, sealed ones apart, the resident's apart.
    plain = list(
        Household.objects.filter(compound=compound, members__isnull=False)
        .exclude(pk__in=kept_apart)
        .distinct()
        .order_by("pk")[:40]
    )
    rng.shuffle(plain)

    _past_window(main, community, compound, point, items, plain[:10], sealed[:2], actors, resident, now, result)
    _open_window(main, community, items, plain[10:16], sealed[2:3] or sealed[:1], actors, now, result)
    say(
        f"物资保供：商超 {result.suppliers} 家，订单 {result.orders} 个（代下单 {result.proxy_orders} 个），"
        f"已送达 {result.delivered} 个"
    )
    return result


def _suppliers(
    street: Street, community: Community, actors: Actors, result: SuppliesSeed
) -> tuple[Supplier, dict[str, Item]]:
    communities = list(Community.objects.filter(street=street).order_by("code"))
    main = catalogue.supplier_create(
        street=street,
        name=MAIN_SUPPLIER,
        communities=communities,
        actor=actors.commander,
        contact_name="周经理",
        contact_phone="13800138000",
        address="和平路 120 号",
        payment_code="https://pay.example.org/hpcs",
    )
    catalogue.supplier_staff_link(main, actors.supplier, actor=actors.commander)
    fresh = catalogue.supplier_create(
        street=street,
        name=FRESH_SUPPLIER,
        communities=[community],
        actor=actors.commander,
        contact_name="吴老板",
        contact_phone="13900139000",
    )
    result.suppliers = 2
    items: dict[str, Item] = {}
    for name, category, unit, price, limit, _stock, _before in CATALOGUE:
        items[name] = catalogue.item_create(
            supplier=main,
            name=name,
            category=category,
            unit=unit,
            price=price,
            per_household_limit=limit,
            is_bundle=name == "标准蔬菜包",
            actor=actors.supplier,
        )
    parts = []
    for name, price, quantity in BOX_PARTS:
        part = catalogue.item_create(
            supplier=main, name=name, category=Category.VEGETABLES, unit="斤", price=price, actor=actors.supplier
        )
        parts.append((part, quantity))
    catalogue.bundle_set_parts(items["标准蔬菜包"], parts, actor=actors.supplier)
    for name, category, unit, price in FRESH_CATALOGUE:
        catalogue.item_create(supplier=fresh, name=name, category=category, unit=unit, price=price, actor=actors.worker)
    result.items = len(CATALOGUE) + len(BOX_PARTS) + len(FRESH_CATALOGUE)
    return main, items


def _reports(items: dict[str, Item], actors: Actors, now: datetime.datetime, today: datetime.date) -> None:
    """Yesterday's and today's stock and prices (S8, S9), and the morning's staff checks (S10)."""
    yesterday = today - datetime.timedelta(days=1)
    morning = min(_at(today, 9), now)
    for name, _category, _unit, price, _limit, on_hand, before in CATALOGUE:
        item = items[name]
        stock.price_report(item=item, price=before or price, actor=actors.supplier, now=_at(yesterday, 10))
        stock.stock_report(item=item, quantity=on_hand + 50, actor=actors.supplier, now=_at(yesterday, 10))
        stock.price_report(item=item, price=price, actor=actors.supplier, now=morning)
        stock.stock_report(item=item, quantity=on_hand, actor=actors.supplier, now=morning)
    supplier = items["鸡蛋"].supplier
    for hours_back, staff, temperature in ((4, "周经理", "36.5"), (2, "周经理", "36.6"), (2, "分拣员 小王", "36.4")):
        stock.staff_check_record(
            supplier=supplier,
            kind=StaffCheckKind.TEMPERATURE,
            staff_name=staff,
            temperature=temperature,
            at=now - datetime.timedelta(hours=hours_back),
            actor=actors.supplier,
            now=now,
        )
    stock.staff_check_record(
        supplier=supplier,
        kind=StaffCheckKind.DISINFECTION,
        staff_name="仓库、分拣区",
        result="已消杀",
        at=now - datetime.timedelta(hours=1),
        actor=actors.supplier,
        now=now,
    )


def _proxy(actors: Actors, household: Household) -> Any:
    """Who phones the household and orders for it: its grid worker, else the community worker."""
    return actors.grid_worker if household.grid_id == actors.grid_worker.grid_id else actors.worker


def _offer_all(window: OrderWindow, items: dict[str, Item], *, scale: int, hot_eggs: int | None = None) -> None:
    for name, _category, _unit, _price, _limit, _stock, _before in CATALOGUE:
        quantity = hot_eggs if name == "鸡蛋" and hot_eggs is not None else scale
        reserved = max(1, quantity // 10)
        catalogue.offer_add(window, items[name], quantity, reserved=reserved, buckets=4 if quantity >= 40 else 1)


def _lines(window: OrderWindow, rng: random.Random) -> list[tuple[int, int]]:
    offers = list(window.offers.order_by("pk"))
    box = next(o for o in offers if o.name == "标准蔬菜包")
    others = rng.sample([o for o in offers if o.pk != box.pk], 2)
    return [(box.pk, 1)] + [(o.pk, 1) for o in others]


def _past_window(
    main: Supplier,
    community: Community,
    compound: Compound,
    point: Any,
    items: dict[str, Item],
    plain: list[Household],
    sealed: list[Household],
    actors: Actors,
    resident: Any,
    now: datetime.datetime,
    result: SuppliesSeed,
) -> None:
    """Last round: ordered two days ago, delivered since yesterday — a shortfall, bags partly handed over."""
    today = timezone.localdate(now)
    opens = _at(today - datetime.timedelta(days=2), 8)
    cutoff = _at(today - datetime.timedelta(days=2), 20)
    window = catalogue.window_create(
        supplier=main,
        community=community,
        opens_at=opens,
        cutoff_at=cutoff,
        delivery_on=today - datetime.timedelta(days=1),
        title="周一订购 · 周二配送",
        actor=actors.worker,
        now=opens,  # made before the round opened, two days ago
    )
    _offer_all(window, items, scale=60)
    catalogue.window_publish(window, actor=actors.worker, now=opens)
    rng = random.Random(len(plain) * 7 + 1)
    orders: list[Order] = []
    moment = opens + datetime.timedelta(hours=1)
    if resident is not None and resident.household_id:
        household = Household.objects.get(pk=resident.household_id)
        order = ordering.place_order(
            window=window,
            household=household,
            lines=_lines(window, rng),
            actor=resident,
            payment_mode=PaymentMode.ON_DELIVERY,
            now=moment,
        )
        order.created_at = moment
        orders.append(order)
    modes = (PaymentMode.PREPAID, PaymentMode.ON_DELIVERY, PaymentMode.CREDIT)
    pork = window.offers.get(item=items["猪肉（前腿）"])
    for n, household in enumerate(plain + sealed):
        lines = _lines(window, rng)
        if pork.pk not in {offer_id for offer_id, _q in lines}:
            lines.append((pork.pk, 2))
        placed = moment + datetime.timedelta(minutes=5 * n)
        order = ordering.place_order(
            window=window,
            household=household,
            lines=lines,
            actor=_proxy(actors, household),
            payment_mode=modes[n % len(modes)],
            note="电话代订" if n % 2 else "",
            now=placed,
        )
        order.created_at = placed
        orders.append(order)
        result.proxy_orders += 1
    result.orders += len(orders)
    result.windows += 1

    aggregated = cutoff + datetime.timedelta(minutes=30)
    purchase = aggregation.aggregate(window, actor=actors.worker, now=aggregated)
    # The supplier could get only four fifths of the pork ordered: the shortfall is shared out and
    # every household whose bag changed is told.
    ordered = sum(OrderLine.objects.filter(offer=pork, order__window=window).values_list("quantity", flat=True))
    if ordered:
        available = ordered - max(1, ordered // 5)
        later = cutoff + datetime.timedelta(hours=1)
        told = aggregation.shortfall_allocate(purchase, {pork.pk: available}, actor=actors.worker, now=later)
        SupplyNotice.objects.filter(order__in=told).update(created_at=later)
    # The services date these rows by the wall clock (they take no ``now``): left so, the purchase order
    # would read 汇总 today, after its own shortfall two days ago, and the orders placed today, after the
    # cut-off. They are put back where this round had them.
    PurchaseOrder.objects.filter(pk=purchase.pk).update(created_at=aggregated)
    Order.objects.bulk_update(orders, ["created_at"])
    delivered_day = today - datetime.timedelta(days=1)
    # The grid worker collected the prepaid households' money (what their bags now come to, after the
    # shortfall) on the morning of delivery.
    for order in orders:
        if order.payment_mode == PaymentMode.PREPAID:
            due = money.order_money(order).due
            money.payment_collect(
                order, mode=PaymentMode.PREPAID, amount=due, actor=actors.grid_worker, now=_at(delivered_day, 9)
            )
    run = delivery.run_create(window=window, drop_off=point, volunteer=actors.building_lead, actor=actors.worker)
    at_point = list(Package.objects.filter(run=run).order_by("pk"))
    # Most bags are handed over; the last three are still out (a partly delivered round).
    for package in at_point[:-3]:
        delivery.handover(package.handover_code, actor=actors.building_lead, now=_at(delivered_day, 10))
        result.delivered += 1
    if resident is not None:
        mine = Package.objects.filter(window=window, household_id=resident.household_id).first()
        if mine is not None and mine.status not in (PackageStatus.HANDED_OVER,):
            delivery.handover(mine.handover_code, actor=actors.building_lead, now=_at(delivered_day, 10))
            result.delivered += 1
    # Sealed households: carried to the door and left there, contactless; they confirm from their phones.
    door = Package.objects.filter(window=window, drop_off__isnull=True, run__isnull=True)
    for door_compound in Compound.objects.filter(pk__in=door.values("compound_id")).order_by("pk"):
        carrier = actors.grid_worker if door_compound.grid_id == actors.grid_worker.grid_id else actors.worker
        run = delivery.run_create(
            window=window, drop_off=None, volunteer=carrier, actor=actors.worker, compound=door_compound
        )
        for package in Package.objects.filter(run=run).order_by("pk"):
            delivery.handover(package.handover_code, actor=carrier, contactless=True, now=_at(delivered_day, 11))
            result.delivered += 1
    DeliveryRun.objects.filter(window=window).update(created_at=_at(delivered_day, 9, 30))  # set out before 10:00
    delivered = Package.objects.filter(window=window, status__in=DELIVERED_STATES).select_related("order")
    for package in delivered.order_by("pk"):
        order = package.order
        owed = money.order_money(order).balance
        if owed <= 0:
            continue
        if order.payment_mode == PaymentMode.CREDIT:
            money.credit_record(order, actor=actors.worker, now=_at(delivered_day, 18))
        else:
            money.payment_collect(
                order, mode=PaymentMode.ON_DELIVERY, amount=owed, actor=actors.grid_worker, now=_at(delivered_day, 18)
            )


def _open_window(
    main: Supplier,
    community: Community,
    items: dict[str, Item],
    plain: list[Household],
    sealed: list[Household],
    actors: Actors,
    now: datetime.datetime,
    result: SuppliesSeed,
) -> None:
    """This round, open now: eggs are short, a few proxy orders in, a sealed household's among them."""
    today = timezone.localdate(now)
    opens = min(_at(today, 8), now - datetime.timedelta(hours=1))
    cutoff = max(_at(today, 20), now + datetime.timedelta(hours=4))
    window = catalogue.window_create(
        supplier=main,
        community=community,
        opens_at=opens,
        cutoff_at=cutoff,
        delivery_on=timezone.localdate(cutoff) + datetime.timedelta(days=1),
        title="本期订购",
        actor=actors.worker,
        now=now,
    )
    _offer_all(window, items, scale=200, hot_eggs=40)
    catalogue.window_publish(window, actor=actors.worker, now=opens)
    rng = random.Random(len(plain) * 11 + 3)
    for n, household in enumerate(plain + sealed):
        ordering.place_order(
            window=window,
            household=household,
            lines=_lines(window, rng),
            actor=_proxy(actors, household),
            payment_mode=PaymentMode.CREDIT if n == 0 else PaymentMode.ON_DELIVERY,
            note="老人独居，电话代订" if n == 0 else "",
            now=min(opens + datetime.timedelta(minutes=10 * (n + 1)), now),
        )
        result.orders += 1
        result.proxy_orders += 1
    result.windows += 1
