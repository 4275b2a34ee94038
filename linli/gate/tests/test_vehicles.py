"""Vehicles (A6): resident vehicles share the household's quota; emergency vehicles are logged; others refused."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linli.gate import services, visitors
from linli.gate.choices import AlertKind, ExemptKind, Reason, VehicleKind, Verdict
from linli.gate.models import GateAlert, GateScan, VehicleEntry, VehiclePass
from linli.gate.tests.conftest import Gate, at

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entry(gate: Gate, plate: str, when: datetime.datetime, direction: str = "out", **extra: Any) -> VehicleEntry:
    return visitors.vehicle_entry_record(
        checkpoint=gate.checkpoint,
        actor=gate.personas.gate_guard,
        plate=plate,
        direction=direction,
        device_time=when,
        **extra,
    )


@pytest.mark.parametrize(
    ("typed", "plate"),
    [
        ("沪A12345", "沪A12345"),
        ("沪a·12345", "沪A12345"),
        (" 粤B D12345 ", "粤BD12345"),
        ("京Ａ１２３４警", "京A1234警"),
    ],
)
def test_plates_are_normalised(typed: str, plate: str) -> None:
    assert visitors.normalise_plate(typed) == plate
    assert visitors.plate_error(plate) is None


@pytest.mark.parametrize("plate", ["", "A12345", "沪12345", "沪AI2345", "沪A1234", "沪A1234567", "ABC"])
def test_bad_plates_are_refused_in_chinese(plate: str) -> None:
    assert visitors.plate_error(visitors.normalise_plate(plate)) in (
        "请填写车牌号",
        "车牌号格式不正确，如 沪A12345 或 沪AD12345",
    )


def test_staff_issue_and_revoke_a_vehicle_pass(gate: Gate) -> None:
    worker = login(gate.personas.community_worker)
    url = reverse("gate:vehicle_pass_create", kwargs={"pk": gate.household.pk})
    assert worker.post(url, {"plate": "沪a 88888"}).status_code == 302
    vehicle_pass = VehiclePass.objects.get()
    assert (vehicle_pass.plate, vehicle_pass.household, vehicle_pass.compound_id) == (
        "沪A88888",
        gate.household,
        gate.checkpoint.compound_id,
    )
    again = worker.post(url, {"plate": "沪A88888"})
    assert "该车牌已登记通行证" in again.content.decode()
    bad = worker.post(url, {"plate": "88888"})
    assert "车牌号格式不正确" in bad.content.decode()
    listing = worker.get(reverse("gate:vehicle_passes"), {"compound": str(gate.checkpoint.compound_id), "room": "101"})
    assert "沪A88888" in listing.content.decode() and url in listing.content.decode()
    assert worker.post(reverse("gate:vehicle_pass_revoke", kwargs={"pk": vehicle_pass.pk})).status_code == 302
    vehicle_pass.refresh_from_db()
    assert not vehicle_pass.is_active
    # a revoked plate may be registered again (for this or another household)
    assert worker.post(url, {"plate": "沪A88888"}).status_code == 302
    assert VehiclePass.objects.get().is_active


def test_a_resident_vehicle_outing_counts_against_the_household_quota(gate: Gate) -> None:
    visitors.vehicle_pass_create(household=gate.household, actor=None, plate="沪A88888")
    first = entry(gate, "沪A88888", at(23, 9), occupants="户主101", max_temperature="36.5")
    assert (first.kind, first.verdict) == (VehicleKind.RESIDENT, Verdict.ALLOWED)
    assert first.scan is not None and first.scan.household_id == gate.household.pk
    assert first.scan.temperature == Decimal("36.5") and first.max_temperature == Decimal("36.5")
    assert "1号楼1单元101" in first.message
    back = entry(gate, "沪A88888", at(23, 10), "in")
    assert back.verdict == Verdict.ALLOWED
    # the same household on foot, same window: the quota is used up
    on_foot = services.scan_record(
        gate.checkpoint,
        gate.personas.gate_guard,
        services.ScanInput(
            uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=at(23, 11)
        ),
    )
    assert on_foot.reason == Reason.QUOTA
    second = entry(gate, "沪A88888", at(24, 9))
    assert (second.verdict, second.scan.reason if second.scan else None) == (Verdict.REFUSED, Reason.QUOTA)
    assert "本户两天内已外出一次" in second.message


def test_in_ticket_mode_a_resident_vehicle_goes_out_on_the_household_ticket(gate: Gate) -> None:
    # given: the compound hands out 出入券 and the household has this period's ticket
    gate.rules.mode = "ticket"
    gate.rules.save()
    visitors.vehicle_pass_create(household=gate.household, actor=None, plate="沪A88888")
    ticket = services.ticket_issue(household=gate.household, period_start=datetime.date(2026, 11, 23))

    # when: the household's car goes out (the vehicle desk has no field for a ticket)
    first = entry(gate, "沪A88888", at(23, 9))

    # then: it goes out on the period's ticket, which is collected, as on foot
    assert (first.verdict, first.scan.reason if first.scan else None) == (Verdict.ALLOWED, Reason.OK)
    ticket.refresh_from_db()
    assert ticket.collected_at is not None and first.scan is not None and first.scan.ticket_id == ticket.pk
    # and the same ticket does not let the car (or anyone on foot) out twice in the period
    assert entry(gate, "沪A88888", at(23, 10), "in").verdict == Verdict.ALLOWED
    again = entry(gate, "沪A88888", at(23, 11))
    assert (again.verdict, again.scan.reason if again.scan else None) == (Verdict.REFUSED, Reason.TICKET_USED)
    on_foot = services.scan_record(
        gate.checkpoint,
        gate.personas.gate_guard,
        services.ScanInput(uuid=uuid.uuid4(), credential=ticket.number, direction="out", device_time=at(23, 12)),
    )
    assert on_foot.reason == Reason.TICKET_USED


def test_in_ticket_mode_a_resident_vehicle_without_a_ticket_stays_in(gate: Gate) -> None:
    gate.rules.mode = "ticket"
    gate.rules.save()
    visitors.vehicle_pass_create(household=gate.household, actor=None, plate="沪A88888")
    refused = entry(gate, "沪A88888", at(23, 9))
    assert (refused.verdict, refused.scan.reason if refused.scan else None) == (Verdict.REFUSED, Reason.NO_TICKET)


def test_fever_in_a_resident_vehicle_is_refused_and_alerts(gate: Gate) -> None:
    visitors.vehicle_pass_create(household=gate.household, actor=None, plate="沪A88888")
    result = entry(gate, "沪A88888", at(23, 9), "in", max_temperature="37.8")
    assert result.verdict == Verdict.REFUSED and result.scan and result.scan.reason == Reason.FEVER
    assert GateAlert.objects.filter(kind=AlertKind.FEVER, scan=result.scan).exists()


def test_emergency_vehicles_pass_without_checks(gate: Gate) -> None:
    ticked = entry(gate, "沪A12345", at(23, 2), "in", emergency=True, max_temperature="38.0")
    assert (ticked.kind, ticked.verdict, ticked.scan) == (VehicleKind.EMERGENCY, Verdict.ALLOWED, None)
    assert not GateAlert.objects.exists()
    visitors.exempt_create(
        compound=gate.checkpoint.compound,
        actor=None,
        kind=ExemptKind.EMERGENCY_VEHICLE,
        name="沪A99999",
        organisation="120急救中心",
        valid_until=at(30, 0).date(),
        today=at(20, 0).date(),
    )
    with_pass = entry(gate, "沪A99999", at(23, 3), "in")
    assert (with_pass.kind, with_pass.verdict) == (VehicleKind.EMERGENCY, Verdict.ALLOWED)
    assert "120急救中心" in with_pass.message
    assert not GateScan.objects.exists()  # no household's quota touched


def test_outside_vehicles_are_refused(gate: Gate) -> None:
    outside = entry(gate, "苏E54321", at(23, 9), "in")
    assert (outside.kind, outside.verdict, outside.message) == (
        VehicleKind.OUTSIDE,
        Verdict.REFUSED,
        "外来车辆，禁止入内",
    )
    foreign = gate.personas.tree.households[f"{gate.personas.tree.b3.code}/1单元/101"]
    visitors.vehicle_pass_create(household=foreign, actor=None, plate="沪B22222")
    other = entry(gate, "沪B22222", at(23, 9), "in")
    assert (other.verdict, other.message) == (Verdict.REFUSED, "非本小区车辆，禁止入内")


def test_guard_page_records_and_lists(gate: Gate) -> None:
    visitors.vehicle_pass_create(household=gate.household, actor=None, plate="沪A88888")
    guard = login(gate.personas.gate_guard)
    url = reverse("gate:vehicles", kwargs={"pk": gate.checkpoint.pk})
    page = guard.post(
        url, {"plate": "苏E54321", "direction": "in", "occupants": "张三", "max_temperature": "36.6"}, follow=True
    )
    text = page.content.decode()
    assert "苏E54321 拒绝：外来车辆，禁止入内" in text and "张三" in text
    bad = guard.post(url, {"plate": "", "direction": "in"})
    assert "请填写车牌号" in bad.content.decode()
    hot = guard.post(url, {"plate": "苏E54321", "direction": "in", "max_temperature": "50"})
    assert "体温应在34.0到43.0℃之间" in hot.content.decode()
    assert VehicleEntry.objects.count() == 1


def test_api_idempotent_entry_and_scope(gate: Gate) -> None:
    worker = login(gate.personas.community_worker)
    created = worker.post(
        f"/api/v1/gate/households/{gate.household.pk}/vehicle-passes",
        {"plate": "沪A88888"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["room"] == "1号楼1单元101"
    guard = login(gate.personas.gate_guard)
    url = f"/api/v1/gate/checkpoints/{gate.checkpoint.pk}/vehicles"
    body = {"plate": "沪A88888", "direction": "out", "uuid": str(uuid.uuid4()), "device_time": at(23, 9).isoformat()}
    first = guard.post(url, body, content_type="application/json")
    again = guard.post(url, body, content_type="application/json")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["verdict"] == "allowed"
    assert VehicleEntry.objects.count() == GateScan.objects.count() == 1
    assert [e["plate"] for e in guard.get(url).json()] == ["沪A88888"]
    bad = guard.post(url, {"plate": "x"}, content_type="application/json")
    assert bad.status_code == 422 and "车牌号格式不正确" in bad.json()["detail"]
    # out of scope: another community's worker, a resident, the guard issuing passes
    outsider = login(gate.personas.outsider)
    assert outsider.post(url, body, content_type="application/json").status_code == 404
    assert outsider.get("/api/v1/gate/vehicle-passes").json() == []
    vehicle_pass = VehiclePass.objects.get()
    assert outsider.post(f"/api/v1/gate/vehicle-passes/{vehicle_pass.pk}/revoke").status_code == 404
    assert (
        login(gate.personas.gate_guard)
        .post(
            f"/api/v1/gate/households/{gate.household.pk}/vehicle-passes",
            {"plate": "沪A77777"},
            content_type="application/json",
        )
        .status_code
        == 403
    )
    mine = login(gate.personas.resident).get("/api/v1/gate/vehicle-passes").json()
    assert [v["plate"] for v in mine] == ["沪A88888"]  # the resident sees their household's own
    assert outsider.get(reverse("gate:vehicles", kwargs={"pk": gate.checkpoint.pk})).status_code == 404
    assert outsider.get(reverse("gate:vehicle_pass_create", kwargs={"pk": gate.household.pk})).status_code == 404
