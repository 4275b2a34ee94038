"""Read-side queries of the health module: who is due a temperature, who has not reported (H3)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from linli.health.choices import EscalationStatus, MonitorSource, OrderStatus
from linli.health.models import (
    FeverEscalation,
    Monitoring,
    QuarantineOrder,
    SealedHousehold,
    TemperatureReport,
)
from linli.lib import scope
from linli.lib.idnumbers import mask_phone

SLOTS = (1, 2)


def monitored_on(date: datetime.date, slot: int | None = None) -> Q:
    """The monitoring rows that owe a report on ``date`` (for ``slot`` when given)."""
    q = Q(starts_on__lte=date) & (Q(ends_on__isnull=True) | Q(ends_on__gte=date))
    if slot == 2:
        q &= Q(reports_per_day__gte=2)
    elif slot == 1:
        q &= Q(reports_per_day__gte=1)
    return q


def due(user: Any, date: datetime.date, slot: int) -> QuerySet[Monitoring]:
    """The monitoring rows in ``user``'s scope that owe a report for ``date`` and ``slot``."""
    return scope.visible(Monitoring.objects.filter(monitored_on(date, slot)), user)


# What a chase list row loads: the monitoring without its scoping copies above the community, and
# of its relations only what the list shows (name and phone to call, building-unit-room to find).
# Any other field of the person, household, building or unit is deferred: reading it costs a query
# per row, so a page that needs more adds it here. The street's list runs to thousands of rows,
# and each loaded column and FK copy is paid once per row per model.
CHASE_FIELDS = (
    "id",
    "community_id",
    "building_id",
    "unit_id",
    "household_id",
    "person_id",
    "source",
    "order_id",
    "seal_id",
    "starts_on",
    "ends_on",
    "reports_per_day",
    "person__name",
    "person__phone",
    "household__room",
    "building__name",
    "unit__name",
)


def chase_list(user: Any, date: datetime.date, slot: int) -> QuerySet[Monitoring]:
    """Who has not reported for ``date``'s ``slot`` (the 16:00 chase list), one row per person.

    A person under two monitorings at once (an order and a seal) appears once, on the row with the
    lowest id among those the user may see. Loads only :data:`CHASE_FIELDS`.
    """
    reported = TemperatureReport.objects.filter(person_id=OuterRef("person_id"), date=date, slot=slot)
    earlier = due(user, date, slot).filter(person_id=OuterRef("person_id"), pk__lt=OuterRef("pk"))
    return (
        due(user, date, slot)
        .filter(~Exists(reported), ~Exists(earlier))
        .select_related("person", "household", "building", "unit")
        .only(*CHASE_FIELDS)
        .order_by("community_id", "building_id", "household_id", "person_id")
    )


@dataclass(frozen=True, slots=True)
class ChaseRow:
    """One person on the chase list, as plain values (a street's list runs to thousands of rows)."""

    monitoring_id: int
    person_id: int
    household_id: int
    community_id: int
    source: str
    order_id: int | None
    seal_id: int | None
    reports_per_day: int
    name: str
    phone: str
    room: str
    building_name: str
    unit_name: str

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def address(self) -> str:
        return f"{self.building_name}{self.unit_name}{self.room}"

    @property
    def source_label(self) -> str:
        return str(MonitorSource(self.source).label)


_CHASE_VALUES = (
    "pk",
    "person_id",
    "household_id",
    "community_id",
    "source",
    "order_id",
    "seal_id",
    "reports_per_day",
    "person__name",
    "person__phone",
    "household__room",
    "building__name",
    "unit__name",
)


def chase_rows(user: Any, date: datetime.date, slot: int, *, limit: int | None = None) -> list[ChaseRow]:
    """:func:`chase_list` read as plain rows (no model objects): what the page and the API show."""
    qs = chase_list(user, date, slot).values_list(*_CHASE_VALUES)
    if limit is not None:
        qs = qs[:limit]
    return [ChaseRow(*values) for values in qs]


# People on one chase list (page or API); the counts above it stay exact when it is cut.
CHASE_LIMIT = 1000


@dataclass(frozen=True)
class Chase:
    """A day's slot as the chase page and the API show it: who owes, who is missing, the first rows."""

    due: int
    missing: int
    rows: list[ChaseRow]
    truncated: bool

    @property
    def reported(self) -> int:
        return self.due - self.missing


def chase(user: Any, date: datetime.date, slot: int, *, limit: int = CHASE_LIMIT) -> Chase:
    rows = chase_rows(user, date, slot, limit=limit + 1)
    truncated = len(rows) > limit
    rows = rows[:limit]
    missing = chase_list(user, date, slot).count() if truncated else len(rows)
    due_count = due(user, date, slot).values("person_id").distinct().count()
    return Chase(due=due_count, missing=missing, rows=rows, truncated=truncated)


@dataclass(frozen=True)
class CommunitySummary:
    """One community's day (the 17:00 summary to the street)."""

    community_id: int
    community_name: str
    monitored: int
    reported_morning: int
    reported_afternoon: int
    missing_morning: int
    missing_afternoon: int
    fever: int
    symptoms: int
    open_escalations: int


def daily_summary(user: Any, date: datetime.date) -> list[CommunitySummary]:
    """Per community in ``user``'s scope: monitored people, reports per slot, missing, fevers.

    Counts are by person: a person monitored twice (order and seal) counts once. A slot's reported
    and missing people are those the slot is due from (the afternoon: people reporting twice a
    day), so that the missing ones are exactly the chase list's; fevers and symptoms count anyone
    monitored whose report of the day (either slot) has them.
    """
    reports = TemperatureReport.objects.filter(date=date)

    def reported(**lookups: Any) -> Q:
        return Q(person_id__in=reports.filter(**lookups).values("person_id"))

    def people(condition: Q | None = None) -> Count:
        return Count("person_id", distinct=True, filter=condition)

    twice = Q(reports_per_day__gte=2)
    rows = list(
        due(user, date, 1)
        .values("community_id", "community__name")
        .annotate(
            monitored=people(),
            twice=people(twice),
            reported_morning=people(reported(slot=1)),
            reported_afternoon=people(twice & reported(slot=2)),
            fever=people(reported(fever=True)),
            symptoms=people(Q(person_id__in=reports.exclude(symptoms=[]).values("person_id"))),
        )
        .order_by()
    )
    if not rows:
        return []
    escalations = dict(
        scope.visible(FeverEscalation.objects.filter(status=EscalationStatus.OPEN), user)
        .values("community_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("community_id", "n")
    )
    rows.sort(key=lambda row: (row["community__name"], row["community_id"]))
    return [
        CommunitySummary(
            community_id=row["community_id"],
            community_name=row["community__name"],
            monitored=row["monitored"],
            reported_morning=row["reported_morning"],
            reported_afternoon=row["reported_afternoon"],
            missing_morning=row["monitored"] - row["reported_morning"],
            missing_afternoon=row["twice"] - row["reported_afternoon"],
            fever=row["fever"],
            symptoms=row["symptoms"],
            open_escalations=escalations.get(row["community_id"], 0),
        )
        for row in rows
    ]


def active_orders(user: Any) -> QuerySet[QuarantineOrder]:
    return scope.visible(QuarantineOrder.objects.filter(status=OrderStatus.ACTIVE), user)


def contactless_households(qs: QuerySet[Any] | None = None) -> QuerySet[SealedHousehold]:
    """Households inside an active seal: supplies go to them contactless (H7, S4).

    The supplies module reads this (``.values("household_id")``), scoped as it needs.
    """
    return SealedHousehold.objects.filter(active=True)
