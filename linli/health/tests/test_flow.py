"""The issue's story end to end through the services: a returnee registered, held at the gate,
reporting twice a day, a fever escalated step by step, released by two signatures."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError

from linli.gate import services as gate_services
from linli.gate.models import HouseholdHold
from linli.health import selectors, services
from linli.health.choices import Category, EscalationStatus, EscalationStep, OrderStatus, Place
from linli.health.models import Monitoring, TestTask
from linli.health.tests.conftest import Gate, Health, at, day

pytestmark = pytest.mark.django_db


def scan(gate: Gate, moment: datetime.datetime) -> gate_services.ScanResult:
    data = gate_services.ScanInput(
        uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=moment
    )
    return gate_services.scan_record(gate.checkpoint, gate.personas.gate_guard, data, now=moment)


def test_returnee_from_a_medium_risk_county_is_held_reports_and_is_released(health: Health, gate: Gate) -> None:
    worker, medic = health.personas.community_worker, health.personas.medic
    assert scan(gate, at(20, 9)).scan.verdict == "allowed"

    registration = services.key_person_register(
        health.person, category=None, origin="某省某市某区", arrived_on=day(20), actor=worker, now=at(20, 10)
    )
    assert registration.key_person.category == Category.MEDIUM_RISK_RETURNEE
    assert "中风险" in registration.finding.reason if registration.finding else False
    order = registration.order
    assert order is not None
    assert (order.place, order.days, order.starts_on, order.planned_end) == (
        Place.HOME,
        14,
        day(20),
        datetime.date(2026, 12, 4),
    )
    assert [t.due_on for t in TestTask.objects.filter(order=order)] == [day(20), datetime.date(2026, 12, 3)]

    # The gate refuses the household's pass with the reason, without any manual step.
    refused = scan(gate, at(20, 11))
    assert refused.scan.verdict == "refused"
    assert refused.scan.reason == "observation"  # 本户处于居家观察期

    # Reports are due from tomorrow: not chased today, chased tomorrow at 16:00.
    worker_scope = health.personas.community_worker
    assert not selectors.chase_list(worker_scope, day(20), 1).filter(person=health.person).exists()
    assert selectors.chase_list(worker_scope, day(21), 2).filter(person=health.person).exists()
    services.temperature_report(health.person, temperature="36.6", actor=health.personas.resident, now=at(21, 9, 5))
    outcome = services.temperature_report(
        health.person, temperature="37.8", actor=health.personas.resident, now=at(21, 15, 2)
    )
    assert not selectors.chase_list(worker_scope, day(21), 2).filter(person=health.person).exists()
    assert not outcome.report.by_proxy and outcome.report.slot == 2 and outcome.report.fever

    # 37.8 opened the escalation: six timed steps, overdue ones flagged, done in order.
    escalation = outcome.escalation
    assert escalation is not None
    assert [s.step for s in escalation.steps.all()] == list(EscalationStep.values)
    assert [s.step for s in services.steps_overdue(escalation, now=at(21, 15, 20))] == ["community_notified"]
    with pytest.raises(ValidationError, match="请先完成"):
        services.escalation_step_done(escalation, step="ambulance_sent", actor=medic, now=at(21, 15, 10))
    for step in EscalationStep.values:
        services.escalation_step_done(escalation, step=step, actor=worker, now=at(21, 15, 30))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.CLOSED

    # Release: refused while days are not complete, then needs a negative test, then two signers.
    with pytest.raises(ValidationError) as refused_early:
        services.release_sign(order, actor=worker, now=at(25, 10))
    assert any("隔离期未满" in m for m in refused_early.value.messages)
    end = at(4, 10) + datetime.timedelta(days=30)  # 4 December
    for task in TestTask.objects.filter(order=order):
        services.test_result_record(task, result="negative", actor=medic, now=end - datetime.timedelta(hours=1))
    services.temperature_report(health.person, temperature="36.5", actor=worker, now=end - datetime.timedelta(hours=2))
    first = services.release_sign(order, actor=worker, now=end)
    assert not first.released
    with pytest.raises(ValidationError, match="您已签字"):
        services.release_sign(order, actor=worker, now=end)
    second = services.release_sign(order, actor=medic, now=end)
    assert second.released
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED
    assert not HouseholdHold.objects.filter(household=health.household, released_at__isnull=True).exists()
    assert Monitoring.objects.get(order=order).ends_on == datetime.date(2026, 12, 3)
