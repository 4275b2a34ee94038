"""Drop-off points, runs, hand-overs (online and synced), undelivered packages and confirmation (S6)."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.lib.testing import Personas, make_user
from linli.supplies.choices import PackageStatus, WindowStatus
from linli.supplies.models import DeliveryRun, IdempotencyKey, Package
from linli.supplies.services import delivery
from linli.supplies.services.delivery import SyncItem, drop_off_create, drop_off_for, handover_scan, run_create
from linli.supplies.tests.test_delivery_fixtures import T0, aggregated, out_with_building_lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Door photos go to a temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_drop_off_for_prefers_the_point_listing_the_building(personas: Personas) -> None:
    tree = personas.tree
    general = drop_off_create(compound=tree.p1, name="东门", actor=personas.community_worker)
    b2_point = drop_off_create(compound=tree.p1, name="2号楼下", buildings=[tree.b2], actor=personas.community_worker)
    b1_home = tree.households[f"{tree.b1.code}/1单元/101"]
    b2_home = tree.households[f"{tree.b2.code}/1单元/101"]
    assert drop_off_for(b1_home) == general
    assert drop_off_for(b2_home) == b2_point
    with pytest.raises(ValidationError):
        drop_off_create(compound=tree.p1, name="东门", actor=personas.community_worker)
    with pytest.raises(ValidationError):
        drop_off_create(compound=tree.p2, name="别处", buildings=[tree.b1], actor=personas.community_worker)


def test_run_takes_the_points_packages_and_a_volunteer_outside_the_compound_is_refused(personas: Personas) -> None:
    d = aggregated(personas)
    assert d.window.status == WindowStatus.AGGREGATED
    assert {p.drop_off_id for p in d.packages.values()} == {d.point.pk}
    p2_lead = make_user("p2lead", "building_lead", personas.tree.b3)
    with pytest.raises(ValidationError):
        run_create(window=d.window, drop_off=d.point, volunteer=p2_lead, actor=personas.community_worker)
    with pytest.raises(ValidationError):
        run_create(window=d.window, drop_off=d.point, volunteer=personas.resident, actor=personas.community_worker)
    run = run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    assert set(run.packages.values_list("status", flat=True)) == {PackageStatus.OUT}
    assert run.packages.count() == 4
    with pytest.raises(ValidationError):  # nothing left for a second run
        run_create(window=d.window, drop_off=d.point, volunteer=personas.grid_worker, actor=personas.grid_worker)


def test_handover_is_idempotent_and_finishes_run_and_window(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102"))
    run = run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    code = d.packages["101"].handover_code
    first = handover_scan(f"LLP:{code}", actor=personas.building_lead, now=T0)
    assert not first.duplicate and first.package.status == PackageStatus.HANDED_OVER
    assert first.package.handed_over_by == personas.building_lead
    again = handover_scan(code.lower(), actor=personas.building_lead, now=T0 + datetime.timedelta(hours=1))
    assert again.duplicate and "已交付" in again.message
    assert Package.objects.get(pk=first.package.pk).handed_over_at == T0
    run.refresh_from_db()
    assert run.finished_at is None
    handover_scan(d.packages["102"].handover_code, actor=personas.building_lead)
    run.refresh_from_db()
    d.window.refresh_from_db()
    assert run.finished_at is not None
    assert d.window.status == WindowStatus.DELIVERED


def test_handover_refusals(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "B2-101"))
    run_create(
        window=d.window,
        drop_off=d.point,
        volunteer=personas.grid_worker,
        actor=personas.grid_worker,
        packages=[d.packages["101"]],
    )
    with pytest.raises(ValidationError) as missing:
        handover_scan("LLP:NOSUCHCODE", actor=personas.building_lead)
    assert missing.value.code == "not_found"
    # Visible to the building lead but on the grid worker's run.
    with pytest.raises(ValidationError) as other:
        handover_scan(d.packages["101"].handover_code, actor=personas.building_lead)
    assert other.value.code == "other_run"
    # Another community's worker cannot tell the package exists.
    with pytest.raises(ValidationError) as outside:
        handover_scan(d.packages["101"].handover_code, actor=personas.outsider)
    assert outside.value.code == "not_found"
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.OUT
    # Delivery staff of the grid may hand over a package not on any run.
    assert handover_scan(d.packages["B2-101"].handover_code, actor=personas.grid_worker).package.status == (
        PackageStatus.HANDED_OVER
    )


def test_contactless_package_is_left_at_door_with_photo_and_confirmed_by_the_household(personas: Personas) -> None:
    d = aggregated(personas, keys=("101",))
    Package.objects.filter(pk=d.packages["101"].pk).update(contactless=True)
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    code = d.packages["101"].handover_code
    with pytest.raises(ValidationError) as in_person:
        handover_scan(code, actor=personas.building_lead, contactless=False)
    assert in_person.value.code == "contactless"
    photo = SimpleUploadedFile("door.jpg", b"\xff\xd8\xff\xe0fakejpeg", content_type="image/jpeg")
    left = handover_scan(code, actor=personas.building_lead, photo=photo).package
    assert left.status == PackageStatus.LEFT_AT_DOOR and left.photo.name
    with pytest.raises(ValidationError):
        delivery.package_confirm(left, actor=personas.grid_worker)
    confirmed = delivery.package_confirm(left, actor=personas.resident)
    assert confirmed.status == PackageStatus.CONFIRMED and confirmed.confirmed_at is not None
    assert delivery.package_confirm(left, actor=personas.resident).status == PackageStatus.CONFIRMED


def test_undelivered_then_resolved(personas: Personas) -> None:
    d = out_with_building_lead(personas, keys=("101", "102"))
    with pytest.raises(ValidationError):
        delivery.package_undelivered(d.packages["101"], reason=" ", actor=personas.building_lead)
    delivery.package_undelivered(d.packages["101"], reason="家中无人", actor=personas.building_lead)
    delivery.package_undelivered(d.packages["102"], reason="地址错误", actor=personas.building_lead)
    assert list(delivery.open_problems(d.window).values_list("problem", flat=True)) == ["家中无人", "地址错误"]
    d.window.refresh_from_db()
    assert d.window.status == WindowStatus.AGGREGATED  # problems keep the window open
    with pytest.raises(ValidationError):
        delivery.package_resolve(d.packages["101"], resolution="lost", actor=personas.grid_worker)
    # Scanning an undelivered package again delivers it and closes its problem.
    redelivered = handover_scan(d.packages["101"].handover_code, actor=personas.building_lead).package
    assert redelivered.status == PackageStatus.HANDED_OVER and redelivered.resolved_at is not None
    returned = delivery.package_resolve(
        d.packages["102"], resolution="returned", note="退回商超", actor=personas.grid_worker
    )
    assert returned.status == PackageStatus.RETURNED and "退回商超" in returned.resolution
    with pytest.raises(ValidationError):
        handover_scan(d.packages["102"].handover_code, actor=personas.building_lead)
    assert not delivery.open_problems(d.window).exists()
    d.window.refresh_from_db()
    assert d.window.status == WindowStatus.DELIVERED


def test_sync_answers_each_uuid_once(personas: Personas) -> None:
    d = out_with_building_lead(personas, keys=("101", "102"))
    u1, u2, u3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    device_time = T0 + datetime.timedelta(days=1, hours=1)
    items = [
        SyncItem(u1, f"LLP:{d.packages['101'].handover_code}", device_time),
        SyncItem(u2, d.packages["101"].handover_code, device_time),  # the same package scanned twice offline
        SyncItem(u3, "BADCODE", device_time),
    ]
    now = T0 + datetime.timedelta(days=1, hours=3)
    answers = delivery.handovers_sync(items, actor=personas.building_lead, now=now)
    assert [a["status"] for a in answers] == ["stored", "already", "refused"]
    package = Package.objects.get(pk=d.packages["101"].pk)
    assert package.handed_over_at == device_time  # when it happened on the phone, not when synced
    again = delivery.handovers_sync(items[:1], actor=personas.building_lead, now=now)
    assert again[0]["status"] == "stored" and again[0]["duplicate"] is True
    assert IdempotencyKey.objects.filter(user=personas.building_lead, key__startswith="handover:").count() == 3
    # A device clock in the future is clamped to the server's time.
    future = [SyncItem(uuid.uuid4(), d.packages["102"].handover_code, now + datetime.timedelta(days=2))]
    delivery.handovers_sync(future, actor=personas.building_lead, now=now)
    assert Package.objects.get(pk=d.packages["102"].pk).handed_over_at == now
    assert DeliveryRun.objects.get().finished_at == now


def test_a_household_sealed_after_aggregation_gets_its_bag_at_the_door(personas: Personas) -> None:
    from linli.health.choices import SealLevel
    from linli.health.services.seals import seal_create
    from linli.supplies.choices import Priority

    # given: the building lead carries the drop-off point's bags of 101 and 102, handed over in person
    d = out_with_building_lead(personas, keys=("101", "102"))
    assert not d.packages["101"].contactless

    # when: 101 is sealed before its bag reached it
    seal_create(level=SealLevel.HOUSEHOLD, target=d.packages["101"].household, actor=personas.community_worker)

    # then: its bag is left at the door, contactless, and its order is served as sealed; 102 unchanged
    sealed, other = Package.objects.get(pk=d.packages["101"].pk), Package.objects.get(pk=d.packages["102"].pk)
    assert sealed.contactless and not other.contactless
    assert sealed.order.priority == Priority.SEALED
    done = handover_scan(code=sealed.handover_code, actor=personas.building_lead, contactless=None)
    assert done.package.status == PackageStatus.LEFT_AT_DOOR
