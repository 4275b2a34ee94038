"""A generated week: two suppliers' windows on three days for ~50 households, with cancellations,
shortfalls, credit, prepaid and on-delivery payments, refunds, undelivered-then-returned or redelivered
packages. Every window reconciles, to the numbers the generator kept itself, and the workbook says the same."""

from __future__ import annotations

import datetime
import io
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

from linli.lib.testing import Personas
from linli.registry import services as registry
from linli.registry.models import Household
from linli.supplies.choices import PackageStatus, PaymentMode, WindowStatus
from linli.supplies.models import OrderWindow, Package, Supplier
from linli.supplies.services import delivery, money
from linli.supplies.services.aggregation import aggregate, shortfall_allocate
from linli.supplies.services.ordering import cancel_order, place_order
from linli.supplies.testing import open_window
from linli.supplies.tests.test_delivery_fixtures import T0

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")


def _households(personas: Personas) -> list[Household]:
    """C1's twelve households and ten more in each of its four units: 52."""
    tree = personas.tree
    for unit in tree.units.values():
        if unit.community_id != tree.c1.pk:
            continue
        for n in range(10):
            registry.household_create(unit=unit, room=f"{5 + n // 4}0{n % 4 + 1}")
    return list(Household.objects.filter(community_id=tree.c1.pk).select_related("building", "unit").order_by("pk"))


def test_a_generated_week_reconciles_for_every_window(personas: Personas) -> None:
    rng = random.Random(20261123)
    tree = personas.tree
    worker, lead, volunteer = personas.community_worker, personas.building_lead, personas.grid_worker
    households = _households(personas)
    assert len(households) == 52
    mode_of = {h.pk: rng.choice([PaymentMode.PREPAID, PaymentMode.ON_DELIVERY, PaymentMode.CREDIT]) for h in households}
    points = [
        delivery.drop_off_create(compound=tree.p1, name="东门投放点", actor=worker),
        delivery.drop_off_create(compound=tree.p2, name="南门投放点", actor=worker),
    ]
    other = Supplier.objects.create(street=tree.street, name="惠民菜场")
    other.communities.add(tree.c1)
    suppliers = [Supplier.objects.get(name="平价超市"), other]

    expected: dict[int, defaultdict[str, Decimal]] = {}
    windows: list[OrderWindow] = []
    for day in range(3):
        for supplier in suppliers:
            now = T0 + datetime.timedelta(days=day)
            window = open_window(supplier, tree.c1, now=now, items={"蔬菜包": 400, "鸡蛋": 400, "大米": 400})
            windows.append(window)
            e = expected[window.pk] = defaultdict(lambda: ZERO)
            offers = list(window.offers.order_by("pk"))
            orders = []
            for household in rng.sample(households, 30):
                lines = [(o.pk, rng.randint(1, 4)) for o in rng.sample(offers, rng.randint(1, 3))]
                order = place_order(
                    window=window,
                    household=household,
                    lines=lines,
                    actor=worker,
                    payment_mode=mode_of[household.pk],
                    now=now,
                )
                placed = sum((Decimal(q) * next(o.price for o in offers if o.pk == pk) for pk, q in lines), ZERO)
                assert order.total == placed
                e["ordered"] += placed
                if mode_of[household.pk] == PaymentMode.PREPAID:
                    money.payment_collect(order, mode=PaymentMode.PREPAID, amount=order.total, actor=volunteer, now=now)
                    e["paid"] += order.total
                orders.append(order)
            for order in rng.sample(orders, 4):
                cancel_order(order, actor=worker, now=now + datetime.timedelta(hours=2))
                e["cancelled"] += order.total
            purchase = aggregate(window, actor=worker, now=window.cutoff_at + datetime.timedelta(minutes=5))
            ordered_units = {line.offer_id: line.quantity for line in purchase.lines.all()}
            short_offer = rng.choice(offers)
            if short_offer.pk in ordered_units:
                # The supplier delivers two thirds of one item.
                shortfall_allocate(purchase, {short_offer.pk: ordered_units[short_offer.pk] * 2 // 3}, actor=worker)
            packages = list(Package.objects.filter(window=window).select_related("order").order_by("pk"))
            for package in packages:
                missing = sum((line.price * line.short for line in package.order.lines.all()), ZERO)
                e["short"] += missing
                assert package.amount == package.order.total - missing
            for package in rng.sample(packages, 3):
                Package.objects.filter(pk=package.pk).update(contactless=True)

            # Delivery: one run per drop-off point; most packages handed over, three undelivered.
            for point in points:
                if Package.objects.filter(window=window, drop_off=point).exists():
                    delivery.run_create(
                        window=window,
                        drop_off=point,
                        volunteer=worker if point.compound_id == tree.p2.pk else lead,
                        actor=worker,
                    )
            packages = list(Package.objects.filter(window=window).select_related("run").order_by("pk"))
            troubled = rng.sample(packages, 3)
            for package in packages:
                carrier = package.run.volunteer if package.run else volunteer
                if package in troubled:
                    delivery.package_undelivered(package, reason="家中无人", actor=carrier)
                else:
                    delivery.handover(package.handover_code, actor=carrier)
            returned, redelivered, scanned = troubled
            delivery.package_resolve(returned, resolution="returned", note="多次联系不上", actor=worker)
            delivery.package_resolve(redelivered, resolution="redelivered", actor=worker)
            delivery.handover(scanned.handover_code, actor=scanned.run.volunteer if scanned.run else volunteer)
            window.refresh_from_db()
            assert window.status == WindowStatus.DELIVERED

            # Money after delivery: on-delivery households pay, credit households go on the ledger,
            # prepaid money beyond what was delivered goes back.
            for package in Package.objects.filter(window=window).select_related("order"):
                order = package.order
                if package.status == PackageStatus.RETURNED:
                    e["returned"] += package.amount
                else:
                    assert package.status in (PackageStatus.HANDED_OVER, PackageStatus.LEFT_AT_DOOR)
                    e["delivered"] += package.amount
                mode = order.payment_mode
                if package.status == PackageStatus.RETURNED:
                    if mode == PaymentMode.PREPAID:
                        money.payment_refund(order, amount=order.total, actor=volunteer)
                        e["paid"] -= order.total
                    continue
                if mode != PaymentMode.PREPAID and package.amount == 0:
                    continue  # everything in the bag was short: nothing to pay
                if mode == PaymentMode.ON_DELIVERY:
                    money.payment_collect(order, mode=mode, amount=package.amount, actor=volunteer)
                    e["paid"] += package.amount
                elif mode == PaymentMode.CREDIT:
                    money.credit_record(order, actor=worker)
                    e["credit"] += package.amount
                elif order.total > package.amount:
                    money.payment_refund(order, amount=order.total - package.amount, actor=volunteer)
                    e["paid"] -= order.total - package.amount
            for order in window.orders.filter(status="cancelled", payment_mode=PaymentMode.PREPAID):
                money.payment_refund(order, amount=order.total, actor=volunteer)
                e["paid"] -= order.total
            money.supplier_settle(window, amount=e["delivered"], actor=worker)

    for window in windows:
        e = expected[window.pk]
        rec = money.reconciliation(window)
        t = rec.totals
        assert rec.balanced, window
        assert t.closed
        assert (t.ordered, t.cancelled, t.short, t.delivered, t.returned) == (
            e["ordered"],
            e["cancelled"],
            e["short"],
            e["delivered"],
            e["returned"],
        )
        assert (t.paid, t.credit) == (e["paid"], e["credit"])
        assert t.ordered == t.delivered + t.cancelled + t.short + t.returned
        assert t.delivered == t.paid + t.credit
        assert t.short > 0 and t.cancelled > 0 and t.credit > 0 and t.returned > 0
        assert sum((row.amounts.delivered for row in rec.households), ZERO) == t.delivered
        assert rec.suppliers[0].owed == 0
        window.refresh_from_db()
        assert window.status == WindowStatus.SETTLED

    # The workbook holds the same numbers.
    book = CalamineWorkbook.from_filelike(io.BytesIO(money.reconciliation_xlsx(windows)))
    assert book.sheet_names == ["汇总", "分户", "商超结算"]
    summary = book.get_sheet_by_name("汇总").to_python()
    header = summary[0]
    keys = [key for key, _label in money.amount_columns()]
    assert header[3 : 3 + len(keys)] == [label for _key, label in money.amount_columns()]
    assert len(summary) == 1 + len(windows)
    for row, window in zip(summary[1:], windows, strict=True):
        assert row[0] == window.pk
        totals = money.reconciliation(window).totals
        assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in row[3 : 3 + len(keys)]] == [
            getattr(totals, key) for key in keys
        ]
        assert row[-1] == "是"
    per_household = book.get_sheet_by_name("分户").to_python()[1:]
    for window in windows:
        rows = [r for r in per_household if r[0] == window.pk]
        delivered = sum((Decimal(str(r[3 + keys.index("delivered")])) for r in rows), Decimal(0))
        assert delivered.quantize(Decimal("0.01")) == expected[window.pk]["delivered"]
