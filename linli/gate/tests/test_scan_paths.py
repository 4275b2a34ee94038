"""The online scan's two paths agree: PostgreSQL's fast path (one call to ``gate_scan_online``,
migration 0006) and the Python path (the reference, and the only one on SQLite) give the same answers and
store the same rows, scenario by scenario; the API's scope check on the fast path answers as
``checkpoint_for`` does."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from ninja.errors import HttpError

from linli.gate import services
from linli.gate.api_checkpoint import checkpoint_for
from linli.gate.choices import AlertKind, Direction, HoldReason, QuotaMode, Reason, RiskLevel, Verdict
from linli.gate.models import GateAlert, GateRules, GateScan, HouseholdGateState, HouseholdPass
from linli.gate.tests.conftest import Gate, at
from linli.registry.choices import HealthCode

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"
NOW = at(23, 8)


def scan(gate: Gate, when: datetime.datetime, direction: str = "out", *, fast: bool, **extra: Any) -> Any:
    data = services.ScanInput(
        uuid=extra.pop("key", None) or uuid.uuid4(),
        credential=extra.pop("credential", gate.household_pass.token),
        direction=direction,
        device_time=when,
        **extra,
    )
    return services.scan_record(gate.checkpoint, gate.personas.gate_guard, data, now=NOW, fast=fast)


def other_pass(gate: Gate) -> Any:
    other = gate.personas.tree.households[f"{gate.personas.tree.b4.code}/1单元/101"]
    return services.pass_issue(household=other, members=list(other.members.all()[:1]), today=datetime.date(2026, 11, 1))


def ruled(**values: Any) -> Callable[[Gate], dict[str, Any]]:
    """Change the stored rules only (the scenario is rolled back; ``gate.rules`` stays as it was)."""

    def setup(gate: Gate) -> dict[str, Any]:
        GateRules.objects.filter(pk=gate.rules.pk).update(**values)
        return {}

    return setup


def held(reason: str) -> Callable[[Gate], dict[str, Any]]:
    def setup(gate: Gate) -> dict[str, Any]:
        services.hold_set(household=gate.household, reason=reason, source="health")
        return {}

    return setup


# Each scenario: what it sets up, then the scans (keyword arguments of ``scan``).
Step = tuple[datetime.datetime, str, dict[str, Any]]
SCENARIOS: dict[str, tuple[Callable[[Gate], dict[str, Any]], list[Step]]] = {
    "quota_window_and_return": (
        lambda gate: {},
        [(at(23, 9), "out", {}), (at(23, 10), "in", {}), (at(23, 15), "out", {}), (at(25, 6), "out", {})],
    ),
    "hours": (lambda gate: {}, [(at(23, 5, 59), "out", {}), (at(23, 20), "out", {})]),
    "low_risk": (
        ruled(risk_level=RiskLevel.LOW),
        [(at(23, 9), "out", {}), (at(23, 23), "out", {})],
    ),
    "sealed": (
        held(HoldReason.SEALED),
        [(at(23, 9), "out", {}), (at(23, 9, 1), "in", {})],
    ),
    "observation": (
        held(HoldReason.HOME_OBSERVATION),
        [(at(23, 9), "out", {}), (at(23, 9, 1), "in", {})],
    ),
    "other_hold": (
        held(HoldReason.OTHER),
        [(at(23, 9), "out", {})],
    ),
    "fever_with_person": (
        lambda gate: {"person": gate.members[0].pk},
        [(at(23, 9), "out", {}), (at(23, 10), "in", {"temperature": Decimal("37.3"), "person_id": "person"})],
    ),
    "overdue_return": (lambda gate: {}, [(at(23, 9), "out", {}), (at(23, 12, 30), "in", {})]),
    "older_scan_leaves_the_state": (
        lambda gate: {},
        [(at(23, 12), "in", {}), (at(23, 9), "out", {}), (at(23, 13), "out", {})],
    ),
    "revoked_after_reissue": (
        lambda gate: {
            "old": gate.household_pass.token,
            "new": services.pass_issue(
                household=gate.household, members=gate.members, today=datetime.date(2026, 11, 1)
            ).token,
        },
        [(at(23, 9), "out", {"credential": "old"}), (at(23, 9, 1), "out", {"credential": "new"})],
    ),
    "foreign_pass": (
        lambda gate: {"foreign": other_pass(gate).token},
        [(at(23, 9), "out", {"credential": "foreign"})],
    ),
    "member_and_health_code": (
        lambda gate: {"not_member": gate.members[1].pk},
        [(at(23, 9), "out", {"person_id": "not_member"}), (at(23, 9, 1), "out", {"health_code": "yellow"})],
    ),
    "expired": (
        lambda gate: {},
        [(datetime.datetime(2027, 3, 1, 9, tzinfo=services.quota.local_zone()), "out", {})],
    ),
    "not_yet_valid": (
        lambda gate: {},
        [(datetime.datetime(2026, 10, 31, 9, tzinfo=services.quota.local_zone()), "out", {})],
    ),
    "ticket_mode_without_ticket": (
        ruled(mode="ticket"),
        [(at(23, 9), "out", {}), (at(23, 10), "in", {})],
    ),
    "duplicate_uuid": (
        lambda gate: {"same": uuid.UUID(int=99)},
        [(at(23, 9), "out", {"key": "same"}), (at(23, 9), "out", {"key": "same"})],
    ),
    "forged_and_typed": (
        lambda gate: {"forged": gate.household_pass.token[:-4] + "AAAA", "typed": gate.household_pass.number},
        [(at(23, 9), "out", {"credential": "forged"}), (at(23, 9, 1), "out", {"credential": "typed"})],
    ),
}


@pytest.mark.parametrize(("per_period", "days"), [(1, 2), (2, 1), (3, 3)])
def test_the_quota_refusal_reads_right_in_english_for_one_and_many_on_both_paths(
    gate: Gate, per_period: int, days: int
) -> None:
    # The English said "gone out 1 time(s) in 1 days"; the counts come as digits on both paths
    # (gate_scan_online fills the slots _scan_texts sends), so the wording must be right for any count.
    GateRules.objects.filter(pk=gate.rules.pk).update(outings_per_period=per_period, period_days=days)
    refusals = {}
    for fast in (False, True):
        with translation.override("en"), transaction.atomic():
            results = [scan(gate, at(23, 9, i), fast=fast, key=uuid.UUID(int=i + 1)) for i in range(per_period + 1)]
            refusals[fast] = (results[-1].reason, results[-1].message, results[-1].next_out_at)
            transaction.set_rollback(True)
    assert refusals[True] == refusals[False]
    reason, message, next_out_at = refusals[False]
    assert reason == Reason.QUOTA
    assert message == (
        f"Outings used in this {days}-day period: {per_period}; next outing allowed from {next_out_at:%m-%d %H:%M}"
    )


def run(gate: Gate, name: str, *, fast: bool) -> tuple[list[Any], dict[str, Any]]:
    """The answers to the scenario's scans and the rows it left, rolled back afterwards."""
    setup, steps = SCENARIOS[name]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        values = setup(gate)
        answers = []
        for index, (when, direction, extra) in enumerate(steps, start=1):
            extra = {key: values.get(value, value) if isinstance(value, str) else value for key, value in extra.items()}
            extra.setdefault("key", uuid.UUID(int=index))  # the same uuids on both paths
            result = scan(gate, when, direction, fast=fast, **extra)
            answers.append(
                (
                    result.verdict,
                    result.reason,
                    result.message,
                    result.household,
                    result.next_out_at,
                    result.duplicate,
                    result.scan.uuid,
                    result.scan.pk is not None,
                )
            )
        rows = stored_rows()
        transaction.set_rollback(True)
    # On PostgreSQL the fast path must really have answered every household QR that verifies.
    rows["fast_calls"] = sum("gate_scan_online(" in query["sql"] for query in queries)
    expected = 0 if not (fast and POSTGRES) or name == "forged_and_typed" else len(steps)
    assert rows["fast_calls"] == expected, (name, fast)
    rows.pop("fast_calls")
    return answers, rows


def stored_rows() -> dict[str, Any]:
    uuids = dict(GateScan.objects.values_list("pk", "uuid"))
    # Passes issued by a scenario get new ids on each run (sequences are not rolled back): by number.
    passes = {
        pk: (household, issue_no)
        for pk, household, issue_no in HouseholdPass.objects.values_list("pk", "household_id", "issue_no")
    }
    return {
        "scans": sorted(
            (*row[:3], passes.get(row[3]), *row[4:])
            for row in GateScan.objects.values_list(
                "uuid",
                "checkpoint_id",
                "household_id",
                "household_pass_id",
                "ticket_id",
                "exempt_pass_id",
                "person_id",
                "direction",
                "device_time",
                "received_at",
                "guard_id",
                "temperature",
                "mask",
                "health_code",
                "verdict",
                "reason",
                "message",
                "offline",
                "period_start",
                "street_id",
                "community_id",
                "grid_id",
                "compound_id",
            )
        ),
        "states": sorted(
            (
                s.household_id,
                s.last_time,
                s.last_uuid,
                s.out_since,
                s.due_at,
                uuids.get(s.out_scan_id or 0),
                s.compound_id,
            )
            for s in HouseholdGateState.objects.all()
        ),
        "alerts": sorted(
            (
                a.kind,
                a.household_id,
                a.person_name,
                a.detail,
                uuids.get(a.scan_id or 0),
                a.checkpoint_id,
                a.community_id,
            )
            for a in GateAlert.objects.all()
        ),
    }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_both_paths_give_the_same_answers_and_rows(gate: Gate, name: str) -> None:
    python_answers, python_rows = run(gate, name, fast=False)
    fast_answers, fast_rows = run(gate, name, fast=True)
    assert fast_answers == python_answers
    assert fast_rows == python_rows
    assert python_rows["scans"], "every scenario stores scans"


def test_the_scenarios_reach_the_verdicts_they_are_about(gate: Gate) -> None:
    """The comparison above means something: the scenarios cover the rules' answers."""
    reasons = set()
    kinds = set()
    for name in SCENARIOS:
        answers, rows = run(gate, name, fast=True)
        reasons |= {answer[1] for answer in answers}
        kinds |= {alert[0] for alert in rows["alerts"]}
    assert reasons >= {
        Reason.OK,
        Reason.QUOTA,
        Reason.HOURS,
        Reason.SEALED,
        Reason.OBSERVATION,
        Reason.HOLD,
        Reason.FEVER,
        Reason.REVOKED,
        Reason.WRONG_COMPOUND,
        Reason.NOT_MEMBER,
        Reason.HEALTH_CODE,
        Reason.EXPIRED,
        Reason.NOT_YET_VALID,
        Reason.NO_TICKET,
        Reason.FORGED,
    }
    assert kinds == {AlertKind.FEVER, AlertKind.OVERDUE}


def test_fast_path_is_one_call_on_postgresql_and_absent_on_sqlite(gate: Gate) -> None:
    data = services.ScanInput(
        uuid=uuid.uuid4(), credential=gate.household_pass.token, direction=Direction.OUT, device_time=at(23, 9)
    )
    with CaptureQueriesContext(connection) as queries:
        result = services.scan_online(gate.checkpoint.pk, data, user=gate.personas.gate_guard)
    if not POSTGRES:
        assert result is None
        assert len(queries) == 0
        return
    assert result is not None and result.verdict == Verdict.ALLOWED
    sql = [query["sql"] for query in queries]
    assert [s for s in sql if "gate_scan_" in s] == [s for s in sql if "SAVEPOINT" not in s]
    assert sum("gate_scan_online(" in s for s in sql) == 1


def test_fast_path_goes_through_django_cursor_under_execute_wrappers(gate: Gate) -> None:
    """With an execute wrapper installed (query blockers, instrumentation) the call goes through
    Django's cursor, so the wrapper sees it; the answer is the same."""
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    data = services.ScanInput(
        uuid=uuid.uuid4(), credential=gate.household_pass.token, direction=Direction.OUT, device_time=at(23, 9)
    )
    with connection.execute_wrapper(wrapper):
        result = services.scan_online(gate.checkpoint.pk, data, user=gate.personas.gate_guard)
    if not POSTGRES:
        assert result is None and not seen
        return
    assert result is not None and (result.verdict, result.reason) == (Verdict.ALLOWED, Reason.OK)
    assert result.scan.pk == GateScan.objects.get(uuid=data.uuid).pk
    assert sum("gate_scan_online(" in sql for sql in seen) == 1


def test_function_literals_match_the_choices() -> None:
    """Migration 0004 writes these values as literals in SQL."""
    assert (Direction.OUT.value, Verdict.ALLOWED.value) == ("out", "allowed")
    assert (HoldReason.SEALED.value, HoldReason.HOME_OBSERVATION.value) == ("sealed", "home_observation")
    assert (AlertKind.FEVER.value, AlertKind.OVERDUE.value) == ("fever", "overdue")
    assert (Verdict.REFUSED.value, RiskLevel.LOW.value, QuotaMode.TICKET.value) == ("refused", "low", "ticket")
    assert (HealthCode.YELLOW.value, HealthCode.RED.value) == ("yellow", "red")
    assert [
        Reason.OK,
        Reason.REVOKED,
        Reason.FORGED,
        Reason.WRONG_COMPOUND,
        Reason.EXPIRED,
        Reason.NOT_YET_VALID,
        Reason.FEVER,
        Reason.SEALED,
        Reason.OBSERVATION,
        Reason.HOLD,
        Reason.HEALTH_CODE,
        Reason.NOT_MEMBER,
        Reason.HOURS,
        Reason.NO_TICKET,
        Reason.QUOTA,
    ] == [
        "ok",
        "revoked",
        "forged",
        "wrong_compound",
        "expired",
        "not_yet_valid",
        "fever",
        "sealed",
        "observation",
        "hold",
        "health_code",
        "not_member",
        "hours",
        "no_ticket",
        "quota",
    ]


def test_fast_path_models_have_no_init_receivers() -> None:
    """The fast path builds its GateScan without ``__init__`` (linli.lib.prepared.loaded)."""
    from django.db.models.signals import post_init, pre_init

    for model in (GateScan,):
        assert not pre_init.has_listeners(model) and not post_init.has_listeners(model)


def test_verified_pass_cache_forgets_a_replaced_key(gate: Gate) -> None:
    """A QR text verified once is not trusted after the verifying key is reloaded and no longer signs it."""
    from linli.gate import keys

    token = gate.household_pass.token
    assert services._household_payload(token) is not None
    assert services._household_payload(token) is not None  # from the cache
    keys.reset()
    from linli.gate.models import SigningKey

    SigningKey.objects.all().delete()
    keys.create_key()  # same kid, another key
    assert services._household_payload(token) is None


@pytest.mark.skipif(not POSTGRES, reason="the fast path is PostgreSQL's")
def test_the_fast_path_stores_only_for_callers_checkpoint_for_admits(gate: Gate) -> None:
    """``gate_scan_online``'s admission (the API's scope check, in SQL) against ``checkpoint_for``:
    every persona at checkpoints of its own compound, of other compounds and grids, and a guard at a
    checkpoint other than its own. An admitted caller's scan is stored; anyone else's writes nothing
    (the API then refuses through ``checkpoint_for``)."""
    tree = gate.personas.tree
    checkpoints = [
        gate.checkpoint,
        services.checkpoint_create(compound=tree.p1, name="西门"),
        services.checkpoint_create(compound=tree.p2, name="北门"),
        services.checkpoint_create(compound=tree.p3, name="南门"),
    ]
    users = [*gate.personas.all_staff(), gate.personas.resident, gate.personas.admin]
    factory = RequestFactory()
    admitted = 0
    for user in users:
        for checkpoint in checkpoints:
            request = factory.post("/")
            request.user = user
            try:
                checkpoint_for(request, checkpoint.pk, scanning=True)
                expected = True
            except (HttpError, Http404):
                expected = False
            data = services.ScanInput(
                uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="in", device_time=at(23, 9)
            )
            before = GateScan.objects.count()
            result = services.scan_online(checkpoint.pk, data, user=user, admit=True, now=NOW)
            assert (result is not None) == expected, (user, checkpoint.name)
            assert GateScan.objects.count() == before + expected, (user, checkpoint.name)
            admitted += expected
    assert 0 < admitted < len(users) * len(checkpoints)
