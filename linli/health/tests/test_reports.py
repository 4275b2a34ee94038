"""Temperature reports (H3): slots, the 16:00 deadline, midnight, corrections, proxies, the fever
threshold, and the fever escalation's steps."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from linli.audit.models import AuditEvent
from linli.health import selectors, services
from linli.health.choices import Category, EscalationStatus, EscalationStep
from linli.health.models import FeverEscalation, TemperatureReport
from linli.health.tests.conftest import Health, at, day

pytestmark = pytest.mark.django_db


def report(health: Health, value: str | float, moment: datetime.datetime, **kwargs: object) -> services.ReportOutcome:
    kwargs.setdefault("actor", health.personas.resident)
    return services.temperature_report(health.person, temperature=value, now=moment, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moment", "slot", "late"),
    [
        (at(20, 8, 0), 1, False),
        (at(20, 9, 5), 1, False),
        (at(20, 14, 59), 1, False),
        (at(20, 15, 0), 2, False),
        (at(20, 16, 0), 2, False),  # by 16:00 is in time
        (at(20, 16, 1), 2, True),
        (at(20, 23, 50), 2, True),
    ],
)
def test_the_slot_and_the_late_flag_follow_the_clock(
    health: Health, moment: datetime.datetime, slot: int, late: bool
) -> None:
    outcome = report(health, "36.5", moment)
    assert (outcome.report.date, outcome.report.slot, outcome.report.late) == (day(20), slot, late)


def test_a_morning_report_given_in_the_afternoon_is_in_time_until_16(health: Health) -> None:
    assert not report(health, "36.5", at(20, 15, 30), slot=1).report.late
    assert report(health, "36.5", at(21, 16, 30), slot=1).report.late


def test_a_report_after_midnight_belongs_to_the_new_days_morning(health: Health) -> None:
    outcome = report(health, "36.4", at(21, 0, 30))
    assert (outcome.report.date, outcome.report.slot, outcome.report.late) == (day(21), 1, False)


def test_a_report_for_yesterday_entered_after_midnight_is_late(health: Health) -> None:
    outcome = report(health, "36.6", at(21, 0, 30), actor=health.personas.grid_worker, date=day(20), slot=2)
    assert (outcome.report.date, outcome.report.slot, outcome.report.late, outcome.report.by_proxy) == (
        day(20),
        2,
        True,
        True,
    )
    # Yesterday's afternoon is off the chase list, today's morning is not touched.
    assert not TemperatureReport.objects.filter(date=day(21)).exists()


def test_a_report_for_a_future_day_or_an_unknown_slot_is_refused(health: Health) -> None:
    with pytest.raises(ValidationError, match="未来日期"):
        report(health, "36.5", at(20, 23, 0), date=day(21))
    with pytest.raises(ValidationError) as refused:
        report(health, "36.5", at(20, 10), slot=3)
    assert "slot" in refused.value.message_dict


@pytest.mark.parametrize("value", ["", "abc", "33.9", "43.1", "nan", "NaN", "inf", "-inf", "1e400"])
def test_an_impossible_temperature_is_refused(health: Health, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        report(health, value, at(20, 9))
    assert "temperature" in refused.value.message_dict
    assert not TemperatureReport.objects.exists()


def test_a_second_report_for_the_same_slot_corrects_the_first(health: Health) -> None:
    first = report(health, "36.3", at(20, 9, 5))
    second = report(health, "36.8", at(20, 10, 0), symptoms=["cough"])
    assert not first.updated and second.updated
    assert second.report.pk == first.report.pk
    rows = TemperatureReport.objects.filter(person=health.person)
    assert rows.count() == 1
    assert (rows.get().temperature, rows.get().symptoms) == (Decimal("36.8"), ["cough"])
    events = AuditEvent.objects.filter(model="health.TemperatureReport", object_pk=str(first.report.pk))
    assert [e.action for e in events.order_by("pk")] == ["create", "update"]
    assert events.order_by("pk").last().changes["temperature"] == ["36.3", "36.8"]  # type: ignore[union-attr]


def test_correcting_an_in_time_report_after_the_deadline_keeps_it_in_time(health: Health) -> None:
    report(health, "36.3", at(20, 15, 10))
    corrected = report(health, "36.4", at(20, 18, 0), slot=2, actor=health.personas.grid_worker)
    assert corrected.updated and not corrected.report.late
    # A late report stays late when corrected.
    report(health, "36.5", at(21, 16, 30))
    assert report(health, "36.6", at(21, 16, 40)).report.late


def test_own_report_and_proxy_report(health: Health) -> None:
    resident, lead = health.personas.resident, health.personas.building_lead
    own = services.temperature_report(health.person, temperature="36.5", actor=resident, now=at(20, 9))
    family = services.temperature_report(health.others[0], temperature="36.5", actor=resident, now=at(20, 9))
    proxy = services.temperature_report(health.person, temperature="36.5", actor=lead, now=at(20, 15, 5))
    assert (own.report.by_proxy, family.report.by_proxy, proxy.report.by_proxy) == (False, False, True)
    assert (own.report.reported_by, proxy.report.reported_by) == (resident, lead)
    # A resident of another household reporting for this person is a proxy too.
    stranger = health.personas.resident
    stranger.household_id = health.personas.tree.households[f"{health.personas.tree.b2.code}/1单元/101"].pk
    assert services.temperature_report(health.person, temperature="36.5", actor=stranger, now=at(21, 9)).report.by_proxy


def test_37_3_is_not_a_fever_but_37_4_is(health: Health) -> None:
    normal = report(health, "37.3", at(20, 9))
    assert not normal.report.fever and normal.escalation is None
    assert not FeverEscalation.objects.exists()
    fever = report(health, "37.4", at(20, 15, 10))
    assert fever.report.fever and fever.escalation is not None
    assert fever.escalation.temperature == Decimal("37.4")
    assert fever.escalation.report == fever.report


def test_the_reading_is_rounded_to_a_tenth_before_the_threshold(health: Health) -> None:
    assert not report(health, "37.34", at(20, 9)).report.fever
    assert report(health, 37.35, at(20, 15, 5)).report.temperature == Decimal("37.4")


def test_a_fever_symptom_alone_opens_an_escalation(health: Health) -> None:
    outcome = report(health, "36.9", at(20, 9), symptoms=["fever"])
    assert outcome.report.fever and outcome.escalation is not None
    assert outcome.escalation.status == EscalationStatus.OPEN
    assert report(health, "36.9", at(20, 15, 5), symptoms=["cough"]).escalation is None
    assert FeverEscalation.objects.get().status == EscalationStatus.OPEN  # a normal reading does not close it
    with pytest.raises(ValidationError, match="未知的症状"):
        report(health, "36.9", at(21, 9), symptoms=["sneezing"])


def test_other_symptoms_without_fever_open_nothing(health: Health) -> None:
    outcome = report(health, "36.9", at(20, 9), symptoms=["cough", "fatigue"])
    assert not outcome.report.fever and outcome.escalation is None


def test_a_second_fever_reuses_the_open_escalation(health: Health) -> None:
    first = report(health, "37.8", at(20, 9))
    second = report(health, "38.4", at(20, 15, 5))
    third = report(health, "37.6", at(21, 9))
    assert first.escalation is not None and second.escalation is not None and third.escalation is not None
    assert first.escalation.pk == second.escalation.pk == third.escalation.pk
    assert FeverEscalation.objects.count() == 1
    escalation = FeverEscalation.objects.get()
    assert escalation.temperature == Decimal("38.4")  # the highest reading
    assert escalation.opened_at == at(20, 9)
    # Once closed, the next fever opens a new one.
    for step in EscalationStep.values:
        services.escalation_step_done(escalation, step=step, actor=health.personas.medic, now=at(21, 10))
    fourth = report(health, "37.9", at(21, 15, 5))
    assert fourth.escalation is not None and fourth.escalation.pk != escalation.pk
    assert FeverEscalation.objects.count() == 2


def test_escalation_steps_come_in_order_with_their_due_times(health: Health) -> None:
    escalation = report(health, "38.0", at(20, 9)).escalation
    assert escalation is not None
    steps = list(escalation.steps.order_by("position"))
    assert [s.step for s in steps] == [
        "community_notified",
        "street_informed",
        "centre_informed",
        "ambulance_sent",
        "at_fever_clinic",
        "cdc_informed",
    ]
    assert [s.position for s in steps] == [1, 2, 3, 4, 5, 6]
    # The street's defaults, in minutes from the report (editable in the settings).
    assert [int((s.due_at - at(20, 9)).total_seconds() // 60) for s in steps] == [10, 30, 30, 60, 120, 120]


def test_overdue_steps_are_flagged_until_done(health: Health) -> None:
    worker, medic = health.personas.community_worker, health.personas.medic
    escalation = report(health, "38.0", at(20, 9)).escalation
    assert escalation is not None

    def overdue(moment: datetime.datetime) -> list[str]:
        return [s.step for s in services.steps_overdue(escalation, now=moment)]

    assert overdue(at(20, 9, 10)) == []  # due at 09:10, not yet past
    assert overdue(at(20, 9, 11)) == ["community_notified"]
    services.escalation_step_done(escalation, step="community_notified", actor=worker, now=at(20, 9, 12))
    assert overdue(at(20, 9, 31)) == ["street_informed", "centre_informed"]
    services.escalation_step_done(escalation, step="street_informed", actor=worker, now=at(20, 9, 32))
    services.escalation_step_done(escalation, step="centre_informed", actor=worker, note="已电话", now=at(20, 9, 33))
    assert overdue(at(20, 10, 1)) == ["ambulance_sent"]
    assert overdue(at(20, 11, 1)) == ["ambulance_sent", "at_fever_clinic", "cdc_informed"]
    record = escalation.steps.get(step="centre_informed")
    assert (record.done_at, record.done_by, record.note) == (at(20, 9, 33), worker, "已电话")
    services.escalation_step_done(escalation, step="cdc_informed", actor=medic, now=at(20, 11, 2))
    assert overdue(at(20, 11, 3)) == ["ambulance_sent", "at_fever_clinic"]


def test_a_step_waits_for_the_one_it_needs_and_is_done_once(health: Health) -> None:
    worker = health.personas.community_worker
    escalation = report(health, "38.0", at(20, 9)).escalation
    assert escalation is not None
    for step in ("street_informed", "centre_informed", "ambulance_sent", "at_fever_clinic", "cdc_informed"):
        with pytest.raises(ValidationError, match="请先完成"):
            services.escalation_step_done(escalation, step=step, actor=worker, now=at(20, 9, 5))
    services.escalation_step_done(escalation, step="community_notified", actor=worker, now=at(20, 9, 5))
    with pytest.raises(ValidationError, match="已于 11-20 09:05 完成"):
        services.escalation_step_done(escalation, step="community_notified", actor=worker, now=at(20, 9, 6))
    services.escalation_step_done(escalation, step="centre_informed", actor=worker, now=at(20, 9, 6))
    with pytest.raises(ValidationError, match="请先完成"):
        services.escalation_step_done(escalation, step="at_fever_clinic", actor=worker, now=at(20, 9, 7))
    with pytest.raises(ValidationError) as unknown:
        services.escalation_step_done(escalation, step="pray", actor=worker, now=at(20, 9, 7))
    assert "step" in unknown.value.message_dict
    for step in ("street_informed", "ambulance_sent", "at_fever_clinic"):
        services.escalation_step_done(escalation, step=step, actor=worker, now=at(20, 10))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN
    services.escalation_step_done(escalation, step="cdc_informed", actor=worker, now=at(20, 10, 30))
    escalation.refresh_from_db()
    assert (escalation.status, escalation.closed_at) == (EscalationStatus.CLOSED, at(20, 10, 30))
    assert services.steps_overdue(escalation, now=at(21, 0)) == []


def test_a_missing_report_is_chased_and_a_given_one_is_not(health: Health) -> None:
    worker = health.personas.community_worker
    services.key_person_register(
        health.person, category=Category.MEDIUM_RISK_RETURNEE, actor=worker, arrived_on=day(19), now=at(19, 20)
    )
    member = services.key_person_register(
        health.others[0], category=Category.MEDIUM_RISK_RETURNEE, actor=worker, arrived_on=day(19), now=at(19, 20)
    )
    assert member.order is not None
    report(health, "36.5", at(20, 9))
    chased = {m.person_id for m in selectors.chase_list(worker, day(20), 1)}
    assert chased == {health.others[0].pk}
    assert {m.person_id for m in selectors.chase_list(worker, day(20), 2)} == {health.person.pk, health.others[0].pk}
