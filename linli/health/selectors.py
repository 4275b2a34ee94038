"""Read-side queries of the health module: who is due a temperature, who has not reported (H3)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from linli.health.choices import OrderStatus
from linli.health.models import (
    FeverEscalation,
    Monitoring,
    QuarantineOrder,
    SealedHousehold,
    TemperatureReport,
)
from linli.lib import scope

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


def chase_list(user: Any, date: datetime.date, slot: int) -> QuerySet[Monitoring]:
    """Who has not reported for ``date``'s ``slot`` (the 16:00 chase list), one row per person.

    A person under two monitorings at once (an order and a seal) appears once: the rows are
    distinct on person through ``order_by``/``distinct`` on PostgreSQL, and callers dedupe on SQLite.
    """
    reported = TemperatureReport.objects.filter(person_id=OuterRef("person_id"), date=date, slot=slot)
    return (
        due(user, date, slot)
        .filter(~Exists(reported))
        .select_related("person", "household", "building", "unit")
        .order_by("community_id", "building_id", "household_id", "person_id")
    )


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

    Counts are by person: a person monitored twice (order and seal) counts once.
    """
    from linli.registry.models import Community

    monitored = due(user, date, 1)
    by_community: dict[int, dict[str, int]] = {}
    for row in (
        monitored.values("community_id")
        .annotate(
            people=Count("person_id", distinct=True),
            twice=Count("person_id", distinct=True, filter=Q(reports_per_day__gte=2)),
        )
        .order_by()
    ):
        by_community[row["community_id"]] = {"people": row["people"], "twice": row["twice"]}
    if not by_community:
        return []
    reports = TemperatureReport.objects.filter(
        date=date, person_id__in=monitored.values("person_id"), community_id__in=list(by_community)
    )
    counts: dict[tuple[int, int], int] = {}
    for row in reports.values("community_id", "slot").annotate(n=Count("person_id", distinct=True)).order_by():
        counts[(row["community_id"], row["slot"])] = row["n"]
    fever_rows = {
        row["community_id"]: row
        for row in reports.values("community_id")
        .annotate(
            fever=Count("person_id", distinct=True, filter=Q(fever=True)),
            symptoms=Count("person_id", distinct=True, filter=~Q(symptoms=[])),
        )
        .order_by()
    }
    escalations = {
        row["community_id"]: row["n"]
        for row in scope.visible(FeverEscalation.objects.filter(status="open"), user)
        .values("community_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    names = dict(Community.objects.filter(pk__in=list(by_community)).values_list("pk", "name"))
    out = []
    for community_id, row in sorted(by_community.items(), key=lambda item: names.get(item[0], "")):
        morning = counts.get((community_id, 1), 0)
        afternoon = counts.get((community_id, 2), 0)
        fevers = fever_rows.get(community_id, {})
        out.append(
            CommunitySummary(
                community_id=community_id,
                community_name=names.get(community_id, ""),
                monitored=row["people"],
                reported_morning=morning,
                reported_afternoon=afternoon,
                missing_morning=max(row["people"] - morning, 0),
                missing_afternoon=max(row["twice"] - afternoon, 0),
                fever=fevers.get("fever", 0),
                symptoms=fevers.get("symptoms", 0),
                open_escalations=escalations.get(community_id, 0),
            )
        )
    return out


def active_orders(user: Any) -> QuerySet[QuarantineOrder]:
    return scope.visible(QuarantineOrder.objects.filter(status=OrderStatus.ACTIVE), user)


def contactless_households(qs: QuerySet[Any] | None = None) -> QuerySet[SealedHousehold]:
    """Households inside an active seal: supplies go to them contactless (H7, S4).

    The supplies module reads this (``.values("household_id")``), scoped as it needs.
    """
    return SealedHousehold.objects.filter(active=True)
