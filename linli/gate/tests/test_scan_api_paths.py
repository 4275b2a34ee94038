"""The online scan over HTTP outside any test transaction, as the server runs it: on PostgreSQL the
fast path frames its own transaction (``BEGIN; …`` / ``…; COMMIT``), checks the bearer token in its
first call and refuses exactly as the Python path does; no refusal leaves a row or an open
transaction behind."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from linli.accounts.models import ApiToken
from linli.accounts.services import api_token_create
from linli.gate import services
from linli.gate.api_checkpoint import ScanOut
from linli.gate.models import GateAlert, GateScan, HouseholdGateState
from linli.gate.tests.conftest import Gate, at, build_gate
from linli.lib.testing import build_personas

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def street() -> Iterator[Gate]:
    """The gate of conftest.py, built in a test whose writes commit (transaction=True)."""
    yield build_gate(build_personas())


def token_for(user: Any) -> str:
    return api_token_create(user=user, name="gate")[1]


def post(token: str | None, gate: Gate, credential: str, **extra: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if language := extra.pop("language", None):
        headers["Accept-Language"] = language
    checkpoint = extra.pop("checkpoint", gate.checkpoint.pk)
    body = {
        "uuid": str(extra.pop("key", uuid.uuid4())),
        "credential": credential,
        "direction": "out",
        "device_time": at(23, 9).isoformat(),
        "temperature": "36.5",
        **extra,
    }
    response = Client(headers=headers).post(
        f"/api/v1/gate/checkpoints/{checkpoint}/scan",
        body,
        content_type="application/json",
    )
    if POSTGRES and connection.connection is not None:
        assert connection.connection.info.transaction_status == 0, "left inside a transaction"  # IDLE
    return response


def test_guard_scans_and_the_scan_is_committed(street: Gate) -> None:
    key = token_for(street.personas.gate_guard)
    scan_key = uuid.uuid4()
    response = post(key, street, street.household_pass.token, key=scan_key)
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["verdict"], data["reason"], data["duplicate"]) == ("allowed", "ok", False)
    assert data["household"] == {
        "id": street.household.pk,
        "room": "1号楼1单元101",
        "members": [services.mask_name(street.members[0].name)],
    }
    stored = GateScan.objects.get(uuid=scan_key)
    assert (stored.guard_id, stored.verdict, stored.period_start) == (
        street.personas.gate_guard.pk,
        "allowed",
        datetime.date(2026, 11, 23),
    )
    assert HouseholdGateState.objects.get(household=street.household).out_scan_id == stored.pk
    token = ApiToken.objects.get(key_hash=ApiToken.hash(key))
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < datetime.timedelta(minutes=1)
    # The same uuid again: the first answer, marked as a duplicate, nothing new stored.
    again = post(key, street, street.household_pass.token, key=scan_key).json()
    assert (again["verdict"], again["duplicate"]) == ("allowed", True)
    # A second outing in the window: refused by the quota, with the next time.
    answer = post(key, street, street.household_pass.token, device_time=at(23, 10).isoformat())
    second = answer.json()
    assert (second["reason"], second["next_out_at"]) == ("quota", at(25, 6).isoformat())
    # The body is written without ninja's response validation: it is ScanOut's all the same.
    assert answer["Content-Type"] == "application/json; charset=utf-8"
    assert ScanOut.model_validate(second).model_dump(mode="json") == second
    assert GateScan.objects.count() == 2


@pytest.mark.parametrize("case", ["unknown", "revoked", "inactive"])
def test_a_token_that_does_not_hold_gets_401_and_nothing_is_stored(street: Gate, case: str) -> None:
    guard = street.personas.gate_guard
    key = token_for(guard)
    if case == "unknown":
        key = "ll_not-a-token"
    elif case == "revoked":
        ApiToken.objects.filter(user=guard).update(revoked_at=timezone.now())
    else:
        guard.is_active = False
        guard.save()
    for credential in (street.household_pass.token, street.household_pass.number):  # fast path, Python path
        response = post(key, street, credential)
        assert response.status_code == 401, (credential, response.content)
        assert response.json() == {"detail": "请先登录或提供有效的令牌"}
    assert not GateScan.objects.exists()


def test_refusals_match_the_python_path_for_every_persona(street: Gate) -> None:
    """A QR pass (fast path on PostgreSQL) and a typed number (always the Python path) get the same
    status and body for every account, and an inactive or missing checkpoint is 404 for both."""
    personas = street.personas
    people = [*personas.all_staff(), personas.resident, personas.admin]
    for user in people:
        key = token_for(user)
        by_qr = post(key, street, street.household_pass.token)
        by_number = post(key, street, street.household_pass.number, device_time=at(23, 9, 30).isoformat())
        assert by_qr.status_code == by_number.status_code, user
        if by_qr.status_code != 200:
            assert by_qr.json() == by_number.json(), user
    assert GateScan.objects.filter(guard__in=[personas.gate_guard, personas.admin]).count() == 4
    assert set(GateScan.objects.values_list("guard_id", flat=True)) <= {
        personas.gate_guard.pk,
        personas.admin.pk,
        personas.street_command.pk,
        personas.community_worker.pk,
        personas.grid_worker.pk,
    }
    key = token_for(personas.gate_guard)
    for checkpoint in (street.checkpoint.pk, 999_999):
        if checkpoint == street.checkpoint.pk:
            street.checkpoint.is_active = False
            street.checkpoint.save()
        codes = {
            post(key, street, credential, checkpoint=checkpoint).status_code
            for credential in (street.household_pass.token, street.household_pass.number)
        }
        assert codes == {404}


def test_guard_of_another_checkpoint_gets_404_on_both_paths(street: Gate) -> None:
    west = services.checkpoint_create(compound=street.personas.tree.p1, name="西门")
    guard = street.personas.gate_guard
    guard.checkpoint = west
    guard.save()
    key = token_for(guard)
    for credential in (street.household_pass.token, street.household_pass.number):
        response = post(key, street, credential)
        assert response.status_code == 404
        assert response.json() == {"detail": "未找到"}
    assert not GateScan.objects.exists()


@pytest.mark.skipif(not POSTGRES, reason="the fast path is PostgreSQL's")
def test_http_scan_is_one_round_trip_on_postgresql(street: Gate) -> None:
    from django.test.utils import CaptureQueriesContext

    key = token_for(street.personas.gate_guard)
    post(key, street, street.household_pass.token)  # the connection is open and checked
    with CaptureQueriesContext(connection) as queries:
        response = post(key, street, street.household_pass.token, device_time=at(23, 10).isoformat(), direction="in")
    assert response.status_code == 200
    scan_sql = [q["sql"] for q in queries if "SELECT 1" not in q["sql"]]  # the connection's health check
    assert len(scan_sql) == 1
    assert scan_sql[0].startswith("SELECT * FROM gate_scan_online(")


def test_a_guard_reading_english_raises_a_fever_alert_the_community_reads_in_chinese(street: Gate) -> None:
    key = token_for(street.personas.gate_guard)
    for credential in (street.household_pass.token, street.household_pass.number):  # both paths
        answer = post(key, street, credential, direction="in", temperature="38.5", language="en")
        # the guard's answer is in the guard's language; the alert kept for the community is not
        assert answer.status_code == 200 and "℃" in answer.json()["message"]
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in answer.json()["message"])
        alert = GateAlert.objects.get(scan__uuid=answer.json()["uuid"])
        assert alert.detail == "卡口测温 38.5℃"


def test_an_overdue_alert_is_kept_in_chinese_whatever_the_guards_language(street: Gate) -> None:
    key = token_for(street.personas.gate_guard)
    token = street.household_pass.token  # the fast path on PostgreSQL
    assert post(key, street, token, direction="out", device_time=at(23, 9).isoformat()).json()["verdict"] == "allowed"
    back = post(key, street, token, direction="in", device_time=at(23, 13, 30).isoformat(), language="en")
    assert back.json()["verdict"] == "allowed"
    alert = GateAlert.objects.get(scan__uuid=back.json()["uuid"])
    assert alert.detail == "外出 4 小时 30 分钟后返回，超过规定时长"


@pytest.mark.parametrize(
    "extra", [{"person_id": 2**63}, {"person_id": -(2**63) - 1}, {"mask": None, "credential": "x\x00"}]
)
def test_a_value_no_column_takes_is_a_422_not_a_500(street: Gate, extra: dict[str, Any]) -> None:
    # given a guard's token and a valid pass
    key = token_for(street.personas.gate_guard)
    credential = extra.pop("credential", street.household_pass.token)
    # when a scan carries a person id past a bigint, or a NUL
    response = post(key, street, credential, **extra)
    # then it is refused field by field, and nothing is stored
    assert response.status_code == 422, response.content
    assert response.json()["detail"] and GateScan.objects.count() == 0
