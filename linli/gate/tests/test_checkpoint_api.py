"""The checkpoint API: bundle, scan and sync over HTTP, as the checkpoint page and other clients use it."""

from __future__ import annotations

import base64
import datetime
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client

from linli.accounts.services import api_token_create
from linli.gate import passes, services
from linli.gate.choices import HoldReason
from linli.gate.models import GateScan
from linli.gate.tests.conftest import Gate, at

pytestmark = pytest.mark.django_db


def client(user: Any) -> Client:
    _token, key = api_token_create(user=user, name="gate")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def url(gate: Gate, action: str) -> str:
    return f"/api/v1/gate/checkpoints/{gate.checkpoint.pk}/{action}"


def scan_body(gate: Gate, **extra: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "credential": gate.household_pass.token,
        "direction": "out",
        "device_time": at(23, 9).isoformat(),
        "temperature": "36.5",
        "mask": True,
        "health_code": "green",
        **extra,
    }


def test_guard_scans_online(gate: Gate) -> None:
    response = client(gate.personas.gate_guard).post(
        url(gate, "scan"), scan_body(gate), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["verdict"] == "allowed"
    assert data["household"]["room"] == "1号楼1单元101"
    assert data["household"]["members"] == [services.mask_name(gate.members[0].name)]
    scan = GateScan.objects.get()
    assert (scan.guard, scan.temperature, scan.mask, scan.health_code) == (
        gate.personas.gate_guard,
        pytest.approx(36.5),
        True,
        "green",
    )


def test_scan_in_english(gate: Gate) -> None:
    api = client(gate.personas.gate_guard)
    api.post(url(gate, "scan"), scan_body(gate), content_type="application/json")
    data = api.post(
        url(gate, "scan"), scan_body(gate), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    assert data["reason"] == "quota"


def test_bad_input_is_a_422_that_says_what_is_wrong_in_the_guards_language(gate: Gate) -> None:
    body = scan_body(gate, direction="sideways", temperature="99")
    api = client(gate.personas.gate_guard)
    response = api.post(url(gate, "scan"), body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"] == "方向：无效的选项，可选：out、in；体温：不能大于 45"
    assert [error["loc"][-1] for error in response.json()["errors"]] == ["direction", "temperature"]
    english = api.post(url(gate, "scan"), body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["detail"] == "Direction: Invalid option. Allowed: out, in; Temperature: Must be at most 45"
    assert not GateScan.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "supplier", "resident", "building_lead", "medic"])
def test_others_cannot_scan_or_read_the_bundle(gate: Gate, who: str) -> None:
    api = client(getattr(gate.personas, who))
    assert api.get(url(gate, "bundle")).status_code in (403, 404)
    assert api.post(url(gate, "scan"), scan_body(gate), content_type="application/json").status_code in (403, 404)
    assert not GateScan.objects.exists()


def test_guard_of_another_checkpoint_gets_404(gate: Gate) -> None:
    west = services.checkpoint_create(compound=gate.personas.tree.p1, name="西门")
    guard = gate.personas.gate_guard
    guard.checkpoint = west
    guard.save()
    assert client(guard).get(url(gate, "bundle")).status_code == 404
    listed = client(guard).get("/api/v1/gate/checkpoints").json()
    assert [c["id"] for c in listed] == [west.pk]


def test_anonymous_gets_401() -> None:
    assert Client().get("/api/v1/gate/checkpoints").status_code == 401


def test_bundle_lets_a_gate_decide_offline(gate: Gate) -> None:
    services.hold_set(
        household=gate.personas.tree.households[f"{gate.personas.tree.b1.code}/1单元/102"], reason=HoldReason.SEALED
    )
    gate.rules.out_from, gate.rules.out_until = datetime.time(0, 0), datetime.time(23, 59, 59)
    gate.rules.save()
    api = client(gate.personas.gate_guard)
    api.post(
        url(gate, "scan"),
        scan_body(gate, device_time=services.quota.local(services.timezone.now()).isoformat()),
        content_type="application/json",
    )
    bundle = api.get(url(gate, "bundle")).json()
    assert bundle["rules"]["closed"] is True and bundle["rules"]["outings_per_period"] == 1
    assert bundle["utc_offset_minutes"] == 480
    keyring = {
        int(kid): Ed25519PublicKey.from_public_bytes(base64.b64decode(raw)) for kid, raw in bundle["keys"].items()
    }
    token = bundle["numbers"][gate.household_pass.number]
    assert passes.verify(token, keyring).subject == gate.household.pk
    entry = bundle["households"][str(gate.household.pk)]
    assert entry["issue_no"] == gate.household_pass.issue_no
    assert entry["members"] == {str(gate.members[0].pk): services.mask_name(gate.members[0].name)}
    assert sum(entry["periods"].values()) == 1 and entry["out_since"] is not None
    sealed = bundle["households"][str(gate.personas.tree.households[f"{gate.personas.tree.b1.code}/1单元/102"].pk)]
    assert sealed["hold"] == "sealed"
    # only this compound's households
    assert len(bundle["households"]) == 9
    assert bundle["messages"]["quota"] == "外出次数已用完"


def test_sync_over_http_is_idempotent(gate: Gate) -> None:
    api = client(gate.personas.gate_guard)
    scans = [
        scan_body(gate, verdict="allowed", reason="ok"),
        scan_body(gate, verdict="allowed", reason="ok", device_time=at(23, 11).isoformat()),
    ]
    first = api.post(url(gate, "sync"), {"scans": scans}, content_type="application/json").json()
    assert first["stored"] == 2 and first["duplicates"] == 0
    assert [r["violation"] for r in first["results"]] == [True, True]
    again = api.post(url(gate, "sync"), {"scans": scans}, content_type="application/json").json()
    assert again["stored"] == 0 and again["duplicates"] == 2
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    assert GateScan.objects.count() == 2


def test_a_guard_moved_to_another_gate_hands_in_the_scans_taken_at_the_old_one(gate: Gate) -> None:
    # given: the guard of 东门 scanned offline, then was moved to 西门 of the same compound, and 东门
    # was closed, before the phone could sync
    guard = gate.personas.gate_guard
    scans = [
        scan_body(gate, verdict="allowed", reason="ok", guard_id=guard.pk),
        scan_body(gate, verdict="allowed", reason="ok", direction="in", device_time=at(23, 10).isoformat()),
    ]
    west = services.checkpoint_create(compound=gate.personas.tree.p1, name="西门")
    guard.checkpoint = west
    guard.save()
    gate.checkpoint.is_active = False
    gate.checkpoint.save()
    api = client(guard)

    # when: the phone hands them in to 东门
    response = api.post(url(gate, "sync"), {"scans": scans}, content_type="application/json")

    # then: stored at 东门, as the guard's own, once
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 2
    stored = GateScan.objects.all()
    assert {(s.checkpoint_id, s.guard_id, s.offline) for s in stored} == {(gate.checkpoint.pk, guard.pk, True)}
    again = api.post(url(gate, "sync"), {"scans": scans}, content_type="application/json").json()
    assert again["duplicates"] == 2 and GateScan.objects.count() == 2
    # but the binding still holds for the work itself: no online scan, no offline list at 东门
    assert api.post(url(gate, "scan"), scan_body(gate), content_type="application/json").status_code == 404
    assert api.get(url(gate, "bundle")).status_code == 404


def test_a_colleague_syncing_the_phone_keeps_the_moved_guard_as_the_one_who_scanned(gate: Gate) -> None:
    guard = gate.personas.gate_guard
    guard.checkpoint = services.checkpoint_create(compound=gate.personas.tree.p1, name="西门")
    guard.save()
    body = scan_body(gate, verdict="allowed", reason="ok", guard_id=guard.pk)
    response = client(gate.personas.community_worker).post(
        url(gate, "sync"), {"scans": [body]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert GateScan.objects.get().guard_id == guard.pk


def test_a_guard_moved_to_another_compound_cannot_write_into_the_old_one(gate: Gate) -> None:
    # given: the guard was moved to a gate of 和谐家园, out of 阳光小区's scope
    guard = gate.personas.gate_guard
    elsewhere = services.checkpoint_create(compound=gate.personas.tree.p2, name="南门")
    guard.set_scope(gate.personas.tree.p2)
    guard.checkpoint = elsewhere
    guard.save()
    scans = [scan_body(gate, verdict="allowed", reason="ok", guard_id=guard.pk)]

    # then: the sync of 东门's scans is refused (the phone keeps them), and nothing is written
    response = client(guard).post(url(gate, "sync"), {"scans": scans}, content_type="application/json")
    assert response.status_code == 404
    assert not GateScan.objects.exists()
    # nor by a role that may not scan, in scope or not
    for who in ("medic", "resident", "outsider"):
        refused = client(getattr(gate.personas, who)).post(
            url(gate, "sync"), {"scans": scans}, content_type="application/json"
        )
        assert refused.status_code in (403, 404)
    assert not GateScan.objects.exists()


def test_bundle_knows_revoked_numbers_and_collected_tickets(gate: Gate) -> None:
    old = gate.household_pass
    services.pass_issue(household=gate.household, members=gate.members[:1], today=datetime.date.today())
    gate.rules.mode = "ticket"
    gate.rules.out_from, gate.rules.out_until = datetime.time(0, 0), datetime.time(23, 59, 59)
    gate.rules.save()
    now = services.timezone.now()
    period = services.quota.period_start(services.quota_rules(gate.rules), now)
    ticket = services.ticket_issue(household=gate.household, period_start=period)
    api = client(gate.personas.gate_guard)
    body = scan_body(gate, credential=ticket.token, device_time=services.quota.local(now).isoformat())
    assert api.post(url(gate, "scan"), body, content_type="application/json").json()["verdict"] == "allowed"
    bundle = api.get(url(gate, "bundle")).json()
    assert old.number in bundle["revoked_numbers"] and old.number not in bundle["numbers"]
    assert bundle["households"][str(gate.household.pk)]["tickets_collected"] == [period.isoformat()]
    assert bundle["numbers"][ticket.number] == ticket.token


@pytest.mark.parametrize(
    "case",
    ["not json", "not an object", "missing uuid", "bad direction", "checkpoint not a number", "no bearer"],
)
def test_malformed_scans_get_ninjas_answers(gate: Gate, case: str) -> None:
    """A bearer-token scan is answered before ninja parses it only when it parses as it is: anything
    malformed gets ninja's own answer (400, 422, 401) and stores nothing."""
    api = client(gate.personas.gate_guard)
    path, expected = url(gate, "scan"), 422
    body: Any = scan_body(gate)
    if case == "not json":
        body, expected = '{"uuid": ', 400
    elif case == "not an object":
        body = [scan_body(gate)]
    elif case == "missing uuid":
        del body["uuid"]
    elif case == "bad direction":
        body["direction"] = "sideways"
    elif case == "checkpoint not a number":
        path = path.replace(f"/{gate.checkpoint.pk}/", f"/{gate.checkpoint.pk}x/")
    else:
        api, expected = Client(HTTP_AUTHORIZATION="Token abc"), 401
    response = api.post(path, body, content_type="application/json")
    assert response.status_code == expected, response.content
    if expected in (400, 422):
        assert (
            response.json()["detail"]
            == {
                "not json": "请求内容：不是有效的 JSON",
                "not an object": "请求内容：应为 JSON 对象",
                "missing uuid": "uuid：必填",
                "bad direction": "方向：无效的选项，可选：out、in",
                "checkpoint not a number": "卡口：应为整数",
            }[case]
        )
        assert response.json()["errors"]
    assert not GateScan.objects.exists()


def test_guard_scans_online_by_session(gate: Gate) -> None:
    """The checkpoint page's own requests (the session's cookie, no bearer token) take ninja's way."""
    api = Client()
    api.force_login(gate.personas.gate_guard)
    response = api.post(url(gate, "scan"), scan_body(gate), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["verdict"] == "allowed"
    assert GateScan.objects.get().guard == gate.personas.gate_guard
