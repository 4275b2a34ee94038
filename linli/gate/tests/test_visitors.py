"""Visitors (A5): real-name record, temperature, health code, itinerary; escorted in; checked out."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.audit.models import AuditAction, AuditEvent
from linli.gate import services, visitors
from linli.gate.choices import AlertKind, HoldReason, Verdict
from linli.gate.models import GateAlert, Visit
from linli.gate.tests.conftest import Gate
from linli.lib.testing import make_id_number
from linli.registry.models import Person

pytestmark = pytest.mark.django_db

VISITOR_ID = make_id_number("19700707")


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def householder(gate: Gate) -> Person:
    return Person.objects.get(household=gate.household, relation="householder")


def visit_form(gate: Gate, **values: Any) -> dict[str, Any]:
    data = {
        "action": "save",
        "name": "周访客",
        "id_number": VISITOR_ID,
        "phone": "13900001111",
        "temperature": "36.5",
        "health_code": "green",
        "coming_from": "上海市浦东新区",
        "itinerary_checked": "on",
        "purpose": "送药",
        "room": "101",
        "host_person": str(householder(gate).pk),
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def test_guard_registers_a_visitor_who_is_escorted_in_and_checked_out(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    url = reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk})
    # The room finds the households (several buildings have a 101) with their members' masked names.
    found = guard.post(url, {"action": "find", "room": "101"}).content.decode()
    assert "1号楼1单元101 · 户***1（户主）" in found and "2号楼1单元101" in found
    assert not Visit.objects.exists()
    fragment = guard.get(reverse("gate:visit_hosts", kwargs={"pk": gate.checkpoint.pk}), {"room": "1号楼1单元101"})
    assert "户***1（户主）" in fragment.content.decode()

    response = guard.post(url, visit_form(gate))
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.verdict, visit.host_household, visit.host_person) == (
        Verdict.ALLOWED,
        gate.household,
        householder(gate),
    )
    assert visit.id_number == VISITOR_ID and visit.guard == gate.personas.gate_guard

    listing = guard.get(reverse("gate:visits", kwargs={"pk": gate.checkpoint.pk})).content.decode()
    assert "周访客" in listing and visit.masked_id_number in listing
    assert VISITOR_ID not in listing  # masked for everyone in lists
    assert list(visitors.visits_open(gate.checkpoint)) == [visit]

    assert guard.post(reverse("gate:visit_checkout", kwargs={"pk": visit.pk})).status_code == 302
    visit.refresh_from_db()
    assert visit.left_at is not None
    assert not visitors.visits_open(gate.checkpoint).exists()


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"temperature": "37.3"}, "体温 37.3℃，达到37.3℃"),
        ({"health_code": "yellow"}, "健康码为黄码"),
        ({"itinerary_checked": None}, "行程卡未核验"),
        ({"from_key_area": "on"}, "14天内到过重点疫区且非本小区居民"),
    ],
)
def test_refused_visitors_are_recorded_with_the_reason(gate: Gate, values: dict[str, Any], refusal: str) -> None:
    guard = login(gate.personas.gate_guard)
    response = guard.post(
        reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate, **values), follow=True
    )
    visit = Visit.objects.get()
    assert visit.verdict == Verdict.REFUSED and refusal in visit.refusal
    assert refusal in response.content.decode()  # the guard sees why
    assert not visitors.visits_open(gate.checkpoint).exists()
    fever = GateAlert.objects.filter(kind=AlertKind.FEVER)
    if "temperature" in values:
        alert = fever.get()
        assert (alert.person_name, alert.checkpoint, alert.household) == ("周访客", gate.checkpoint, gate.household)
    else:
        assert not fever.exists()


def test_a_refused_visitor_needs_no_host_and_several_reasons_are_all_given(gate: Gate) -> None:
    visit = visitors.visit_register(
        checkpoint=gate.checkpoint,
        actor=None,
        data=visitors.VisitInput(
            name="吴", id_number=VISITOR_ID, temperature="38.0", health_code="red", coming_from="某地", purpose="探亲"
        ),
    )
    assert visit.verdict == Verdict.REFUSED
    assert visit.refusal == "体温 38.0℃，达到37.3℃；健康码为红码；行程卡未核验"


def test_a_resident_of_the_compound_back_from_a_key_area_is_living_here(gate: Gate) -> None:
    resident = (
        Person.objects.filter(household__compound=gate.checkpoint.compound).exclude(household=gate.household).first()
    )
    assert resident is not None and resident.id_number
    data = visitors.VisitInput(
        name=resident.name,
        id_number=resident.id_number,
        temperature="36.6",
        health_code="green",
        coming_from="重点地区",
        purpose="回家",
        from_key_area=True,
        itinerary_checked=True,
        host_household_id=resident.household_id,
        host_person_id=resident.pk,
    )
    assert visitors.visit_register(checkpoint=gate.checkpoint, actor=None, data=data).verdict == Verdict.ALLOWED
    # someone registered in another compound is not living here
    other = Person.objects.filter(household__compound=gate.personas.tree.p2).exclude(id_number=None).first()
    assert other is not None and other.id_number
    data.id_number, data.name = other.id_number, other.name
    assert visitors.visit_register(checkpoint=gate.checkpoint, actor=None, data=data).verdict == Verdict.REFUSED


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"id_number": "110101199001011234"}, "id_number", "身份证号校验位错误"),
        ({"id_number": ""}, "id_number", "请填写身份证号"),
        ({"name": ""}, "name", "请填写访客姓名"),
        ({"temperature": "3.65"}, "temperature", "体温应在34.0到43.0℃之间"),
        ({"temperature": "abc"}, "temperature", "体温应为数字"),
        ({"phone": "12345"}, "phone", "手机号应为以1开头的11位数字"),
        ({"coming_from": ""}, "coming_from", "请填写14天内到过的城市、区县"),
        ({"purpose": ""}, "purpose", "请填写来访事由"),
        ({"host_person": None}, "host_person", "请选择被访户"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(
    gate: Gate, values: dict[str, Any], field: str, message: str
) -> None:
    guard = login(gate.personas.gate_guard)
    response = guard.post(reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate, **values))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors.get(field, [])), response.context["form"].errors
    assert not Visit.objects.exists()


def test_the_escort_must_belong_to_the_visited_household(gate: Gate) -> None:
    other = (
        Person.objects.filter(household__compound=gate.checkpoint.compound).exclude(household=gate.household).first()
    )
    assert other is not None
    data = visitors.VisitInput(
        name="郑",
        id_number=VISITOR_ID,
        temperature="36.5",
        health_code="green",
        coming_from="本市",
        purpose="探亲",
        itinerary_checked=True,
        host_household_id=gate.household.pk,
        host_person_id=other.pk,
    )
    with pytest.raises(visitors.ValidationError) as error:
        visitors.visit_register(checkpoint=gate.checkpoint, actor=None, data=data)
    assert error.value.message_dict == {"host_person": ["接访人必须是被访户的成员"]}
    foreign = gate.personas.tree.households[f"{gate.personas.tree.b3.code}/1单元/101"]
    data.host_household_id, data.host_person_id = foreign.pk, None
    with pytest.raises(visitors.ValidationError) as error:
        visitors.visit_register(checkpoint=gate.checkpoint, actor=None, data=data)
    assert error.value.message_dict == {"host_household": ["被访户不在本小区"]}


def test_a_visitor_already_inside_is_not_registered_twice(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    url = reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk})
    guard.post(url, visit_form(gate))
    response = guard.post(url, visit_form(gate))
    assert "该访客已在小区内，尚未销号" in response.content.decode()
    assert Visit.objects.count() == 1


def test_reveal_is_for_reveal_roles_and_audited(gate: Gate) -> None:
    login(gate.personas.gate_guard).post(
        reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate)
    )
    visit = Visit.objects.get()
    url = reverse("gate:visit_reveal", kwargs={"pk": visit.pk})
    assert login(gate.personas.gate_guard).post(url).status_code == 403
    assert login(gate.personas.outsider).post(url).status_code == 404
    response = login(gate.personas.grid_worker).post(url)
    assert VISITOR_ID in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.REVEAL)
    assert event.model == "gate.Visit" and VISITOR_ID not in str(event.changes)
    api = login(gate.personas.medic).post(f"/api/v1/gate/visits/{visit.pk}/reveal")
    assert api.json()["value"] == VISITOR_ID


def test_out_of_scope_and_other_checkpoints_are_not_found(gate: Gate) -> None:
    login(gate.personas.gate_guard).post(
        reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate)
    )
    visit = Visit.objects.get()
    outsider = login(gate.personas.outsider)
    for name in ("gate:visits", "gate:visit_create", "gate:visit_hosts"):
        assert outsider.get(reverse(name, kwargs={"pk": gate.checkpoint.pk})).status_code == 404
    assert outsider.post(reverse("gate:visit_checkout", kwargs={"pk": visit.pk})).status_code == 404
    assert (
        login(gate.personas.resident).get(reverse("gate:visits", kwargs={"pk": gate.checkpoint.pk})).status_code == 403
    )
    assert login(gate.personas.medic).get(reverse("gate:visits", kwargs={"pk": gate.checkpoint.pk})).status_code == 403
    # the guard is bound to the east gate: another gate of the same compound is not theirs
    from linli.gate import services

    north = services.checkpoint_create(compound=gate.checkpoint.compound, name="北门")
    assert login(gate.personas.gate_guard).get(reverse("gate:visits", kwargs={"pk": north.pk})).status_code == 404
    api = outsider.post(f"/api/v1/gate/visits/{visit.pk}/checkout")
    assert api.status_code == 404
    visit.refresh_from_db()
    assert visit.left_at is None


def test_api_register_list_and_check_out(gate: Gate) -> None:
    client = login(gate.personas.gate_guard)
    base = f"/api/v1/gate/checkpoints/{gate.checkpoint.pk}"
    hosts = client.get(f"{base}/hosts", {"room": "101"}).json()
    host = next(h for h in hosts if h["room"] == "1号楼1单元101")
    body = {
        "name": "冯访客",
        "id_number": VISITOR_ID,
        "temperature": "36.4",
        "coming_from": "本市",
        "purpose": "维修",
        "itinerary_checked": True,
        "host_household_id": host["id"],
        "host_person_id": host["members"][0]["id"],
    }
    created = client.post(f"{base}/visits", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["verdict"] == "allowed" and data["id_number_masked"] != VISITOR_ID and data["host_person"] == "户***1"
    assert [v["id"] for v in client.get(f"{base}/visits", {"open": True}).json()] == [data["id"]]
    assert client.post(f"/api/v1/gate/visits/{data['id']}/checkout").json()["left_at"]
    assert client.get(f"{base}/visits", {"open": True}).json() == []
    bad = client.post(f"{base}/visits", {**body, "id_number": "123"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"] == "身份证号应为18位"
    refused = client.post(f"{base}/visits", {**body, "temperature": "39.1"}, content_type="application/json")
    assert refused.status_code == 201 and refused.json()["verdict"] == "refused"
    assert (
        login(gate.personas.outsider).post(f"{base}/visits", body, content_type="application/json").status_code == 404
    )


@pytest.mark.parametrize(("hold", "label"), [(HoldReason.SEALED, "封控"), (HoldReason.HOME_OBSERVATION, "居家观察")])
def test_a_household_on_hold_receives_no_visitor(gate: Gate, hold: str, label: str) -> None:
    # given: the visited household is sealed, or under home observation (H7: hard isolation)
    services.hold_set(household=gate.household, reason=hold, source="health")

    # when: an otherwise admissible visitor asks for it, its member named as the escort
    guard = login(gate.personas.gate_guard)
    response = guard.post(
        reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate), follow=True
    )

    # then: refused and recorded with the reason, which the guard sees; nobody is let in
    visit = Visit.objects.get()
    reason = f"被访户暂停通行（{label}），不接待访客"
    assert visit.verdict == Verdict.REFUSED and visit.refusal == reason
    assert reason in response.content.decode()
    assert not visitors.visits_open(gate.checkpoint).exists()


def test_the_open_visits_list_masks_the_escort_as_the_host_picker_does(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    guard.post(reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate))
    escort = householder(gate)
    listing = guard.get(reverse("gate:visits", kwargs={"pk": gate.checkpoint.pk})).content.decode()
    assert f"接访人 {visitors.mask_name(escort.name)}" in listing
    assert escort.name not in listing


def test_the_visit_list_in_english_dates_the_arrival_in_english(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    guard.cookies["django_language"] = "en"
    guard.post(reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk}), visit_form(gate))
    listing = guard.get(reverse("gate:visits", kwargs={"pk": gate.checkpoint.pk})).content.decode()
    visit = Visit.objects.get()
    arrived = timezone.localtime(visit.arrived_at)
    assert f"{arrived:%b} {arrived.day}, {arrived:%H:%M} visiting" in listing
    assert "月" not in listing
