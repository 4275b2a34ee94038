"""Online scans at the checkpoint: the verdicts a guard sees and what is recorded (A2, A3, H7)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest

from linli.gate import services
from linli.gate.choices import AlertKind, HoldReason, Reason, RiskLevel, Verdict
from linli.gate.models import GateAlert, GateScan, HouseholdGateState
from linli.gate.tests.conftest import Gate, at

pytestmark = pytest.mark.django_db


def scan(gate: Gate, when: datetime.datetime, direction: str = "out", credential: str | None = None, **extra):  # type: ignore[no-untyped-def]
    data = services.ScanInput(
        uuid=extra.pop("uuid", uuid.uuid4()),
        credential=gate.household_pass.token if credential is None else credential,
        direction=direction,
        device_time=when,
        **extra,
    )
    return services.scan_record(gate.checkpoint, gate.personas.gate_guard, data)


def test_first_outing_allowed_second_refused_with_next_time(gate: Gate) -> None:
    first = scan(gate, at(23, 9))
    assert first.verdict == Verdict.ALLOWED
    assert "12:00" in first.message  # back by 09:00 + 3 h
    assert first.household and first.household["room"] == "1号楼1单元101"
    assert scan(gate, at(23, 10), "in").verdict == Verdict.ALLOWED
    second = scan(gate, at(23, 15))
    assert second.verdict == Verdict.REFUSED
    assert second.reason == Reason.QUOTA
    # Periods of two days from 2020-01-01: 2026-11-23 opens a window, the next opens on the 25th.
    assert second.message == "本户两天内已外出一次，下次可外出时间 11-25 06:00"
    assert second.next_out_at == at(25, 6)


def test_next_window_allows_again_and_midnight_is_its_edge(gate: Gate) -> None:
    assert scan(gate, at(23, 19, 59)).verdict == Verdict.ALLOWED
    assert scan(gate, at(24, 19)).reason == Reason.QUOTA  # same window
    assert scan(gate, at(25, 6)).verdict == Verdict.ALLOWED  # new window


def test_outside_allowed_hours(gate: Gate) -> None:
    result = scan(gate, at(23, 5, 59))
    assert (result.verdict, result.reason) == (Verdict.REFUSED, Reason.HOURS)
    assert "06:00–20:00" in result.message


def test_low_risk_is_open_but_logged(gate: Gate) -> None:
    gate.rules.risk_level = RiskLevel.LOW
    gate.rules.save()
    assert scan(gate, at(23, 9)).verdict == Verdict.ALLOWED
    assert scan(gate, at(23, 23)).verdict == Verdict.ALLOWED
    assert GateScan.objects.count() == 2


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(HoldReason.SEALED, Reason.SEALED), (HoldReason.HOME_OBSERVATION, Reason.OBSERVATION)],
)
def test_held_household_cannot_go_out_until_released(gate: Gate, reason: str, expected: str) -> None:
    services.hold_set(household=gate.household, reason=reason, source="health")
    result = scan(gate, at(23, 9))
    assert (result.verdict, result.reason) == (Verdict.REFUSED, expected)
    assert result.message in ("本户处于封控中", "本户处于居家观察中")
    with pytest.raises(services.GateError, match="解除前不能发放通行证"):
        services.pass_issue(household=gate.household, members=gate.members[:1])
    services.hold_release(household=gate.household)
    assert scan(gate, at(23, 10)).verdict == Verdict.ALLOWED


def test_fever_refuses_entry_and_alerts_the_community(gate: Gate) -> None:
    scan(gate, at(23, 9))
    result = scan(gate, at(23, 10), "in", temperature=Decimal("37.3"), person_id=gate.members[0].pk)
    assert (result.verdict, result.reason) == (Verdict.REFUSED, Reason.FEVER)
    assert "37.3" in result.message
    alert = GateAlert.objects.get(kind=AlertKind.FEVER)
    assert alert.household_id == gate.household.pk
    assert alert.person_name == gate.members[0].name
    assert alert.community_id == gate.personas.tree.c1.pk
    # 37.2 is not a fever
    assert scan(gate, at(23, 10, 5), "in", temperature=Decimal("37.2")).verdict == Verdict.ALLOWED


def test_late_return_raises_overdue_alert(gate: Gate) -> None:
    scan(gate, at(23, 9))
    state = HouseholdGateState.objects.get(household=gate.household)
    assert state.out_since == at(23, 9) and state.due_at == at(23, 12)
    scan(gate, at(23, 12, 30), "in")
    alert = GateAlert.objects.get(kind=AlertKind.OVERDUE)
    assert "3 小时 30 分钟" in alert.detail
    assert HouseholdGateState.objects.get(household=gate.household).out_since is None


def test_reissue_revokes_the_previous_pass(gate: Gate) -> None:
    old = gate.household_pass
    new = services.pass_issue(household=gate.household, members=gate.members, today=datetime.date(2026, 11, 1))
    assert new.issue_no == old.issue_no + 1
    result = scan(gate, at(23, 9), credential=old.token)
    assert (result.verdict, result.reason) == (Verdict.REFUSED, Reason.REVOKED)
    assert scan(gate, at(23, 9, 1), credential=old.number).reason == Reason.REVOKED
    result = scan(gate, at(23, 9, 2), credential=new.token)
    assert result.verdict == Verdict.ALLOWED, result.message


def test_typed_number_works_like_the_qr(gate: Gate) -> None:
    result = scan(gate, at(23, 9), credential=services.passes.format_number(gate.household_pass.number))
    assert result.verdict == Verdict.ALLOWED
    assert scan(gate, at(23, 9, 1), credential="1234567890").reason == Reason.FORGED


def test_forged_and_foreign_passes(gate: Gate) -> None:
    token = gate.household_pass.token
    assert scan(gate, at(23, 9), credential=token[:-4] + "AAAA").reason == Reason.FORGED
    other = gate.personas.tree.households[f"{gate.personas.tree.b4.code}/1单元/101"]
    foreign = services.pass_issue(
        household=other, members=list(other.members.all()[:1]), today=datetime.date(2026, 11, 1)
    )
    result = scan(gate, at(23, 9, 1), credential=foreign.token)
    assert (result.verdict, result.reason) == (Verdict.REFUSED, Reason.WRONG_COMPOUND)
    assert result.household is None  # nothing of another community shown at this gate


def test_not_a_designated_member_and_bad_health_code(gate: Gate) -> None:
    assert scan(gate, at(23, 9), person_id=gate.members[1].pk).reason == Reason.NOT_MEMBER
    assert scan(gate, at(23, 9, 1), health_code="yellow").reason == Reason.HEALTH_CODE


def test_expired_pass(gate: Gate) -> None:
    result = scan(gate, datetime.datetime(2027, 3, 1, 9, tzinfo=services.quota.local_zone()))
    assert result.reason == Reason.EXPIRED


def test_pass_before_its_first_day_is_not_yet_valid_not_expired(gate: Gate) -> None:
    """The fixture's pass is valid from 2026-11-01: the day before, the guard reads when it starts."""
    result = scan(gate, datetime.datetime(2026, 10, 31, 9, tzinfo=services.quota.local_zone()))
    assert (result.verdict, result.reason) == (Verdict.REFUSED, Reason.NOT_YET_VALID)
    assert result.message == "通行证尚未生效，11-01 起可用"
    assert scan(gate, at(1, 9)).verdict == Verdict.ALLOWED


def test_same_uuid_twice_is_one_scan(gate: Gate) -> None:
    key = uuid.uuid4()
    first = scan(gate, at(23, 9), uuid=key)
    again = scan(gate, at(23, 9), uuid=key)
    assert again.duplicate and again.verdict == first.verdict == Verdict.ALLOWED
    assert GateScan.objects.count() == 1


def test_ticket_mode_collects_the_ticket(gate: Gate) -> None:
    gate.rules.mode = "ticket"
    gate.rules.save()
    assert scan(gate, at(23, 9)).reason == Reason.NO_TICKET
    ticket = services.ticket_issue(household=gate.household, period_start=datetime.date(2026, 11, 23))
    assert scan(gate, at(23, 9, 1), credential=ticket.token).verdict == Verdict.ALLOWED
    ticket.refresh_from_db()
    assert ticket.collected_at is not None
    assert scan(gate, at(23, 14), credential=ticket.number).reason == Reason.TICKET_USED
    assert scan(gate, at(23, 10), "in").verdict == Verdict.ALLOWED


def test_changing_the_period_recounts_recent_outings(gate: Gate) -> None:
    from linli.gate.rules import rules_update

    gate.rules.out_from, gate.rules.out_until = datetime.time(0, 0), datetime.time(23, 59, 59)
    gate.rules.period_days = 1
    gate.rules.save()
    now = services.timezone.now()
    assert scan(gate, now).verdict == Verdict.ALLOWED  # today's one-day window
    # Seven-day windows from yesterday: today's outing is in the window that began yesterday.
    rules_update(
        rules=gate.rules,
        actor=gate.personas.community_worker,
        period_days=7,
        period_anchor=services.quota.local(now - datetime.timedelta(days=1)).date(),
    )
    assert scan(gate, now + datetime.timedelta(minutes=1)).reason == Reason.QUOTA
