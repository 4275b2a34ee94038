"""The street's rule table (H2), reporting clock (H3) and the county rule of H1, pinned to SPEC's numbers.

The expected values are written out here, not read from ``rules.DEFAULT_RULES``: a default changed
in the code without SPEC changing must fail a test.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from linli.audit.models import AuditEvent
from linli.gate.models import HouseholdHold
from linli.health import rules, services
from linli.health.choices import Category, Place, RiskLevel
from linli.health.models import HealthSettings, MeasureRule, Monitoring, TestTask
from linli.health.tests.conftest import Health, at, day
from linli.registry.models import TravelRecord

pytestmark = pytest.mark.django_db


def dec(d: int) -> datetime.date:
    return datetime.date(2026, 12, d)


# SPEC H2, row by row: (days, place, test days, "negative test within N days").
# The test days spell the SPEC's counts: high 3 tests, medium 2, returnee (alt. plan) one every 7 days.
# Close contact and other-province arrival get one test on their last day (SPEC gives no count; H4
# needs a negative test to release) — pinned as well, so that a change is deliberate.
SPEC_H2: dict[str, tuple[int, str, list[int], int | None]] = {
    Category.HIGH_RISK_RETURNEE: (14, Place.CENTRALIZED, [1, 7, 14], None),
    Category.MEDIUM_RISK_RETURNEE: (14, Place.HOME, [1, 14], None),
    Category.LOW_RISK_RETURNEE: (0, Place.NONE, [], 7),
    Category.CLOSE_CONTACT: (14, Place.CENTRALIZED, [14], None),
    Category.OTHER_PROVINCE: (7, Place.HOME_OBSERVATION, [7], None),
    Category.RETURNEE_MONITORING: (14, Place.HOME_MONITORING, [7, 14], None),
    Category.SYMPTOMATIC: (14, Place.HOME_OBSERVATION, [1, 14], None),
    Category.HOME_OBSERVATION: (14, Place.HOME_OBSERVATION, [14], None),
}


def test_the_seeded_rule_table_is_spec_h2(health: Health) -> None:
    street = health.personas.tree.street
    table = rules.rules_table(street)
    assert set(table) == set(Category.values)
    seeded = {
        category: (rule.days, rule.place, rule.test_days, rule.test_within_days) for category, rule in table.items()
    }
    assert seeded == SPEC_H2
    assert table[Category.HIGH_RISK_RETURNEE].tests == 3
    assert table[Category.MEDIUM_RISK_RETURNEE].tests == 2
    assert table[Category.LOW_RISK_RETURNEE].tests == 0
    # H3: twice a day (09:00 and 15:00) for everyone under an order; nothing for a low-risk returnee.
    assert {c: r.reports_per_day for c, r in table.items()} == {
        **{c: 2 for c in Category.values},
        Category.LOW_RISK_RETURNEE: 0,
    }
    # Seeded once: asking again neither duplicates nor resets a row.
    rules.rule_update(table[Category.OTHER_PROVINCE], actor=health.personas.street_command, days=10, test_days=[10])
    assert len(rules.rules_table(street)) == len(Category.values)
    assert rules.rule_for(street, Category.OTHER_PROVINCE).days == 10
    assert MeasureRule.objects.filter(street=street).count() == len(Category.values)


def test_the_reporting_clock_defaults_are_spec_h3(health: Health) -> None:
    clock = rules.settings_for(health.personas.tree.street)
    assert (clock.morning_slot, clock.afternoon_slot, clock.report_deadline, clock.summary_due) == (
        datetime.time(9, 0),
        datetime.time(15, 0),
        datetime.time(16, 0),
        datetime.time(17, 0),
    )
    assert clock.fever_threshold == Decimal("37.3")
    # H1 (14-day travel history) and H5 (cases of the last 14 days).
    assert (clock.risk_window_days, clock.status_window_days) == (14, 14)
    assert HealthSettings.objects.count() == 1
    assert rules.settings_for(health.personas.tree.street.pk).pk == clock.pk


def test_editing_the_clock_moves_the_slots_the_deadline_and_the_threshold(health: Health) -> None:
    street, resident = health.personas.tree.street, health.personas.resident
    rules.settings_update(
        street,
        actor=health.personas.street_command,
        afternoon_slot=datetime.time(14, 0),
        report_deadline=datetime.time(17, 0),
        fever_threshold=Decimal("37.5"),
    )
    outcome = services.temperature_report(health.person, temperature="37.5", actor=resident, now=at(20, 16, 30))
    assert (outcome.report.slot, outcome.report.late, outcome.report.fever) == (2, False, False)
    assert outcome.escalation is None
    early = services.temperature_report(health.others[0], temperature="37.6", actor=resident, now=at(20, 14, 10))
    assert (early.report.slot, early.report.fever) == (2, True)
    late = services.temperature_report(health.person, temperature="36.5", actor=resident, now=at(21, 17, 1))
    assert late.report.late
    assert AuditEvent.objects.filter(model="health.HealthSettings").exists()


def test_the_clock_refuses_an_afternoon_before_the_morning_and_unknown_fields(health: Health) -> None:
    street = health.personas.tree.street
    with pytest.raises(ValidationError, match="下午测温时间须晚于"):
        rules.settings_update(street, actor=None, afternoon_slot=datetime.time(8, 0))
    with pytest.raises(ValidationError, match="上报截止时间须晚于"):
        rules.settings_update(street, actor=None, afternoon_slot=datetime.time(16, 30))
    with pytest.raises(ValidationError, match="社区汇总时间"):
        rules.settings_update(street, actor=None, summary_due=datetime.time(15, 30))
    with pytest.raises(ValidationError, match="不能修改"):
        rules.settings_update(street, actor=None, street_id=99)
    with pytest.raises(ValidationError):
        rules.settings_update(street, actor=None, large_outbreak_cases=1)
    assert rules.settings_for(street).afternoon_slot == datetime.time(15, 0)


def test_editing_a_rule_changes_new_orders_but_not_started_ones(health: Health) -> None:
    worker, commander = health.personas.community_worker, health.personas.street_command
    street = health.personas.tree.street
    first = services.key_person_register(
        health.person, category=Category.MEDIUM_RISK_RETURNEE, actor=worker, arrived_on=day(10), now=at(10, 12)
    ).order
    rule = rules.rule_for(street, Category.MEDIUM_RISK_RETURNEE)
    rules.rule_update(rule, actor=commander, days=21, test_days=[1, 7, 21], reports_per_day=1)
    second = services.key_person_register(
        health.others[0], category=Category.MEDIUM_RISK_RETURNEE, actor=worker, arrived_on=day(10), now=at(10, 12)
    ).order
    assert first is not None and second is not None
    first.refresh_from_db()
    assert (first.days, first.planned_end, first.reports_per_day) == (14, day(24), 2)
    assert [t.due_on for t in TestTask.objects.filter(order=first)] == [day(10), day(23)]
    assert (second.days, second.planned_end, second.reports_per_day) == (21, dec(1), 1)
    assert [t.due_on for t in TestTask.objects.filter(order=second)] == [day(10), day(16), day(30)]
    event = AuditEvent.objects.filter(model="health.MeasureRule").get()
    assert event.changes["days"] == [14, 21]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"test_days": [0, 14]}, "test_days"),
        ({"test_days": [1, 15]}, "test_days"),
        ({"test_days": [-1]}, "test_days"),
        ({"test_days": ["7"]}, "test_days"),
        ({"test_days": [True]}, "test_days"),
        ({"test_days": "1,14"}, "test_days"),
        ({"days": 7}, "test_days"),  # the existing day-14 test falls outside a 7-day period
        ({"days": 0, "place": Place.NONE}, "test_days"),  # no period, so the tests would never be scheduled
        ({"days": 0, "test_days": []}, "days"),  # a place at home without a period
        ({"place": Place.NONE}, "place"),  # 14 days of nothing
        ({"days": 61}, "days"),
        ({"reports_per_day": 3}, "reports_per_day"),
    ],
)
def test_a_bad_rule_is_refused_and_left_unchanged(health: Health, changes: dict[str, Any], field: str) -> None:
    rule = rules.rule_for(health.personas.tree.street, Category.MEDIUM_RISK_RETURNEE)
    with pytest.raises(ValidationError) as refused:
        rules.rule_update(rule, actor=health.personas.street_command, **changes)
    assert field in refused.value.message_dict
    rule.refresh_from_db()
    assert (rule.days, rule.place, rule.test_days, rule.reports_per_day) == (14, Place.HOME, [1, 14], 2)


def test_a_rule_keeps_its_street_and_category(health: Health) -> None:
    rule = rules.rule_for(health.personas.tree.street, Category.MEDIUM_RISK_RETURNEE)
    with pytest.raises(ValidationError, match="不能修改"):
        rules.rule_update(rule, actor=None, category=Category.HIGH_RISK_RETURNEE)


def test_test_days_are_sorted_and_deduplicated(health: Health) -> None:
    rule = rules.rule_for(health.personas.tree.street, Category.HIGH_RISK_RETURNEE)
    rules.rule_update(rule, actor=None, test_days=[14, 1, 7, 7])
    rule.refresh_from_db()
    assert rule.test_days == [1, 7, 14]


# Each category's order, registered at 10:00 on 20 November for an arrival that day:
# (place, days, planned end, test due dates, holds the household's pass, reports a day).
ORDERS: dict[str, tuple[str, int, datetime.date, list[datetime.date], bool, int]] = {
    Category.HIGH_RISK_RETURNEE: (Place.CENTRALIZED, 14, dec(4), [day(20), day(26), dec(3)], False, 2),
    Category.MEDIUM_RISK_RETURNEE: (Place.HOME, 14, dec(4), [day(20), dec(3)], True, 2),
    Category.CLOSE_CONTACT: (Place.CENTRALIZED, 14, dec(4), [dec(3)], False, 2),
    Category.OTHER_PROVINCE: (Place.HOME_OBSERVATION, 7, day(27), [day(26)], True, 2),
    Category.RETURNEE_MONITORING: (Place.HOME_MONITORING, 14, dec(4), [day(26), dec(3)], False, 2),
    Category.SYMPTOMATIC: (Place.HOME_OBSERVATION, 14, dec(4), [day(20), dec(3)], True, 2),
    Category.HOME_OBSERVATION: (Place.HOME_OBSERVATION, 14, dec(4), [dec(3)], True, 2),
}


@pytest.mark.parametrize("category", list(ORDERS))
def test_each_categorys_order_dates_tests_monitoring_and_hold(health: Health, category: str) -> None:
    place, days, end, tests, holds, per_day = ORDERS[category]
    registration = services.key_person_register(
        health.person, category=category, actor=health.personas.community_worker, arrived_on=day(20), now=at(20, 10)
    )
    order = registration.order
    assert order is not None
    assert (order.place, order.days, order.starts_on, order.planned_end) == (place, days, day(20), end)
    assert [t.due_on for t in TestTask.objects.filter(order=order)] == tests
    assert [t.sequence for t in TestTask.objects.filter(order=order)] == list(range(1, len(tests) + 1))
    # Reports are owed from the day after registration until the planned end.
    monitoring = Monitoring.objects.get(order=order)
    assert (monitoring.starts_on, monitoring.ends_on, monitoring.reports_per_day) == (day(21), end, per_day)
    held = HouseholdHold.objects.filter(household=health.household, released_at__isnull=True)
    assert order.holds_pass is holds
    assert list(held.values_list("reason", flat=True)) == (["home_observation"] if holds else [])


def test_a_low_risk_returnee_gets_no_order_but_a_test_on_arrival(health: Health) -> None:
    registration = services.key_person_register(
        health.person,
        category=Category.LOW_RISK_RETURNEE,
        actor=health.personas.community_worker,
        arrived_on=day(19),
        now=at(20, 10),
    )
    assert registration.order is None
    assert [(t.due_on, t.order_id) for t in registration.tests] == [(day(19), None)]
    assert not Monitoring.objects.exists()
    assert not HouseholdHold.objects.exists()
    assert rules.rule_for(health.personas.tree.street, Category.LOW_RISK_RETURNEE).test_within_days == 7


def test_an_earlier_arrival_starts_the_order_on_the_arrival_day(health: Health) -> None:
    order = services.key_person_register(
        health.person,
        category=Category.MEDIUM_RISK_RETURNEE,
        actor=health.personas.community_worker,
        arrived_on=day(17),
        now=at(20, 10),
    ).order
    assert order is not None
    assert (order.starts_on, order.planned_end) == (day(17), dec(1))
    assert [t.due_on for t in TestTask.objects.filter(order=order)] == [day(17), day(30)]
    assert Monitoring.objects.get(order=order).starts_on == day(21)


def test_an_arrival_in_the_future_and_a_second_registration_are_refused(health: Health) -> None:
    worker = health.personas.community_worker
    with pytest.raises(ValidationError, match="到达日期不能晚于今天"):
        services.key_person_register(
            health.person, category=Category.MEDIUM_RISK_RETURNEE, actor=worker, arrived_on=day(21), now=at(20, 23)
        )
    services.key_person_register(health.person, category=Category.MEDIUM_RISK_RETURNEE, actor=worker, now=at(20, 9))
    with pytest.raises(ValidationError, match="已登记为该类重点人员"):
        services.key_person_register(health.person, category=Category.MEDIUM_RISK_RETURNEE, actor=worker, now=at(20, 9))
    with pytest.raises(ValidationError, match="已有进行中的隔离医学观察"):
        services.key_person_register(health.person, category=Category.OTHER_PROVINCE, actor=worker, now=at(20, 9))


# ---------------------------------------------------------------------------------------------
# The county rule of H1. The fixture keeps a medium-risk area in 某省某市某区 since 1 November.


def finding(health: Health, *history: tuple[datetime.date | None, str], today: datetime.date) -> rules.RiskFinding:
    return rules.risk_of_history(health.personas.tree.street.pk, history, today)


def test_any_history_in_a_county_with_a_medium_area_makes_a_medium_risk_returnee(health: Health) -> None:
    # The area is 幸福街道; the person was elsewhere in the county.
    found = finding(health, (day(15), "某省某市某区光明路 3 号"), today=day(20))
    assert found.level == RiskLevel.MEDIUM and found.category == Category.MEDIUM_RISK_RETURNEE
    assert "某省某市某区" in found.reason and "幸福街道" in found.reason and "中风险" in found.reason
    assert finding(health, (day(15), "某省某市另一区"), today=day(20)).level is None


def test_high_beats_medium(health: Health) -> None:
    rules.risk_area_add(
        street=health.personas.tree.street,
        county="某省某市东区",
        name="东区封控小区",
        level=RiskLevel.HIGH,
        starts_on=day(10),
        actor=health.personas.street_command,
    )
    found = finding(health, (day(12), "某省某市某区"), (day(14), "某省某市东区"), today=day(20))
    assert found.level == RiskLevel.HIGH and found.category == Category.HIGH_RISK_RETURNEE
    assert [a.level for a in found.areas] == ["high", "medium"]
    assert "东区封控小区" in found.reason
    assert [a.level for a in rules.areas_active(health.personas.tree.street.pk, day(20))] == ["high", "medium"]


def test_an_area_that_ended_before_the_travel_date_does_not_count(health: Health) -> None:
    street = health.personas.tree.street
    rules.risk_area_add(
        street=street, county="某省南县", name="南县一村", level="high", starts_on=day(1), ends_on=day(10), actor=None
    )
    assert finding(health, (day(11), "某省南县"), today=day(20)).level is None
    assert finding(health, (day(10), "某省南县"), today=day(20)).level == RiskLevel.HIGH


def test_an_area_declared_after_the_visit_counts(health: Health) -> None:
    rules.risk_area_add(
        street=health.personas.tree.street,
        county="某省北县",
        name="北县一村",
        level="high",
        starts_on=day(18),
        actor=None,
    )
    assert finding(health, (day(15), "某省北县"), today=day(20)).level == RiskLevel.HIGH
    # … but not one declared after today.
    assert finding(health, (day(15), "某省北县"), today=day(17)).level is None


def test_a_travel_date_older_than_the_14_day_window_does_not_count(health: Health) -> None:
    today = day(20)
    assert finding(health, (today - datetime.timedelta(days=14), "某省某市某区"), today=today).level == "medium"
    assert finding(health, (today - datetime.timedelta(days=15), "某省某市某区"), today=today).level is None
    assert finding(health, (today + datetime.timedelta(days=1), "某省某市某区"), today=today).level is None


def test_an_undated_origin_is_checked_against_today(health: Health) -> None:
    worker = health.personas.community_worker
    registration = services.key_person_register(
        health.person, category=None, origin="某省某市某区", actor=worker, now=at(20, 10)
    )
    assert registration.key_person.category == Category.MEDIUM_RISK_RETURNEE
    assert registration.key_person.risk_level == RiskLevel.MEDIUM
    # The area ended yesterday: an undated origin no longer matches it.
    rules.risk_area_add(
        street=health.personas.tree.street,
        county="某省西县",
        name="西县",
        level="high",
        starts_on=day(1),
        ends_on=day(19),
        actor=None,
    )
    other = services.key_person_register(
        health.others[0], category=None, origin="某省西县", actor=worker, now=at(20, 10)
    )
    assert other.key_person.category == Category.LOW_RISK_RETURNEE
    assert other.order is None and len(other.tests) == 1


def test_travel_records_count_with_their_dates(health: Health) -> None:
    worker = health.personas.community_worker
    TravelRecord.objects.create(person=health.person, date=day(12), place="某省某市某区")
    registration = services.key_person_register(
        health.person, category=None, origin="某省其他县", arrived_on=day(19), actor=worker, now=at(20, 10)
    )
    assert registration.key_person.category == Category.MEDIUM_RISK_RETURNEE
    order = registration.order
    assert order is not None and order.place == Place.HOME and order.starts_on == day(19)
    with pytest.raises(ValidationError, match="自动判定需要"):
        services.key_person_register(health.others[0], category=None, actor=worker, now=at(20, 10))


def test_a_risk_area_needs_its_fields_and_sane_dates(health: Health) -> None:
    street = health.personas.tree.street
    with pytest.raises(ValidationError):
        rules.risk_area_add(street=street, county="", name="x", level="high", starts_on=day(1), actor=None)
    with pytest.raises(ValidationError):
        rules.risk_area_add(street=street, county="某县", name="x", level="severe", starts_on=day(1), actor=None)
    with pytest.raises(ValidationError, match="解除日期"):
        rules.risk_area_add(
            street=street, county="某县", name="x", level="high", starts_on=day(5), ends_on=day(4), actor=None
        )


def test_seal_report_counts_are_spec_h3_and_editable(health: Health) -> None:
    # given: SPEC H3 — a sealed unit measures once a day [004], an isolated building twice [000 p2]
    street = health.personas.tree.street
    clock = rules.settings_for(street)
    assert (clock.unit_seal_reports_per_day, clock.building_seal_reports_per_day) == (1, 2)
    assert [clock.seal_reports_per_day(level) for level in ("household", "unit", "building")] == [1, 1, 2]

    # when: the street changes them
    rules.settings_update(
        street, actor=health.personas.street_command, unit_seal_reports_per_day=2, building_seal_reports_per_day=1
    )

    # then: saved and audited; out of range (a day has two slots) refused
    clock = rules.settings_for(street)
    assert [clock.seal_reports_per_day(level) for level in ("household", "unit", "building")] == [2, 2, 1]
    event = AuditEvent.objects.filter(model="health.HealthSettings").latest("pk")
    assert event.changes["unit_seal_reports_per_day"] == [1, 2] and event.street_id == street.pk
    for bad in (0, 3):
        with pytest.raises(ValidationError) as refused:
            rules.settings_update(street, actor=None, building_seal_reports_per_day=bad)
        assert "building_seal_reports_per_day" in refused.value.message_dict
    assert rules.settings_for(street).building_seal_reports_per_day == 1


def test_the_clock_refuses_a_fever_threshold_outside_36_to_39(health: Health) -> None:
    street = health.personas.tree.street
    for bad in ("35.9", "39.1", "45.0"):
        with pytest.raises(ValidationError) as refused:
            rules.settings_update(street, actor=None, fever_threshold=Decimal(bad))
        assert refused.value.message_dict["fever_threshold"] == ["发热阈值须在 36.0 到 39.0 ℃ 之间"]
    rules.settings_update(street, actor=None, fever_threshold=Decimal("38.0"))
    assert rules.settings_for(street).fever_threshold == Decimal("38.0")


def test_lifting_a_risk_area_is_audited_with_the_street_and_cannot_precede_its_start(health: Health) -> None:
    street = health.personas.tree.street
    area = rules.risk_area_add(
        street=street, county="某省西县", name="西县一村", level="high", starts_on=day(5), actor=None
    )
    with pytest.raises(ValidationError, match="解除日期不能早于起始日期"):
        rules.risk_area_end(area, ends_on=day(4), actor=health.personas.street_command)

    ended = rules.risk_area_end(area, ends_on=day(12), actor=health.personas.street_command)

    assert ended.ends_on == day(12)
    event = AuditEvent.objects.filter(model="health.RiskArea", action="update").get()
    assert (event.street_id, event.changes) == (street.pk, {"ends_on": [None, "2026-11-12"]})
    # Travel there on the last day still counts; the day after, not.
    assert finding(health, (day(12), "某省西县"), today=day(20)).level == RiskLevel.HIGH
    assert finding(health, (day(13), "某省西县"), today=day(20)).level is None
