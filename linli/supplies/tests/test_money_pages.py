"""The money pages: a window's reconciliation, collecting, credit, refunds, settling, and the workbook."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from linli.lib.testing import Personas
from linli.supplies.choices import PaymentMode
from linli.supplies.models import CreditEntry, Order, Package, Payment, Supplier, SupplierSettlement
from linli.supplies.services.aggregation import aggregate
from linli.supplies.services.delivery import handover, run_create
from linli.supplies.services.money import credit_record
from linli.supplies.services.ordering import place_order
from linli.supplies.testing import open_window
from linli.supplies.tests.test_delivery_fixtures import T0, aggregated

pytestmark = pytest.mark.django_db


def as_(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_money_pages_collect_credit_settle_and_download(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102", "201"))
    Order.objects.filter(pk=d.orders["101"].pk).update(payment_mode=PaymentMode.PREPAID)
    Order.objects.filter(pk=d.orders["201"].pk).update(payment_mode=PaymentMode.CREDIT)
    total = d.orders["101"].total
    grid = as_(personas.grid_worker)
    community = as_(personas.community_worker)
    url = reverse("supplies:money_window", args=[d.window.pk])
    assert as_(personas.building_lead).get(url).status_code == 403
    assert as_(personas.outsider).get(url).status_code == 404
    assert url in grid.get(reverse("supplies:money_index")).content.decode()

    page = grid.get(url).content.decode()
    assert 'id="to-collect"' in page and "账目平衡" in page
    pay = reverse("supplies:money_pay", args=[d.orders["101"].pk])
    assert as_(personas.outsider).post(pay, {"mode": "prepaid", "amount": "1"}).status_code == 404
    grid.post(pay, {"mode": "prepaid", "amount": "9999"})  # refused with a message, nothing written
    assert not Payment.objects.exists()
    grid.post(pay, {"mode": "prepaid", "amount": str(total)})
    assert Payment.objects.get().amount == total

    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    for key in ("101", "102", "201"):
        handover(d.packages[key].handover_code, actor=personas.building_lead)
    page = grid.get(url).content.decode()
    assert 'id="owing"' in page and reverse("supplies:money_credit", args=[d.orders["201"].pk]) in page
    grid.post(reverse("supplies:money_pay", args=[d.orders["102"].pk]), {"mode": "on_delivery", "amount": str(total)})
    grid.post(reverse("supplies:money_credit", args=[d.orders["201"].pk]))
    entry = CreditEntry.objects.get()
    assert entry.amount == total

    settle_credit = reverse("supplies:money_credit_settle", args=[d.window.pk])
    grid.post(settle_credit, {"entry": [entry.pk]})  # a grid worker may not settle the ledger
    entry.refresh_from_db()
    assert entry.settled_at is None
    community.post(settle_credit, {"entry": [entry.pk]})
    entry.refresh_from_db()
    assert entry.settled_at is not None

    settle = reverse("supplies:money_settle", args=[d.window.pk])
    assert grid.post(settle, {"amount": "1"}).status_code == 403
    community.post(settle, {"amount": str(3 * total), "note": "转账"})
    assert SupplierSettlement.objects.get().amount == 3 * total
    page = community.get(url).content.decode()
    assert "已结清" in page

    xlsx = community.get(reverse("supplies:money_xlsx", args=[d.window.pk]))
    assert xlsx.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    summary = book.get_sheet_by_name("汇总").to_python()
    assert Decimal(str(summary[1][3 + 3])).quantize(Decimal("0.01")) == 3 * total  # delivered
    households = book.get_sheet_by_name("分户").to_python()
    assert len(households) == 4
    # The grid worker's workbook of every listed window holds only their grid's households.
    everything = grid.get(reverse("supplies:money_xlsx_all"))
    rows = CalamineWorkbook.from_filelike(io.BytesIO(everything.content)).get_sheet_by_name("分户").to_python()
    assert len(rows) == 4
    outsider = as_(personas.outsider).get(reverse("supplies:money_xlsx_all"))
    assert len(CalamineWorkbook.from_filelike(io.BytesIO(outsider.content)).get_sheet_by_name("汇总").to_python()) == 1
    assert as_(personas.outsider).get(reverse("supplies:money_xlsx", args=[d.window.pk])).status_code == 404


def test_money_page_and_workbook_tell_the_same_room_of_two_compounds_apart(personas: Personas) -> None:
    # given: 阳光小区 1号楼1单元101 (prepaid, not yet collected) and 和谐家园 1号楼1单元101 (community
    # credit, delivered and put on the ledger) ordered in the same window of the community
    tree = personas.tree
    window = open_window(Supplier.objects.get(name="平价超市"), tree.c1, now=T0)
    offer = window.offers.order_by("pk").first()
    assert offer is not None
    place_order(
        window=window,
        household=tree.households[f"{tree.b1.code}/1单元/101"],
        lines=[(offer.pk, 1)],
        actor=personas.community_worker,
        payment_mode=PaymentMode.PREPAID,
        now=T0,
    )
    harmony = place_order(
        window=window,
        household=tree.households[f"{tree.b3.code}/1单元/101"],
        lines=[(offer.pk, 1)],
        actor=personas.community_worker,
        payment_mode=PaymentMode.CREDIT,
        now=T0,
    )
    aggregate(window, actor=personas.community_worker, now=window.cutoff_at + datetime.timedelta(hours=1))
    run_create(
        window=window,
        drop_off=None,
        compound=tree.p2,
        volunteer=personas.community_worker,
        actor=personas.community_worker,
    )
    handover(Package.objects.get(order=harmony).handover_code, actor=personas.community_worker)
    credit_record(harmony, actor=personas.community_worker)

    # when: the community worker opens the window's money page and its workbook
    community = as_(personas.community_worker)
    page = community.get(reverse("supplies:money_window", args=[window.pk])).content.decode()
    xlsx = community.get(reverse("supplies:money_xlsx", args=[window.pk]))

    # then: each household is named with its compound, as on its label, not only "1号楼1单元101" twice
    assert "阳光小区 1号楼1单元101" in page  # to collect in advance
    assert "和谐家园 1号楼1单元101" in page  # on the credit ledger
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_name("分户").to_python()[1:]
    assert sorted(row[1] for row in rows) == ["和谐家园 1号楼1单元101", "阳光小区 1号楼1单元101"]
