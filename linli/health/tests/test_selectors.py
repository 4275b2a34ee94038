"""The 16:00 chase list and the 17:00 summary (H3): who is due, who is missing, counted by person."""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from linli.health import selectors
from linli.health.choices import EscalationStatus, MonitorSource
from linli.health.models import FeverEscalation, Monitoring, TemperatureReport, household_kwargs
from linli.lib.testing import Personas
from linli.registry.models import Person

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 21)
YESTERDAY = TODAY - datetime.timedelta(days=1)
TOMORROW = TODAY + datetime.timedelta(days=1)


def people(personas: Personas, building: str) -> list[Person]:
    """The people of a building of the test tree, unit by unit, room by room, householders first."""
    code = getattr(personas.tree, building).code
    households = [h for key, h in personas.tree.households.items() if key.startswith(f"{code}/")]
    return [p for h in households for p in Person.objects.filter(household=h).order_by("pk")]


def monitor(
    person: Person,
    *,
    per_day: int = 2,
    starts_on: datetime.date = TODAY - datetime.timedelta(days=3),
    ends_on: datetime.date | None = TODAY + datetime.timedelta(days=10),
) -> Monitoring:
    source = MonitorSource.ORDER if per_day == 2 else MonitorSource.SEAL
    return Monitoring.objects.create(
        person=person,
        source=source,
        starts_on=starts_on,
        ends_on=ends_on if per_day == 2 else None,
        reports_per_day=per_day,
        **household_kwargs(person.household),
    )


def report(
    person: Person, slot: int, *, on: datetime.date = TODAY, temperature: str = "36.5", symptoms: Any = ()
) -> TemperatureReport:
    hour = 9 if slot == 1 else 15
    return TemperatureReport.objects.create(
        person=person,
        date=on,
        slot=slot,
        temperature=Decimal(temperature),
        fever=Decimal(temperature) > Decimal("37.3"),
        symptoms=list(symptoms),
        reported_at=timezone.make_aware(datetime.datetime.combine(on, datetime.time(hour))),
        **household_kwargs(person.household),
    )


def chased(user: Any, slot: int, on: datetime.date = TODAY) -> list[int]:
    return [m.person_id for m in selectors.chase_list(user, on, slot)]


def test_chase_list_holds_exactly_the_people_missing_each_slot(personas: Personas) -> None:
    # given: in building B1
    a, b, c, d, e, f, g, h, i, j = people(personas, "b1")[:10]
    monitor(a)  # twice a day, reported the morning only
    report(a, 1)
    monitor(b)  # twice a day, reported yesterday but not today
    report(b, 1, on=YESTERDAY)
    report(b, 2, on=YESTERDAY)
    monitor(c, per_day=1)  # once a day (sealed), not reported: chased in the morning only
    monitor(d, per_day=1)  # once a day, reported
    report(d, 1)
    monitor(e)  # reported both slots
    report(e, 1)
    report(e, 2)
    monitor(f, starts_on=TOMORROW)  # starts tomorrow: owes nothing today
    monitor(g, starts_on=TODAY - datetime.timedelta(days=14), ends_on=YESTERDAY)  # ended yesterday
    monitor(h, starts_on=TODAY - datetime.timedelta(days=13), ends_on=TODAY)  # last day is today: still owes
    monitor(i, starts_on=TODAY)  # first day is today: owes
    report(i, 2)  # the afternoon report alone does not answer the morning
    report(j, 1)  # reported without being monitored: not on any list

    # when / then
    street = personas.street_command
    assert sorted(chased(street, 1)) == sorted(p.pk for p in (b, c, h, i))
    assert sorted(chased(street, 2)) == sorted(p.pk for p in (a, b, h))
    assert sorted(chased(street, 1, on=YESTERDAY)) == sorted(p.pk for p in (a, c, d, e, g, h))
    assert f.pk in chased(street, 1, on=TOMORROW) and g.pk not in chased(street, 1, on=TOMORROW)


def test_a_person_under_an_order_and_a_seal_is_chased_once(personas: Personas) -> None:
    person = people(personas, "b1")[0]
    order_row = monitor(person, per_day=2)
    seal_row = monitor(person, per_day=1)

    street = personas.street_command
    assert chased(street, 1) == [person.pk]
    assert chased(street, 2) == [person.pk]
    assert [m.pk for m in selectors.chase_list(street, TODAY, 1)] == [min(order_row.pk, seal_row.pk)]
    assert [m.pk for m in selectors.chase_list(street, TODAY, 2)] == [order_row.pk]  # the seal asks one a day

    report(person, 1)
    assert chased(street, 1) == []
    assert chased(street, 2) == [person.pk]


def test_chase_list_rows_carry_what_the_page_shows_in_one_query(
    personas: Personas, django_assert_num_queries: Any
) -> None:
    for person in people(personas, "b1")[:4] + people(personas, "b3")[:2]:
        monitor(person)

    with django_assert_num_queries(1):
        rows = [
            (m.person.name, m.person.phone, m.building.name, m.unit.name, m.household.room, m.source)
            for m in selectors.chase_list(personas.street_command, TODAY, 2)
        ]
    assert len(rows) == 6
    assert ("户主101", "1号楼", "1单元", "101") in {(r[0], r[2], r[3], r[4]) for r in rows}


def test_daily_summary_counts_people_by_community(personas: Personas) -> None:
    # given: community C1 (buildings B1, B3) and C2 (building B4)
    a, b, c, d, e, f = people(personas, "b1")[:6]
    monitor(a)
    monitor(a, per_day=1)  # a is under an order and a seal: one person
    report(a, 1, temperature="37.8", symptoms=["咳嗽"])
    report(a, 2)
    monitor(b)
    report(b, 1)  # b misses the afternoon
    monitor(c, per_day=1)
    report(c, 1)
    report(c, 2, temperature="38.0")  # once a day: the afternoon is not due, its fever still counts
    monitor(d, per_day=1)  # misses the morning
    monitor(e, ends_on=YESTERDAY, starts_on=TODAY - datetime.timedelta(days=14))  # ended: not counted
    report(f, 1, temperature="38.5")  # not monitored: not counted
    (x,) = people(personas, "b3")[:1]
    monitor(x)
    report(x, 1, symptoms=["乏力"])
    report(x, 2)
    (y,) = people(personas, "b4")[:1]
    monitor(y)
    for person, status in ((a, EscalationStatus.OPEN), (c, EscalationStatus.OPEN), (f, EscalationStatus.CLOSED)):
        FeverEscalation.objects.create(
            person=person, opened_at=timezone.now(), status=status, **household_kwargs(person.household)
        )

    # when
    summary = {row.community_id: row for row in selectors.daily_summary(personas.street_command, TODAY)}

    # then
    c1, c2 = summary[personas.tree.c1.pk], summary[personas.tree.c2.pk]
    assert (c1.community_name, c2.community_name) == ("幸福社区", "团结社区")
    assert (c1.monitored, c1.reported_morning, c1.missing_morning) == (5, 4, 1)  # a b c d x; d missing
    assert (c1.reported_afternoon, c1.missing_afternoon) == (2, 1)  # due: a b x; b missing
    assert (c1.fever, c1.symptoms, c1.open_escalations) == (2, 2, 2)  # fevers a c, symptoms a x
    assert (c2.monitored, c2.reported_morning, c2.missing_morning, c2.missing_afternoon) == (1, 0, 1, 1)
    assert (c2.fever, c2.symptoms, c2.open_escalations) == (0, 0, 0)
    # The summary's missing people are the chase lists' people.
    for slot, field in ((1, "missing_morning"), (2, "missing_afternoon")):
        by_community = Counter(m.community_id for m in selectors.chase_list(personas.street_command, TODAY, slot))
        assert by_community == {row.community_id: getattr(row, field) for row in summary.values()}


def test_a_community_worker_sees_only_their_community(personas: Personas) -> None:
    for person in people(personas, "b1")[:3]:
        monitor(person)
    (outside,) = people(personas, "b4")[:1]
    monitor(outside)

    worker, outsider = personas.community_worker, personas.outsider  # C1 and C2
    assert outside.pk not in chased(worker, 1) and len(chased(worker, 1)) == 3
    assert chased(outsider, 1) == [outside.pk]
    assert [row.community_id for row in selectors.daily_summary(worker, TODAY)] == [personas.tree.c1.pk]

    outside.monitorings.all().delete()
    assert chased(outsider, 1) == chased(outsider, 2) == []
    assert selectors.daily_summary(outsider, TODAY) == []
    assert selectors.daily_summary(personas.supplier, TODAY) == []
    assert chased(personas.supplier, 1) == []
