"""Parcels (A7): logged at the gate, a pickup code by SMS, handed over against the code or the household's pass;
sealed households get theirs delivered contactless (H7)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linli.accounts.models import SmsMessage
from linli.gate import services, visitors
from linli.gate.choices import HoldReason
from linli.gate.models import Parcel
from linli.gate.tests.conftest import Gate
from linli.registry.models import Person

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def log(gate: Gate, household: Any = None, carrier: str = "顺丰") -> visitors.ParcelLogged:
    return visitors.parcel_log(
        checkpoint=gate.checkpoint,
        actor=gate.personas.gate_guard,
        household=household or gate.household,
        carrier=carrier,
    )


def test_guard_logs_a_parcel_and_the_householder_gets_the_code(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    url = reverse("gate:parcel_create", kwargs={"pk": gate.checkpoint.pk})
    found = guard.post(url, {"action": "find", "room": "1号楼1单元101"}).content.decode()
    assert f'value="{gate.household.pk}"' in found
    response = guard.post(
        url,
        {
            "action": "save",
            "room": "1号楼1单元101",
            "household": gate.household.pk,
            "carrier": "顺丰",
            "tracking": "SF1",
        },
        follow=True,
    )
    parcel = Parcel.objects.get()
    assert len(parcel.pickup_code) == 6 and parcel.pickup_code.isdigit() and not parcel.contactless
    householder = Person.objects.get(household=gate.household, relation="householder")
    sms = SmsMessage.objects.get()
    assert sms.phone == householder.phone and parcel.pickup_code in sms.body and "顺丰" in sms.body
    assert householder.masked_phone in response.content.decode()
    listing = guard.get(reverse("gate:parcels", kwargs={"pk": gate.checkpoint.pk})).content.decode()
    assert "1号楼1单元101" in listing and "SF1" in listing
    assert parcel.pickup_code not in listing  # the guard does not read the code off the list


def test_pickup_by_code_sets_who_and_when(gate: Gate) -> None:
    parcel = log(gate).parcel
    guard = login(gate.personas.gate_guard)
    url = reverse("gate:parcels", kwargs={"pk": gate.checkpoint.pk})
    wrong = "000000" if parcel.pickup_code != "000000" else "111111"
    assert "取件码不正确，或快递已被取走" in guard.post(url, {"code": wrong}).content.decode()
    assert "请输入6位取件码，或扫描本户通行证" in guard.post(url, {"code": "12ab"}).content.decode()
    done = guard.post(url, {"code": parcel.pickup_code}, follow=True)
    assert "已取件 1 件" in done.content.decode()
    parcel.refresh_from_db()
    assert parcel.picked_up_at is not None and parcel.picked_up_by == gate.personas.gate_guard
    assert "取件码不正确，或快递已被取走" in guard.post(url, {"code": parcel.pickup_code}).content.decode()


def test_pickup_by_the_household_pass_hands_over_all_its_parcels(gate: Gate) -> None:
    first, second = log(gate).parcel, log(gate, carrier="京东").parcel
    neighbour = log(gate, gate.personas.tree.households[f"{gate.personas.tree.b1.code}/1单元/102"]).parcel
    done = visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=gate.household_pass.token)
    assert {p.pk for p in done} == {first.pk, second.pk}
    neighbour.refresh_from_db()
    assert neighbour.picked_up_at is None
    with pytest.raises(visitors.ValidationError, match="本户没有待取的快递"):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=gate.household_pass.number)


def test_a_revoked_or_forged_pass_hands_over_nothing(gate: Gate) -> None:
    parcel = log(gate).parcel
    old = gate.household_pass
    services.pass_issue(household=gate.household, members=gate.members[:1])
    with pytest.raises(visitors.ValidationError, match="通行证已作废"):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=old.token)
    with pytest.raises(visitors.ValidationError, match="通行证无效或伪造"):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=old.token[:-4] + "AAAA")
    with pytest.raises(visitors.ValidationError, match="不是收件户的通行证"):
        other = services.pass_issue(
            household=gate.personas.tree.households[f"{gate.personas.tree.b1.code}/1单元/102"],
            members=list(Person.objects.filter(household__room="102", household__unit=gate.household.unit)[:1]),
        )
        visitors.parcel_hand_over(parcel=parcel, actor=None, code=other.token)
    parcel.refresh_from_db()
    assert parcel.picked_up_at is None


def test_a_sealed_household_gets_its_parcel_delivered_contactless(gate: Gate) -> None:
    services.hold_set(household=gate.household, reason=HoldReason.SEALED, source="health")
    logged = log(gate)
    parcel = logged.parcel
    assert parcel.contactless and logged.notified is not None
    assert "无接触" in SmsMessage.objects.get().body and parcel.pickup_code not in SmsMessage.objects.get().body
    guard = login(gate.personas.gate_guard)
    listing = guard.get(reverse("gate:parcels", kwargs={"pk": gate.checkpoint.pk})).content.decode()
    assert "无接触送到门口（1 件）" in listing and "待取件（0 件）" in listing
    # not handed over at the gate, even with the right code
    with pytest.raises(visitors.ValidationError, match="取件码不正确"):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=parcel.pickup_code)
    assert guard.post(reverse("gate:parcel_delivered", kwargs={"pk": parcel.pk})).status_code == 302
    parcel.refresh_from_db()
    assert parcel.picked_up_at is not None and parcel.picked_up_by == gate.personas.gate_guard


def test_a_household_under_home_observation_gets_its_parcel_at_the_door_too(gate: Gate) -> None:
    # given: the household is under home observation (it may not come to the gate: H7)
    services.hold_set(household=gate.household, reason=HoldReason.HOME_OBSERVATION, source="health")

    # when: a parcel for it is logged
    parcel = log(gate).parcel

    # then: contactless, and the SMS says why and carries no pickup code
    sms = SmsMessage.objects.get().body
    assert parcel.contactless
    assert "暂停通行（居家观察）" in sms and "无接触" in sms and parcel.pickup_code not in sms
    # nor does its pass (or the code) hand it over at the gate
    with pytest.raises(visitors.ValidationError):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=gate.household_pass.number)
    with pytest.raises(visitors.ValidationError):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=parcel.pickup_code)


def test_a_parcel_waiting_when_the_household_is_sealed_goes_to_its_door(gate: Gate) -> None:
    # given: a parcel waits at the gate with its pickup code
    parcel = log(gate).parcel
    assert not parcel.contactless

    # when: the household is sealed before anyone collected it
    services.hold_set(household=gate.household, reason=HoldReason.SEALED, source="health")

    # then: it is on the contactless list, and neither the code nor the pass takes it at the gate
    parcel.refresh_from_db()
    assert parcel.contactless
    with pytest.raises(visitors.ValidationError):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=parcel.pickup_code)
    with pytest.raises(visitors.ValidationError):
        visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=gate.household_pass.number)

    # once the seal is lifted before a volunteer took it, the household may collect it at the gate
    services.hold_release(household=gate.household)
    assert visitors.parcels_pick_up(checkpoint=gate.checkpoint, actor=None, code=parcel.pickup_code) == [parcel]


def test_a_household_without_a_phone_is_logged_but_not_texted(gate: Gate) -> None:
    Person.objects.filter(household=gate.household).update(phone="")
    logged = log(gate)
    assert logged.notified is None and not SmsMessage.objects.exists()
    guard = login(gate.personas.gate_guard)
    response = guard.post(
        reverse("gate:parcel_create", kwargs={"pk": gate.checkpoint.pk}),
        {"action": "save", "room": "101", "household": gate.household.pk},
        follow=True,
    )
    assert "未能发送短信" in response.content.decode()


def test_the_household_must_be_chosen_from_the_compound(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    foreign = gate.personas.tree.households[f"{gate.personas.tree.b4.code}/1单元/101"]
    response = guard.post(
        reverse("gate:parcel_create", kwargs={"pk": gate.checkpoint.pk}),
        {"action": "save", "room": "101", "household": foreign.pk},
    )
    assert "选择一个有效的选项" in response.content.decode()
    with pytest.raises(visitors.ValidationError, match="收件户不在本小区"):
        log(gate, foreign)
    assert not Parcel.objects.exists()


def test_api_resident_sees_the_code_staff_do_not(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    created = guard.post(
        f"/api/v1/gate/households/{gate.household.pk}/parcels", {"carrier": "美团"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["notified"] is True and data["pickup_code"] == "" and data["checkpoint_id"] == gate.checkpoint.pk
    parcel = Parcel.objects.get()
    mine = login(gate.personas.resident).get("/api/v1/gate/parcels").json()
    assert [(p["id"], p["pickup_code"]) for p in mine] == [(parcel.pk, parcel.pickup_code)]
    assert [p["pickup_code"] for p in login(gate.personas.community_worker).get("/api/v1/gate/parcels").json()] == [""]
    base = f"/api/v1/gate/checkpoints/{gate.checkpoint.pk}/parcels"
    assert [p["id"] for p in guard.get(base, {"code": parcel.pickup_code}).json()] == [parcel.pk]
    assert guard.get(base, {"code": "99999x"}).status_code == 404
    wrong = guard.post(f"/api/v1/gate/parcels/{parcel.pk}/pickup", {"code": "abc"}, content_type="application/json")
    assert wrong.status_code == 422 and wrong.json()["detail"] == "请输入6位取件码，或扫描本户通行证"
    done = guard.post(f"{base}/pickup", {"code": gate.household_pass.number}, content_type="application/json")
    assert done.status_code == 200 and done.json()[0]["picked_up_at"]
    # confirming again (a retry) changes nothing
    again = guard.post(
        f"/api/v1/gate/parcels/{parcel.pk}/pickup", {"code": parcel.pickup_code}, content_type="application/json"
    )
    assert again.status_code == 200 and again.json()["picked_up_at"] == done.json()[0]["picked_up_at"]


def test_out_of_scope_is_not_found(gate: Gate) -> None:
    parcel = log(gate).parcel
    outsider = login(gate.personas.outsider)
    assert outsider.get(reverse("gate:parcels", kwargs={"pk": gate.checkpoint.pk})).status_code == 404
    assert outsider.post(reverse("gate:parcel_delivered", kwargs={"pk": parcel.pk})).status_code == 404
    body = {"code": parcel.pickup_code}
    assert (
        outsider.post(f"/api/v1/gate/parcels/{parcel.pk}/pickup", body, content_type="application/json").status_code
        == 404
    )
    assert (
        outsider.post(
            f"/api/v1/gate/households/{gate.household.pk}/parcels", {}, content_type="application/json"
        ).status_code
        == 404
    )
    assert outsider.get("/api/v1/gate/parcels").json() == []
    assert (
        login(gate.personas.resident).get(reverse("gate:parcels", kwargs={"pk": gate.checkpoint.pk})).status_code == 403
    )
    assert login(gate.personas.supplier).get("/api/v1/gate/parcels").status_code == 403
    parcel.refresh_from_db()
    assert parcel.picked_up_at is None and Parcel.objects.count() == 1
