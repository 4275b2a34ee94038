"""Suppliers, catalogues, windows, schedules and offers (S1, S2) through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from linli.accounts.choices import Role
from linli.audit.models import AuditEvent
from linli.lib.testing import Personas, make_user
from linli.registry import services as registry
from linli.supplies.choices import Category, WindowStatus
from linli.supplies.models import Offer, OfferBucket, OrderWindow, Supplier
from linli.supplies.services import catalogue
from linli.supplies.testing import make_item, open_window

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 9) -> datetime.datetime:
    """A moment in November 2026 (2 November is a Monday)."""
    return timezone.make_aware(datetime.datetime(2026, 11, day, hour, 0))


def shop(personas: Personas) -> Supplier:
    return Supplier.objects.get(name="平价超市")


def test_supplier_is_created_for_communities_of_its_street_and_audited(personas: Personas) -> None:
    tree = personas.tree
    supplier = catalogue.supplier_create(
        street=tree.street,
        name=" 惠民菜场 ",
        communities=[tree.c1, tree.c2],
        actor=personas.street_command,
        contact_phone="13900000009",
    )
    assert supplier.name == "惠民菜场"
    assert set(supplier.communities.values_list("pk", flat=True)) == {tree.c1.pk, tree.c2.pk}
    assert AuditEvent.objects.filter(model="supplies.Supplier", object_pk=str(supplier.pk)).exists()
    with pytest.raises(ValidationError, match="同名"):
        catalogue.supplier_create(street=tree.street, name="惠民菜场", actor=personas.street_command)
    with pytest.raises(ValidationError):
        catalogue.supplier_create(street=tree.street, name="坏", actor=None, unknown_field=1)
    updated = catalogue.supplier_update(supplier, communities=[tree.c2], address="某路 1 号")
    assert list(updated.communities.values_list("pk", flat=True)) == [tree.c2.pk]
    assert updated.address == "某路 1 号"


def test_only_a_supplier_account_without_a_place_in_the_tree_becomes_staff(personas: Personas) -> None:
    supplier = catalogue.supplier_create(street=personas.tree.street, name="惠民菜场", communities=[personas.tree.c2])
    clerk = make_user("clerk", Role.SUPPLIER, None)
    catalogue.supplier_staff_link(supplier, clerk, actor=personas.street_command)
    clerk.refresh_from_db()
    assert clerk.supplier_id == supplier.pk and clerk.supplier_name == "惠民菜场"
    with pytest.raises(ValidationError, match="保供商超"):
        catalogue.supplier_staff_link(supplier, personas.grid_worker)
    elsewhere = registry.street_create(code="310115002", name="别的街道")
    far = catalogue.supplier_create(street=elsewhere, name="外街超市")
    with pytest.raises(ValidationError, match="其他街道"):
        catalogue.supplier_staff_link(far, clerk)
    catalogue.supplier_staff_unlink(supplier, clerk)
    clerk.refresh_from_db()
    assert clerk.supplier_id is None
    with pytest.raises(ValidationError):
        catalogue.supplier_staff_unlink(supplier, clerk)


def test_items_validate_price_and_name_and_bundles_hold_only_own_single_items(personas: Personas) -> None:
    supplier = shop(personas)
    cabbage = catalogue.item_create(
        supplier=supplier, name="白菜", category=Category.VEGETABLES, price="3.5", unit="斤"
    )
    carrot = catalogue.item_create(supplier=supplier, name="胡萝卜", category=Category.VEGETABLES, price=2)
    assert cabbage.price == Decimal("3.50")
    with pytest.raises(ValidationError, match="价格"):
        catalogue.item_create(supplier=supplier, name="坏价", category=Category.EGGS, price="-1")
    with pytest.raises(ValidationError, match="同名"):
        catalogue.item_create(supplier=supplier, name="白菜", category=Category.VEGETABLES, price=1)
    with pytest.raises(ValidationError):
        catalogue.item_create(supplier=supplier, name="怪类", category="nonsense", price=1)
    box = catalogue.item_create(
        supplier=supplier, name="标准蔬菜箱", category=Category.VEGETABLES, price="30", is_bundle=True
    )
    parts = catalogue.bundle_set_parts(box, [(cabbage, "2"), (carrot, Decimal("1.5"))])
    assert [(p.part_id, p.quantity) for p in parts] == [(cabbage.pk, Decimal("2.00")), (carrot.pk, Decimal("1.50"))]
    assert box.parts.count() == 2
    other = catalogue.supplier_create(street=personas.tree.street, name="别家")
    foreign = catalogue.item_create(supplier=other, name="外家白菜", category=Category.VEGETABLES, price=1)
    with pytest.raises(ValidationError, match="本商超"):
        catalogue.bundle_set_parts(box, [(foreign, 1)])
    with pytest.raises(ValidationError, match="套餐"):
        catalogue.bundle_set_parts(box, [(box, 1)])
    with pytest.raises(ValidationError, match="大于 0"):
        catalogue.bundle_set_parts(box, [(cabbage, 0)])
    with pytest.raises(ValidationError, match="单品"):
        catalogue.item_update(box, is_bundle=False)
    assert box.parts.count() == 2  # a refused change leaves the parts
    catalogue.item_update(cabbage, price="4", per_household_limit=2)
    cabbage.refresh_from_db()
    assert cabbage.price == Decimal("4.00") and cabbage.per_household_limit == 2


def test_windows_fan_out_to_every_served_community_and_refuse_others(personas: Personas) -> None:
    tree = personas.tree
    supplier = catalogue.supplier_create(street=tree.street, name="惠民菜场", communities=[tree.c1, tree.c2])
    windows = catalogue.windows_create_for_street(
        supplier=supplier, opens_at=at(2, 8), cutoff_at=at(2, 20), delivery_on=datetime.date(2026, 11, 3), now=at(1)
    )
    assert sorted(w.community_id for w in windows) == sorted([tree.c1.pk, tree.c2.pk])
    assert all(w.status == WindowStatus.DRAFT for w in windows)
    only_c1 = shop(personas)  # serves C1 only
    with pytest.raises(ValidationError, match="不服务"):
        catalogue.windows_create_for_street(
            supplier=only_c1,
            communities=[tree.c2],
            opens_at=at(2, 8),
            cutoff_at=at(2, 20),
            delivery_on=datetime.date(2026, 11, 3),
            now=at(1),
        )
    with pytest.raises(ValidationError, match="截单"):
        catalogue.windows_create_for_street(
            supplier=only_c1, opens_at=at(2, 20), cutoff_at=at(2, 8), delivery_on=datetime.date(2026, 11, 3), now=at(1)
        )
    assert OrderWindow.objects.filter(supplier=only_c1).count() == 0


def test_schedule_makes_the_coming_monday_and_friday_windows_once(personas: Personas) -> None:
    supplier = shop(personas)
    schedule = catalogue.schedule_create(
        supplier=supplier, community=personas.tree.c1, order_weekdays=[5, 1], actor=personas.community_worker
    )
    assert schedule.order_weekdays == [1, 5]
    now = at(2, 21)  # Monday 2 November after 20:00: that day's window has closed already
    made = catalogue.schedule_generate(schedule, now=now, days=14)
    opens = [timezone.localtime(w.opens_at) for w in made]
    assert [(o.day, o.hour) for o in opens] == [(6, 8), (9, 8), (13, 8)]
    assert [w.delivery_on.day for w in made] == [7, 10, 14]
    assert made[0].title == "11-06 订购"  # the pages name the supplier beside it
    assert all(timezone.localtime(w.cutoff_at).hour == 20 for w in made)
    assert catalogue.schedule_generate(schedule, now=now, days=14) == []  # idempotent
    assert OrderWindow.objects.filter(schedule=schedule).count() == 3
    supplier.communities.clear()
    with pytest.raises(ValidationError, match="不再服务"):
        catalogue.schedule_generate(schedule, now=at(9, 21), days=14)
    supplier.communities.add(personas.tree.c1)
    with pytest.raises(ValidationError, match="不服务"):
        catalogue.schedule_create(supplier=supplier, community=personas.tree.c2, order_weekdays=[1])
    with pytest.raises(ValidationError, match="下单日"):
        catalogue.schedule_create(supplier=supplier, community=personas.tree.c1, order_weekdays=[8])
    with pytest.raises(ValidationError, match="截单"):
        catalogue.schedule_create(
            supplier=supplier,
            community=personas.tree.c1,
            order_weekdays=[1],
            opens_time=datetime.time(20),
            cutoff_time=datetime.time(8),
        )


def test_generated_windows_copy_the_offers_of_the_schedules_previous_window(personas: Personas) -> None:
    supplier = shop(personas)
    eggs = make_item(supplier, "鸡蛋", price="12.00")
    schedule = catalogue.schedule_create(supplier=supplier, community=personas.tree.c1, order_weekdays=[1])
    first = catalogue.schedule_generate(schedule, now=at(2, 7), days=1)[0]
    catalogue.offer_add(first, eggs, 80, reserved=8, buckets=4)
    catalogue.item_update(eggs, price="13")
    second = catalogue.schedule_generate(schedule, now=at(2, 7), days=8)
    assert len(second) == 1
    offer = second[0].offers.get()
    assert (offer.quantity, offer.reserved, offer.buckets, offer.price) == (80, 8, 4, Decimal("13.00"))
    assert OfferBucket.objects.filter(offer=offer).aggregate(n=Sum("remaining"))["n"] == 80


def test_raising_an_offer_adds_to_a_bucket_and_lowering_takes_only_unsold_units(personas: Personas) -> None:
    window = open_window(shop(personas), personas.tree.c1, items={"鸡蛋": 10}, buckets=2, reserved=2)
    offer = Offer.objects.get(window=window)
    offer = catalogue.offer_update(offer, quantity=15, actor=personas.community_worker)
    assert offer.quantity == 15
    assert catalogue.remaining_by_offer([offer]) == {offer.pk: (13, 2)}
    # Residents buy 9 general units: 4 unsold general units are left.
    left = 9
    for bucket in OfferBucket.objects.filter(offer=offer, reserved=False):
        take = min(left, bucket.remaining)
        OfferBucket.objects.filter(pk=bucket.pk).update(remaining=bucket.remaining - take)
        left -= take
    with pytest.raises(ValidationError, match="最多还能减少 4"):
        catalogue.offer_update(offer, quantity=10)
    offer.refresh_from_db()
    assert offer.quantity == 15 and catalogue.remaining_by_offer([offer]) == {offer.pk: (4, 2)}
    offer = catalogue.offer_update(offer, quantity=11)
    assert offer.quantity == 11 and catalogue.remaining_by_offer([offer]) == {offer.pk: (0, 2)}
    with pytest.raises(ValidationError, match="预留"):
        catalogue.offer_update(offer, quantity=1)
    with pytest.raises(ValidationError, match="已发布"):
        catalogue.offer_update(offer, price="20")


def test_publishing_needs_offers_and_a_draft(personas: Personas) -> None:
    supplier = shop(personas)
    window = catalogue.windows_create_for_street(
        supplier=supplier, opens_at=at(2, 8), cutoff_at=at(2, 20), delivery_on=datetime.date(2026, 11, 3), now=at(1)
    )[0]
    with pytest.raises(ValidationError, match="还没有上架"):
        catalogue.window_publish(window)
    offer = catalogue.offer_add(window, make_item(supplier, "大米", category=Category.RICE), 50)
    catalogue.offer_update(offer, price="55.5", per_household_limit=1)
    offer.refresh_from_db()
    assert offer.price == Decimal("55.50") and offer.per_household_limit == 1
    # A cut-off already past (a mistyped date): published, nobody could ever order in it.
    with pytest.raises(ValidationError, match="截单时间（2026-11-02 20:00）已过，不能发布"):
        catalogue.window_publish(window, actor=personas.community_worker, now=at(2, 20))
    assert OrderWindow.objects.get(pk=window.pk).status == WindowStatus.DRAFT
    catalogue.window_publish(window, actor=personas.community_worker, now=at(2, 9))
    assert window.status == WindowStatus.PUBLISHED
    with pytest.raises(ValidationError, match="草稿"):
        catalogue.window_publish(window)
    with pytest.raises(ValidationError, match="草稿"):
        catalogue.offer_remove(offer)


def test_generate_windows_command_makes_every_schedules_windows_once(personas: Personas) -> None:
    """``manage.py generate_windows`` (run daily by a timer): every active schedule's coming windows, once;
    a schedule whose supplier no longer serves its community is reported and skipped."""
    import io

    from django.core.management import call_command

    supplier = shop(personas)
    every_day = catalogue.schedule_create(
        supplier=supplier,
        community=personas.tree.c1,
        order_weekdays=[1, 2, 3, 4, 5, 6, 7],
        opens_time=datetime.time(0, 0),
        cutoff_time=datetime.time(23, 59),
    )
    stopped = catalogue.schedule_create(supplier=supplier, community=personas.tree.c1, order_weekdays=[1])
    catalogue.schedule_update(stopped, is_active=False)
    now = timezone.localtime()
    expected = sum(
        1
        for offset in range(3)
        if timezone.make_aware(
            datetime.datetime.combine(now.date() + datetime.timedelta(days=offset), datetime.time(23, 59))
        )
        > now
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_windows", "--days", "3", stdout=out, stderr=err)
    assert OrderWindow.objects.filter(schedule=every_day).count() == expected >= 2
    assert not OrderWindow.objects.filter(schedule=stopped).exists()
    assert f"生成 {expected} 个窗口" in out.getvalue() and err.getvalue() == ""
    out = io.StringIO()
    call_command("generate_windows", "--days", "3", stdout=out, stderr=err)
    assert "生成 0 个窗口" in out.getvalue()
    assert OrderWindow.objects.filter(schedule=every_day).count() == expected
    supplier.communities.clear()
    err = io.StringIO()
    call_command("generate_windows", stdout=io.StringIO(), stderr=err)
    assert "不再服务" in err.getvalue()


def test_a_window_whose_cut_off_has_passed_is_refused_at_creation_and_on_edit(personas: Personas) -> None:
    """A window closed before it is made could never be published: a dead draft. It is refused, with
    the reason, and nothing is saved; moving a draft's cut-off into the past is refused the same way."""
    supplier = shop(personas)
    # given: Monday 2 November, 21:00 — that evening's 08:00–20:00 window has already closed
    now = at(2, 21)
    # when / then: wholly in the past, or opened in the past and closed an hour ago
    for opens in (at(1, 8), at(2, 8)):
        with pytest.raises(ValidationError, match=r"截单时间（2026-11-02 20:00）已过，窗口将无法发布") as refused:
            catalogue.windows_create_for_street(
                supplier=supplier, opens_at=opens, cutoff_at=at(2, 20), delivery_on=datetime.date(2026, 11, 3), now=now
            )
        assert list(refused.value.message_dict) == ["cutoff_at"]  # the form shows it under 截单时间
    assert not OrderWindow.objects.filter(supplier=supplier).exists()
    # Opened already but closing later tonight is fine: it opens for orders once published.
    window = catalogue.windows_create_for_street(
        supplier=supplier, opens_at=at(2, 8), cutoff_at=at(2, 23), delivery_on=datetime.date(2026, 11, 3), now=now
    )[0]
    with pytest.raises(ValidationError, match="已过"):
        catalogue.window_update(window, cutoff_at=at(2, 20), now=now)
    window.refresh_from_db()
    assert window.cutoff_at == at(2, 23)
    assert catalogue.window_update(window, title="周一订购", now=at(3, 9)).title == "周一订购"  # a title only
