"""Exempt passes (A4): issued by community staff, signed for offline checking, printable, revocable."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.gate import keys, passes, services, visitors
from linli.gate.choices import ExemptKind, HoldReason, Reason, Verdict
from linli.gate.models import ExemptPass
from linli.gate.tests.conftest import Gate, worker_pass
from linli.registry.models import Person

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**values: str) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "kind": ExemptKind.EPIDEMIC_WORKER.value,
        "name": "李医生",
        "organisation": "区疾控中心",
        "proof": "JK-2026-001",
        "valid_from": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=30)).isoformat(),
    }
    data.update(values)
    return data


def test_community_worker_issues_a_signed_pass_with_a_card(gate: Gate) -> None:
    client = login(gate.personas.community_worker)
    url = reverse("gate:exempt_create", kwargs={"pk": gate.checkpoint.compound_id})
    assert client.get(url).status_code == 200
    response = client.post(url, form())
    exempt = ExemptPass.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "gate:exempt_detail", kwargs={"pk": exempt.pk}
    )
    assert passes.clean_number(exempt.number) == exempt.number
    payload = passes.verify(exempt.token, keys.public_keys())
    assert (payload.kind, payload.subject, payload.issue_no) == (passes.Kind.EXEMPT, exempt.pk, 0)
    assert (payload.valid_from, payload.valid_until) == (exempt.valid_from, exempt.valid_until)
    assert AuditEvent.objects.filter(model="gate.ExemptPass", object_pk=str(exempt.pk)).exists()
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page and passes.format_number(exempt.number) in page and "有效" in page
    card = client.get(reverse("gate:exempt_card", kwargs={"pk": exempt.pk}))
    assert card["Content-Type"] == "application/pdf" and card.content.startswith(b"%PDF")
    # The list shows it to staff of the compound, the guard included.
    listing = login(gate.personas.gate_guard).get(reverse("gate:exempt_list")).content.decode()
    assert "李医生" in listing


def test_the_gate_lets_an_exempt_pass_through_without_quota_until_revoked(gate: Gate) -> None:
    exempt = visitors.exempt_create(
        compound=gate.checkpoint.compound,
        actor=gate.personas.community_worker,
        kind=ExemptKind.WORKER,
        name="王师傅",
        organisation="自来水公司",
        proof="FG-1",
        valid_until=timezone.localdate() + datetime.timedelta(days=7),
    )

    def scan() -> services.ScanResult:
        data = services.ScanInput(
            uuid=uuid.uuid4(), credential=exempt.token, direction="out", device_time=timezone.now()
        )
        return services.scan_record(gate.checkpoint, gate.personas.gate_guard, data)

    assert scan().verdict == Verdict.ALLOWED
    assert scan().verdict == Verdict.ALLOWED  # no outing quota
    client = login(gate.personas.community_worker)
    assert client.post(reverse("gate:exempt_revoke", kwargs={"pk": exempt.pk})).status_code == 302
    exempt.refresh_from_db()
    assert not exempt.is_active
    assert scan().reason == Reason.REVOKED
    assert "已作废" in client.get(reverse("gate:exempt_detail", kwargs={"pk": exempt.pk})).content.decode()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"valid_until": ""}, "valid_until", "请填写有效期"),
        ({"valid_until": "2020-01-01"}, "valid_until", "有效期不能早于生效日期"),
        ({"organisation": ""}, "organisation", "请填写工作单位"),
        ({"name": ""}, "name", "请填写姓名"),
        ({"kind": "emergency_vehicle", "name": "ABC"}, "name", "车牌号格式不正确"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(gate: Gate, values, field, message) -> None:
    client = login(gate.personas.community_worker)
    response = client.post(reverse("gate:exempt_create", kwargs={"pk": gate.checkpoint.compound_id}), form(**values))
    assert response.status_code == 200
    assert message in "".join(response.context["form"].errors.get(field, []))
    assert not ExemptPass.objects.exists()


def test_an_emergency_vehicle_pass_names_a_normalised_plate(gate: Gate) -> None:
    exempt = visitors.exempt_create(
        compound=gate.checkpoint.compound,
        actor=None,
        kind=ExemptKind.EMERGENCY_VEHICLE,
        name="沪a·12345",
        organisation="120急救中心",
        valid_until=timezone.localdate(),
    )
    assert exempt.name == "沪A12345"


def test_link_to_a_resident_by_id_number(gate: Gate) -> None:
    person = Person.objects.filter(household=gate.household, relation="householder").get()
    client = login(gate.personas.community_worker)
    url = reverse("gate:exempt_create", kwargs={"pk": gate.checkpoint.compound_id})
    client.post(url, form(person_id_number=person.id_number or ""))
    assert ExemptPass.objects.get().person == person
    other = Person.objects.filter(household__compound=gate.personas.tree.p2).first()
    assert other is not None
    response = client.post(url, form(person_id_number=other.id_number or ""))
    assert "本小区没有登记这个身份证号" in response.content.decode()


def test_who_may_issue_and_see(gate: Gate) -> None:
    personas = gate.personas
    exempt = worker_pass(gate.checkpoint.compound)
    create = reverse("gate:exempt_create", kwargs={"pk": gate.checkpoint.compound_id})
    assert login(personas.gate_guard).get(create).status_code == 403  # guards check, staff issue
    assert login(personas.outsider).get(create).status_code == 404  # another community
    for name in ("gate:exempt_detail", "gate:exempt_card"):
        assert login(personas.outsider).get(reverse(name, kwargs={"pk": exempt.pk})).status_code == 404
    assert login(personas.outsider).post(reverse("gate:exempt_revoke", kwargs={"pk": exempt.pk})).status_code == 404
    assert login(personas.resident).get(reverse("gate:exempt_list")).status_code == 403
    assert "赵" not in login(personas.outsider).get(reverse("gate:exempt_list")).content.decode()
    exempt.refresh_from_db()
    assert exempt.is_active


def test_api_issue_list_revoke_and_card(gate: Gate) -> None:
    client = login(gate.personas.community_worker)
    until = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    url = f"/api/v1/gate/compounds/{gate.checkpoint.compound_id}/exempt-passes"
    bad = client.post(url, {"kind": "worker", "name": "钱", "valid_until": until}, content_type="application/json")
    assert bad.status_code == 422 and "请填写工作单位" in bad.json()["detail"]
    created = client.post(
        url,
        {"kind": "emergency_vehicle", "name": "沪A11111", "organisation": "消防", "valid_until": until},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert passes.verify(body["token"], keys.public_keys()).subject == body["id"]
    assert [row["id"] for row in client.get("/api/v1/gate/exempt-passes").json()] == [body["id"]]
    guard_view = login(gate.personas.gate_guard).get(f"/api/v1/gate/exempt-passes/{body['id']}").json()
    assert guard_view["token"] == ""  # only those who issue see the QR text
    assert client.post(f"/api/v1/gate/exempt-passes/{body['id']}/revoke").json()["is_active"] is False
    card = client.get(f"/api/v1/gate/exempt-passes/{body['id']}/card")
    assert card.content.startswith(b"%PDF")
    outsider = login(gate.personas.outsider)
    assert outsider.get(f"/api/v1/gate/exempt-passes/{body['id']}").status_code == 404
    assert outsider.post(url, {"name": "x", "valid_until": until}, content_type="application/json").status_code == 404
    assert login(gate.personas.resident).get("/api/v1/gate/exempt-passes").status_code == 403


@pytest.mark.parametrize(
    ("hold", "reason"),
    [
        (HoldReason.SEALED, Reason.SEALED),
        (HoldReason.HOME_OBSERVATION, Reason.OBSERVATION),
        (HoldReason.OTHER, Reason.HOLD),
    ],
)
def test_an_exempt_pass_does_not_let_a_resident_out_of_a_household_on_hold(gate: Gate, hold: str, reason: str) -> None:
    # given: a resident who works (复工证明) holds an exempt pass linked to them; then their household is sealed
    person = Person.objects.filter(household=gate.household, relation="householder").get()
    exempt = worker_pass(gate.checkpoint.compound, person=person, days=7, actor=gate.personas.community_worker)
    services.hold_set(household=gate.household, reason=hold, source="health")

    def scan(direction: str, credential: str) -> services.ScanResult:
        data = services.ScanInput(
            uuid=uuid.uuid4(), credential=credential, direction=direction, device_time=timezone.now()
        )
        return services.scan_record(gate.checkpoint, gate.personas.gate_guard, data)

    # then: the exempt pass (QR or number) does not take them out, as their household's pass would not
    assert (scan("out", exempt.token).verdict, scan("out", exempt.number).reason) == (Verdict.REFUSED, reason)
    # but it still brings them home
    assert scan("in", exempt.token).verdict == Verdict.ALLOWED
    # and the phone's offline list knows the hold too
    bundle = services.offline_bundle(gate.checkpoint)
    assert bundle["exempt"][str(exempt.pk)]["hold"] == hold

    # when the hold is released, the exempt pass works again
    services.hold_release(household=gate.household)
    assert scan("out", exempt.token).verdict == Verdict.ALLOWED
    assert services.offline_bundle(gate.checkpoint)["exempt"][str(exempt.pk)]["hold"] is None


@pytest.mark.parametrize("persona", ["gate_guard", "building_lead"])
def test_the_detail_page_shows_the_qr_only_to_those_who_issue(gate: Gate, persona: str) -> None:
    # The API withholds the QR text from staff who do not issue passes; the page must not draw it for them.
    exempt = worker_pass(gate.checkpoint.compound)
    url = reverse("gate:exempt_detail", kwargs={"pk": exempt.pk})
    seen = login(getattr(gate.personas, persona)).get(url)
    assert seen.status_code == 200 and "<svg" not in seen.content.decode()
    assert "<svg" in login(gate.personas.community_worker).get(url).content.decode()
    # nor its number, which a guard may type at the gate instead of scanning
    assert passes.format_number(exempt.number) not in seen.content.decode()
    assert passes.format_number(exempt.number) in login(gate.personas.community_worker).get(url).content.decode()


@pytest.mark.parametrize("persona", ["gate_guard", "building_lead"])
def test_the_api_shows_an_exempt_pass_number_only_to_those_who_issue(gate: Gate, persona: str) -> None:
    exempt = worker_pass(gate.checkpoint.compound)
    staff = login(getattr(gate.personas, persona))
    issuer = login(gate.personas.community_worker)
    for client, number in ((staff, ""), (issuer, exempt.number)):
        listed = client.get("/api/v1/gate/exempt-passes").json()
        assert [(row["id"], row["number"]) for row in listed] == [(exempt.pk, number)]
        assert client.get(f"/api/v1/gate/exempt-passes/{exempt.pk}").json()["number"] == number
