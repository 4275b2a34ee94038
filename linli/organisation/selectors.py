"""Reads of the responsibility chain and the working groups; every one goes through linli.lib.scope."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When

from linli.lib import scope
from linli.organisation.models import CoverSlot, GroupKind, GroupMember, ManagingUnit, WorkingGroup
from linli.registry.models import Community, Compound

DAY_MINUTES = 24 * 60


def compounds_with_chain(user: Any) -> QuerySet[Compound]:
    """The compounds the user may see, with their chain, cover slots and former managers (three queries)."""
    return scope.visible(
        Compound.objects.select_related("community", "grid", "responsibility").prefetch_related(
            Prefetch("cover_slots", queryset=CoverSlot.objects.order_by("starts", "id")),
            Prefetch("managing_units", queryset=ManagingUnit.objects.order_by("-buildings", "id")),
        ),
        user,
    )


def _minutes(value: datetime.time) -> int:
    return value.hour * 60 + value.minute


def cover_gaps(slots: Iterable[CoverSlot]) -> list[tuple[datetime.time, datetime.time]]:
    """The parts of the day no slot covers, as (start, end) times; [] when the 24 hours are covered."""
    covered = [False] * DAY_MINUTES
    for slot in slots:
        start, end = _minutes(slot.starts), _minutes(slot.ends)
        spans = [(start, end)] if end > start else [(start, DAY_MINUTES), (0, end)]
        for first, last in spans:
            covered[first:last] = [True] * (last - first)
    gaps: list[tuple[datetime.time, datetime.time]] = []
    minute = 0
    while minute < DAY_MINUTES:
        if covered[minute]:
            minute += 1
            continue
        begin = minute
        while minute < DAY_MINUTES and not covered[minute]:
            minute += 1
        gaps.append((_time(begin), _time(minute)))
    return gaps


def _time(minute: int) -> datetime.time:
    return datetime.time(0, 0) if minute >= DAY_MINUTES else datetime.time(minute // 60, minute % 60)


def _kind_order() -> Case:
    """GroupKind's declaration order: the leading group first, then the working groups as the plans list them."""
    return Case(
        *[When(kind=kind, then=Value(index)) for index, kind in enumerate(GroupKind.values)],
        default=Value(len(GroupKind.values)),
        output_field=IntegerField(),
    )


def groups_visible(user: Any) -> QuerySet[WorkingGroup]:
    """The groups of the user's community and of its street (leader first in each group's members).

    A community-level account also sees its street's own groups (``community`` empty): they are on its
    path up the tree, like the street itself.
    """
    groups = WorkingGroup.objects.select_related("street", "community").prefetch_related(
        Prefetch("members", queryset=GroupMember.objects.order_by("-is_leader", "id"))
    )
    visible = scope.visible(groups, user)
    street_id = getattr(user, "street_id", None)
    if not scope.is_unrestricted(user) and street_id and scope.user_level(user) != "street":
        visible = groups.filter(Q(pk__in=visible.values("pk")) | Q(street_id=street_id, community__isnull=True))
    return visible.annotate(kind_order=_kind_order()).order_by(
        "street_id", F("community_id").asc(nulls_first=True), "kind_order", "id"
    )


def community_duty_phones(community: Community) -> list[tuple[str, str]]:
    """The community's groups with a 24-hour phone, leading group first: (group name, phone)."""
    rows = (
        WorkingGroup.objects.filter(community=community)
        .exclude(duty_phone="")
        .annotate(kind_order=_kind_order())
        .order_by("kind_order", "id")
        .values_list("name", "duty_phone")
    )
    return list(rows)
