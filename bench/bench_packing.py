"""Aggregation and pick lists (S4/S5) for one window of 100,000 orders.

In a scratch PostgreSQL database (SQLite is skipped: the seed is COPY), written straight into the
tables: one community of ``BENCH_PACKING_ORDERS`` (100,000) households in 20 compounds of 50
buildings × 4 units, a drop-off point per compound that serves the buildings no other point lists,
and in 5 compounds a second point for half their buildings (25 points); a supplier with
``BENCH_PACKING_OFFERS`` (300) offers in one window past its cut-off; one order per household with
1–6 lines (~350,000 lines), 2% of them sealed (to the door), 3% isolated.

Timed ``BENCH_PACKING_REPEAT`` (5) rounds, the two sides interleaved, medians reported:

* ours: ``aggregate(window)`` (purchase order, 100,000 packages with hand-over codes, purchase lines by
  offer × drop-off point, the window's status, the audit row, committed) + ``picklist_xlsx`` (summary,
  a sheet per drop-off point and the door's per-household list);
* the ceiling, same run: the bare SQL — one ``INSERT … SELECT`` of the packages (codes from ``md5``)
  and one ``GROUP BY`` of the order lines by offer × drop-off point, committed.

Before timing, ours is checked against the raw GROUP BY (same lines, same quantities and amounts).
Between rounds both sides' rows are truncated and the window set back to published (untimed).
``ratio`` = ceiling s / our s (target 0.5).
"""

from __future__ import annotations

import datetime
import os
import random
import time
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bench.common import is_postgres, median, scratch_database

NAME = "packing_100k"
TARGET_RATIO = 0.5
SEED = 2022
COMPOUNDS = 20
BUILDINGS = 50
UNITS = 4


def _seed(orders: int, offers: int, rng: random.Random) -> dict[str, Any]:
    from linli.registry.demo import bulk
    from linli.registry.models import Building, Community, Compound, Grid, Household, Street, Unit
    from linli.supplies.choices import Category, OrderStatus, Priority, WindowStatus
    from linli.supplies.models import DropOffPoint, Item, Offer, Order, OrderLine, OrderWindow, Supplier

    started = time.perf_counter()
    now = timezone.now()
    per_unit = -(-orders // (COMPOUNDS * BUILDINGS * UNITS))
    with transaction.atomic():
        street = Street.objects.create(code="B1", name="基准街道")
        community = Community.objects.create(code="B1-1", name="基准社区", street=street)
        grids = [
            Grid.objects.create(code=f"B1-1-{g}", name=f"第{g}网格", street=street, community=community)
            for g in range(4)
        ]
        compounds = [
            Compound.objects.create(
                code=f"B1-1-{c // 5}-{c}", name=f"小区{c:02d}", street=street, community=community, grid=grids[c // 5]
            )
            for c in range(COMPOUNDS)
        ]
        place = {"street_id": street.pk, "community_id": community.pk}
        buildings = Building.objects.bulk_create(
            Building(code=f"{p.code}-{n}", name=f"{n}号楼", number=n, grid_id=p.grid_id, compound=p, **place)
            for p in compounds
            for n in range(1, BUILDINGS + 1)
        )
        units = Unit.objects.bulk_create(
            Unit(
                code=f"{b.code}-{n}",
                name=f"{n}单元",
                number=n,
                grid_id=b.grid_id,
                compound_id=b.compound_id,
                building=b,
                **place,
            )
            for b in buildings
            for n in range(1, UNITS + 1)
        )
        households = bulk.Table(
            Household,
            ["id", "code", "street_id", "community_id", "grid_id", "compound_id", "building_id", "unit_id", "room"],
        )
        household_rows: list[tuple[Any, ...]] = []
        hid = bulk.next_id(Household)
        for unit in units:
            for n in range(per_unit):
                if len(household_rows) == orders:
                    break
                room = f"{n // 4 + 1}{n % 4 + 1:02d}"
                household_rows.append(
                    (
                        hid,
                        f"{unit.code}-{room}",
                        street.pk,
                        community.pk,
                        unit.grid_id,
                        unit.compound_id,
                        unit.building_id,
                        unit.pk,
                        room,
                        now,
                        now,
                    )
                )
                hid += 1
        _write(households, household_rows, ["created_at", "updated_at"])

        points = 0
        for index, compound in enumerate(compounds):
            DropOffPoint.objects.create(
                name=f"{compound.name}大门", grid_id=compound.grid_id, compound=compound, **place
            )
            points += 1
            if index % 4 == 0:
                second = DropOffPoint.objects.create(
                    name=f"{compound.name}东门", grid_id=compound.grid_id, compound=compound, **place
                )
                second.buildings.set([b for b in buildings if b.compound_id == compound.pk and b.number % 2 == 0])
                points += 1

        supplier = Supplier.objects.create(street=street, name="基准商超", payment_code="https://pay.example.cn/b")
        supplier.communities.add(community)
        categories = [c.value for c in Category]
        items = Item.objects.bulk_create(
            Item(
                supplier=supplier,
                name=f"商品{n:03d}",
                category=categories[n % 9],
                price=Decimal(rng.randint(200, 9900)) / 100,
            )
            for n in range(offers)
        )
        window = OrderWindow.objects.create(
            supplier=supplier,
            street_id=street.pk,
            community=community,
            title="基准窗口",
            opens_at=now - datetime.timedelta(days=1),
            cutoff_at=now - datetime.timedelta(hours=1),
            delivery_on=timezone.localdate(now + datetime.timedelta(days=1)),
            status=WindowStatus.PUBLISHED,
            published_at=now - datetime.timedelta(days=1),
        )
        offer_rows = Offer.objects.bulk_create(
            Offer(window=window, item=i, name=i.name, category=i.category, unit="份", price=i.price, quantity=10**6)
            for i in items
        )
        order_table = bulk.Table(
            Order,
            [
                "id",
                "street_id",
                "community_id",
                "grid_id",
                "compound_id",
                "building_id",
                "unit_id",
                "household_id",
                "window_id",
                "supplier_id",
                "status",
                "priority",
                "payment_mode",
                "total",
                "is_proxy",
                "note",
            ],
        )
        line_table = bulk.Table(
            OrderLine, ["order_id", "offer_id", "quantity", "from_reserved", "price", "amount", "short"]
        )
        order_rows: list[tuple[Any, ...]] = []
        line_rows: list[tuple[Any, ...]] = []
        oid = bulk.next_id(Order)
        sealed = 0
        for row in household_rows:
            chosen = rng.sample(offer_rows, rng.randint(1, 6))
            total = Decimal("0")
            for offer in chosen:
                quantity = rng.randint(1, 3)
                amount = offer.price * quantity
                total += amount
                line_rows.append((oid, offer.pk, quantity, 0, offer.price, amount, 0))
            draw = rng.random()
            priority = Priority.SEALED if draw < 0.02 else Priority.ISOLATED if draw < 0.05 else Priority.NORMAL
            sealed += priority == Priority.SEALED
            order_rows.append(
                (
                    oid,
                    *row[2:8],
                    row[0],
                    window.pk,
                    supplier.pk,
                    OrderStatus.PLACED.value,
                    int(priority),
                    "on_delivery",
                    total,
                    False,
                    "",
                )
            )
            oid += 1
        _write(order_table, order_rows, ["created_at"], now)
        for start in range(0, len(line_rows), 100_000):
            line_table.write(line_rows[start : start + 100_000])
        bulk.reset_sequences(Household, Order, OrderLine)
    bulk.analyze(Household, Order, OrderLine)
    return {
        "window_id": window.pk,
        "orders": len(order_rows),
        "lines": len(line_rows),
        "sealed": sealed,
        "drop_off_points": points,
        "offers": len(offer_rows),
        "seed_s": round(time.perf_counter() - started, 1),
    }


def _write(table: Any, rows: list[tuple[Any, ...]], stamps: list[str], now: Any = None) -> None:
    """``bulk.Table.write`` for rows that carry their own timestamps (``auto_now`` fields have no default)."""
    fields = {f.attname: f for f in table.model._meta.concrete_fields}
    given = len(table.columns) - len(table.tail)
    columns = table.columns[:given]
    rest = [
        f
        for f in table.model._meta.concrete_fields
        if f.column not in columns and f.attname not in stamps and not f.primary_key
    ]
    table.columns = [*columns, *[fields[s].column for s in stamps], *[f.column for f in rest]]
    table.tail = tuple(f.get_default() for f in rest)
    if now is not None:
        rows = [row + tuple(now for _ in stamps) for row in rows]
    table.write(rows)


RAW_PACKAGES = """
INSERT INTO supplies_package (street_id, community_id, grid_id, compound_id, building_id, unit_id, household_id,
  order_id, window_id, supplier_id, drop_off_id, handover_code, contactless, amount, status, photo, problem,
  resolution)
SELECT o.street_id, o.community_id, o.grid_id, o.compound_id, o.building_id, o.unit_id, o.household_id, o.id,
  o.window_id, o.supplier_id,
  CASE WHEN o.priority = 0 THEN NULL ELSE COALESCE(m.dropoffpoint_id, d.id) END,
  upper(substr(md5(random()::text), 1, 4)) || lpad(o.id::text, 6, '0'), o.priority = 0, o.total, 'packed', '', '', ''
FROM supplies_order o
LEFT JOIN supplies_dropoffpoint_buildings m ON m.building_id = o.building_id
LEFT JOIN supplies_dropoffpoint d ON d.compound_id = o.compound_id
  AND NOT EXISTS (SELECT 1 FROM supplies_dropoffpoint_buildings x WHERE x.dropoffpoint_id = d.id)
WHERE o.window_id = %s AND o.status = 'placed'
"""

RAW_GROUP = """
SELECT l.offer_id, p.drop_off_id, SUM(l.quantity), SUM(l.amount)
FROM supplies_orderline l JOIN supplies_package p ON p.order_id = l.order_id
WHERE p.window_id = %s
GROUP BY l.offer_id, p.drop_off_id
"""


def _reset(window_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE supplies_purchaseline, supplies_package, supplies_purchaseorder CASCADE")
        cursor.execute(
            "UPDATE supplies_orderwindow SET status = 'published', aggregated_at = NULL WHERE id = %s", [window_id]
        )


def raw(window_id: int) -> list[tuple[Any, ...]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RAW_PACKAGES, [window_id])
        cursor.execute(RAW_GROUP, [window_id])
        return [tuple(row) for row in cursor.fetchall()]


def ours(window_id: int) -> tuple[Any, bytes]:
    from linli.supplies.models import OrderWindow
    from linli.supplies.picklist import picklist_xlsx
    from linli.supplies.services.aggregation import aggregate

    window = OrderWindow.objects.get(pk=window_id)
    purchase = aggregate(window, actor=None)
    return purchase, picklist_xlsx(purchase)


def check_same(window_id: int) -> dict[str, int]:
    """Our purchase lines equal the raw GROUP BY's; else raise."""
    from linli.supplies.models import Package, PurchaseLine

    expected = sorted((r[0], r[1] or 0, int(r[2]), Decimal(r[3])) for r in raw(window_id))
    raw_packages = Package.objects.count()
    _reset(window_id)
    purchase, xlsx = ours(window_id)
    got = sorted(
        (o, d or 0, q, a)
        for o, d, q, a in PurchaseLine.objects.filter(purchase=purchase).values_list(
            "offer_id", "drop_off_id", "quantity", "amount"
        )
    )
    if got != expected:
        raise RuntimeError(f"purchase lines differ from the raw GROUP BY: {len(got)} vs {len(expected)} rows")
    if Package.objects.count() != raw_packages or purchase.orders != raw_packages:
        raise RuntimeError("package counts differ")
    if Package.objects.values("handover_code").distinct().count() != raw_packages:
        raise RuntimeError("hand-over codes are not unique")
    _reset(window_id)
    return {"purchase_lines": len(got), "packages": raw_packages, "xlsx_bytes": len(xlsx)}


def run() -> dict[str, Any]:
    if not is_postgres():
        return {"value": None, "unit": "s", "skipped": "PostgreSQL only (the seed is COPY)"}
    orders = int(os.environ.get("BENCH_PACKING_ORDERS", "100000"))
    offers = int(os.environ.get("BENCH_PACKING_OFFERS", "300"))
    repeat = max(1, int(os.environ.get("BENCH_PACKING_REPEAT", "5")))
    with scratch_database("packing"):
        seeded = _seed(orders, offers, random.Random(SEED))
        print(f"订单：{seeded['orders']:,} 单，{seeded['lines']:,} 行，用时 {seeded['seed_s']} 秒", flush=True)
        window_id = seeded["window_id"]
        checked = check_same(window_id)
        ours_s: list[float] = []
        aggregate_s: list[float] = []
        raw_s: list[float] = []
        for _round in range(repeat):
            started = time.perf_counter()
            raw(window_id)
            raw_s.append(time.perf_counter() - started)
            _reset(window_id)
            from linli.supplies.models import OrderWindow
            from linli.supplies.picklist import picklist_xlsx
            from linli.supplies.services.aggregation import aggregate

            started = time.perf_counter()
            purchase = aggregate(OrderWindow.objects.get(pk=window_id), actor=None)
            middle = time.perf_counter()
            picklist_xlsx(purchase)
            ended = time.perf_counter()
            ours_s.append(ended - started)
            aggregate_s.append(middle - started)
            _reset(window_id)
    value, ceiling = median(ours_s), median(raw_s)
    return {
        "value": round(value, 3),
        "unit": "s",
        "ceiling": round(ceiling, 3),
        "ratio": round(ceiling / value, 3),
        "target_ratio": TARGET_RATIO,
        "aggregate_s": round(median(aggregate_s), 3),
        "picklist_s": round(median([o - a for o, a in zip(ours_s, aggregate_s, strict=True)]), 3),
        "database": "postgresql",
        "repeat": repeat,
        **seeded,
        **checked,
    }
