"""Payments, refunds, community credit and supplier settlement (S7), and their refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from linli.lib.testing import Personas
from linli.supplies.choices import PaymentMode, WindowStatus
from linli.supplies.models import CreditEntry, Payment
from linli.supplies.services import money
from linli.supplies.services.delivery import handover, package_resolve, package_undelivered, run_create
from linli.supplies.tests.test_delivery_fixtures import aggregated

pytestmark = pytest.mark.django_db


def test_prepaid_on_delivery_and_credit_make_the_window_reconcile(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102", "201"))
    worker = personas.grid_worker
    total = d.orders["101"].total
    assert total == Decimal("2") * Decimal("10.50") + Decimal("11.50")
    money.payment_collect(d.orders["101"], mode=PaymentMode.PREPAID, amount=total, actor=worker)
    with pytest.raises(ValidationError):  # nothing left to pay
        money.payment_collect(d.orders["101"], mode=PaymentMode.PREPAID, amount="0.01", actor=worker)
    with pytest.raises(ValidationError):  # on delivery means after delivery
        money.payment_collect(d.orders["102"], mode=PaymentMode.ON_DELIVERY, amount=total, actor=worker)
    with pytest.raises(ValidationError):
        money.payment_collect(d.orders["102"], mode=PaymentMode.CREDIT, amount=total, actor=worker)
    with pytest.raises(ValidationError):
        money.payment_collect(d.orders["102"], mode=PaymentMode.PREPAID, amount="-3", actor=worker)
    with pytest.raises(ValidationError):
        money.credit_record(d.orders["201"], actor=worker)  # not delivered yet

    rec = money.reconciliation(d.window)
    assert rec.balanced and rec.totals.pending == 3 * total and rec.totals.held == total

    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=worker)
    for key in ("101", "102", "201"):
        handover(d.packages[key].handover_code, actor=personas.building_lead)
    money.payment_collect(d.orders["102"], mode=PaymentMode.ON_DELIVERY, amount=total, actor=worker)
    entry = money.credit_record(d.orders["201"], actor=worker)
    assert entry.amount == total
    with pytest.raises(ValidationError):
        money.credit_record(d.orders["201"], actor=worker)  # nothing owed any more

    rec = money.reconciliation(d.window)
    assert rec.balanced and rec.totals.closed
    assert rec.totals.delivered == 3 * total == rec.totals.paid + rec.totals.credit
    assert rec.totals.credit_unsettled == total
    assert [row.amounts.credit for row in rec.households] == [Decimal("0"), Decimal("0"), total]

    assert money.credit_settle([entry], actor=personas.community_worker) == 1
    with pytest.raises(ValidationError):
        money.credit_settle([entry], actor=personas.community_worker)
    assert money.reconciliation(d.window).totals.credit_unsettled == 0

    with pytest.raises(ValidationError):
        money.supplier_settle(d.window, amount=3 * total + 1, actor=personas.community_worker)
    settlement = money.supplier_settle(d.window, amount=3 * total, actor=personas.community_worker, note="现金")
    assert Payment.objects.filter(settlement=settlement).count() == 2
    d.window.refresh_from_db()
    assert d.window.status == WindowStatus.SETTLED
    assert money.reconciliation(d.window).suppliers[0].owed == 0


def test_returned_package_and_cancelled_prepaid_are_refunded(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102"))
    worker = personas.grid_worker
    total = d.orders["101"].total
    money.payment_collect(d.orders["101"], mode=PaymentMode.PREPAID, amount=total, actor=worker)
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=worker)
    package_undelivered(d.packages["101"], reason="拒收", actor=personas.building_lead)
    rec = money.reconciliation(d.window)
    assert rec.totals.pending == 2 * total and rec.totals.held == total
    package_resolve(d.packages["101"], resolution="returned", actor=worker)
    with pytest.raises(ValidationError):
        money.payment_refund(d.orders["101"], amount=total + 1, actor=worker)
    refund = money.payment_refund(d.orders["101"], amount=total, actor=worker)
    assert refund.amount == -total
    handover(d.packages["102"].handover_code, actor=personas.building_lead)
    money.payment_collect(d.orders["102"], mode=PaymentMode.ON_DELIVERY, amount=total, actor=worker)
    rec = money.reconciliation(d.window)
    assert rec.totals.returned == total and rec.totals.paid == total and rec.totals.closed


def test_grid_workers_reconciliation_covers_their_grid_only(personas: Personas) -> None:
    d = aggregated(personas, keys=("101",))
    money.payment_collect(d.orders["101"], mode=PaymentMode.PREPAID, amount="5", actor=personas.grid_worker)
    assert money.reconciliation(d.window, user=personas.grid_worker).households
    outsider = money.reconciliation(d.window, user=personas.outsider)
    assert outsider.households == [] and outsider.totals.paid == 0
    assert not CreditEntry.objects.exists()
