"""Offline scans synced later: idempotent, order-independent, violations kept for staff (A2, offline)."""

from __future__ import annotations

import datetime
import itertools
import uuid
from decimal import Decimal

import pytest

from linli.gate import services
from linli.gate.choices import AlertKind
from linli.gate.models import GateAlert, GateScan, HouseholdGateState, QuotaViolation
from linli.gate.tests.conftest import Gate, at

pytestmark = pytest.mark.django_db


def offline(gate: Gate, when: datetime.datetime, direction: str = "out", verdict: str = "allowed", **extra):  # type: ignore[no-untyped-def]
    return services.ScanInput(
        uuid=extra.pop("uuid", uuid.uuid4()),
        credential=extra.pop("credential", gate.household_pass.token),
        direction=direction,
        device_time=when,
        verdict=verdict,
        reason="ok" if verdict == "allowed" else "quota",
        **extra,
    )


def sync(gate: Gate, items, checkpoint=None):  # type: ignore[no-untyped-def]
    return services.sync_scans(checkpoint or gate.checkpoint, gate.personas.gate_guard, items)


def test_two_offline_gates_letting_the_same_household_out_record_one_violation(gate: Gate) -> None:
    west = services.checkpoint_create(compound=gate.personas.tree.p1, name="西门")
    east_scan = offline(gate, at(23, 9))
    west_scan = offline(gate, at(23, 11))
    sync(gate, [west_scan], west)
    outcome = sync(gate, [east_scan])
    assert GateScan.objects.count() == 2  # neither scan is lost
    violation = QuotaViolation.objects.get()
    assert (violation.household_id, violation.period_start) == (gate.household.pk, datetime.date(2026, 11, 23))
    assert (violation.allowed, violation.counted) == (1, 2)
    assert set(violation.scans.values_list("uuid", flat=True)) == {east_scan.uuid, west_scan.uuid}
    assert outcome.violations == {east_scan.uuid}


def test_same_batch_twice_is_stored_once(gate: Gate) -> None:
    items = [offline(gate, at(23, 9)), offline(gate, at(23, 10), "in")]
    first = sync(gate, items)
    again = sync(gate, items)
    assert (len(first.stored), len(first.duplicates)) == (2, 0)
    assert (len(again.stored), len(again.duplicates)) == (0, 2)
    assert GateScan.objects.count() == 2
    assert len(sync(gate, [items[0], items[0]]).duplicates) == 2  # a repeat inside one batch too


def test_online_scan_after_offline_sync_sees_the_outing(gate: Gate) -> None:
    sync(gate, [offline(gate, at(23, 9))])
    result = services.scan_record(
        gate.checkpoint,
        gate.personas.gate_guard,
        services.ScanInput(
            uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=at(23, 15)
        ),
    )
    assert result.reason == "quota"


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_state_and_overdue_do_not_depend_on_arrival_order(gate: Gate, order: tuple[int, ...]) -> None:
    scans = [
        offline(gate, at(23, 8), "out"),
        offline(gate, at(23, 12, 30), "in"),  # 4.5 hours: overdue
        offline(gate, at(25, 9), "out"),
        offline(gate, at(25, 10), "in"),  # on time
    ]
    for index in order:
        sync(gate, [scans[index]])
    alerts = GateAlert.objects.filter(kind=AlertKind.OVERDUE)
    assert [a.scan.uuid for a in alerts if a.scan is not None] == [scans[1].uuid]
    state = HouseholdGateState.objects.get(household=gate.household)
    assert state.last_uuid == scans[3].uuid and state.out_since is None
    assert not QuotaViolation.objects.exists()


def test_a_late_scan_between_removes_a_wrong_overdue_alert(gate: Gate) -> None:
    sync(gate, [offline(gate, at(23, 8)), offline(gate, at(23, 14), "in")])
    assert GateAlert.objects.filter(kind=AlertKind.OVERDUE).count() == 1
    # Another gate's scans arrive: the household came back at 10:00 and went out again at 12:00.
    sync(gate, [offline(gate, at(23, 10), "in"), offline(gate, at(23, 12), "out", "refused")])
    sync(gate, [offline(gate, at(23, 12), "out", credential=gate.household_pass.number)])
    assert not GateAlert.objects.filter(kind=AlertKind.OVERDUE).exists()


def test_offline_fever_raises_the_alert_when_synced(gate: Gate) -> None:
    sync(gate, [offline(gate, at(23, 10), "in", "refused", temperature=Decimal("38.1"))])
    assert GateAlert.objects.filter(kind=AlertKind.FEVER).count() == 1


def test_offline_scan_of_a_forged_pass_is_kept_but_counts_nothing(gate: Gate) -> None:
    outcome = sync(gate, [offline(gate, at(23, 9), credential="LL1AAAA")])
    assert len(outcome.stored) == 1
    scan = GateScan.objects.get()
    assert scan.household_id is None
    assert "通行证无效" in scan.message
    assert not HouseholdGateState.objects.exists()


def test_bad_batch_is_refused_whole(gate: Gate) -> None:
    with pytest.raises(services.GateError):
        sync(gate, [offline(gate, at(23, 9)), offline(gate, at(23, 10), verdict="maybe")])
    assert not GateScan.objects.exists()


def test_offline_scan_keeps_the_guard_who_made_it(gate: Gate) -> None:
    personas = gate.personas
    mine = offline(gate, at(23, 9), guard_id=personas.gate_guard.pk)
    foreign = offline(gate, at(23, 10), "in", guard_id=personas.outsider.pk)  # not of this compound
    supplier = offline(gate, at(23, 11), "in", guard_id=personas.supplier.pk)  # not a gate role
    services.sync_scans(gate.checkpoint, personas.community_worker, [mine, foreign, supplier])
    guards = dict(GateScan.objects.values_list("uuid", "guard_id"))
    assert guards[mine.uuid] == personas.gate_guard.pk
    assert guards[foreign.uuid] == personas.community_worker.pk
    assert guards[supplier.uuid] == personas.community_worker.pk
