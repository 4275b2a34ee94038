"""Reads of the registry that feed pages and the API; every one goes through linli.lib.scope."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from linli.lib import scope
from linli.registry.choices import VULNERABLE_FLAGS
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, TravelRecord, Unit

NODE_MODELS: dict[str, type[Any]] = {
    "street": Street,
    "community": Community,
    "grid": Grid,
    "compound": Compound,
    "building": Building,
    "unit": Unit,
    "household": Household,
}


def households_visible(user: Any) -> QuerySet[Household]:
    return scope.visible(Household.objects.select_related("compound", "building", "unit"), user)


def people_visible(user: Any) -> QuerySet[Person]:
    return scope.visible(
        Person.objects.select_related("household__compound", "household__building", "household__unit"), user
    )


def vulnerable_q() -> Q:
    q = Q()
    for field, _label in VULNERABLE_FLAGS:
        q |= Q(**{field: True})
    return q


def scope_summary(user: Any) -> dict[str, Any]:
    """What a staff home page shows: the account's place and how much of the tree lies under it."""
    households = scope.visible(Household.objects.all(), user)
    people = scope.visible(Person.objects.all(), user)
    total = households.count()
    surveyed = households.filter(surveyed_at__isnull=False).count()
    counts = {}
    level = scope.user_level(user) if not scope.is_unrestricted(user) else None
    for name in ("community", "grid", "compound", "building"):
        if level is None or scope.LEVELS.index(name) > scope.LEVELS.index(level):
            counts[name] = scope.visible(NODE_MODELS[name].objects.all(), user).count()
    return {
        "path": user.scope_path if hasattr(user, "scope_path") else [],
        "counts": counts,
        "households": total,
        "people": people.count(),
        "vulnerable": people.filter(vulnerable_q()).count(),
        "surveyed": surveyed,
        # floor, like the survey page: a building is never shown 100% while a household is missing
        "surveyed_percent": 100 * surveyed // total if total else 0,
    }


# --- the tree browser, the household page and the API (pages in linli/registry/views.py) ---

BROWSABLE_LEVELS: tuple[str, ...] = scope.LEVELS[:-1]  # street … unit: the levels that have a node page


@dataclass
class NodeRow:
    """One child in the tree browser, with the numbers a worker checks at a glance."""

    node: Any
    level: str
    households: int = 0
    people: int = 0
    vulnerable: int = 0
    surveyed: int = 0

    @property
    def surveyed_percent(self) -> int:
        return round(100 * self.surveyed / self.households) if self.households else 0


def child_level(level: str | None) -> str:
    """The level below ``level`` (``None`` is the root above the streets)."""
    return scope.LEVELS[0] if level is None else scope.LEVELS[scope.LEVELS.index(level) + 1]


def node_with_ancestors(level: str, user: Any, pk: int) -> Any:
    """A visible node of ``level`` with its ancestors loaded in the same query; Http404 when out of scope."""
    model = NODE_MODELS[level]
    ancestors = scope.LEVELS[: scope.LEVELS.index(level)]
    return scope.get_visible_or_404(model.objects.select_related(*ancestors), user, pk=pk)


def ancestors(node: Any) -> list[tuple[str, Any]]:
    """(level, node) from the street down to the parent of ``node`` (loaded by node_with_ancestors).

    Every ancestor of a node the user may see is itself visible (it is either on the account's own
    path up the tree or between the account's node and this one), so all of them can be links.
    """
    return [(level, getattr(node, level)) for level in scope.LEVELS[: scope.LEVELS.index(node.LEVEL)]]


def node_children(user: Any, level: str | None = None, node_id: int | None = None) -> list[NodeRow]:
    """The visible children of a node (or the visible streets), each with household, people and survey counts.

    Three queries whatever the number of children: the children, households grouped by child, people
    grouped by child.
    """
    below = child_level(level)
    if below == "household":
        raise ValueError("households are listed by unit_households")
    children = scope.visible(NODE_MODELS[below].objects.all(), user)
    households = scope.visible(Household.objects.all(), user)
    people = scope.visible(Person.objects.all(), user)
    if level is not None:
        children = children.filter(**{f"{level}_id": node_id})
        households = households.filter(**{f"{level}_id": node_id})
        people = people.filter(**{f"household__{level}_id": node_id})
    household_counts = {
        row[f"{below}_id"]: row
        for row in households.order_by()
        .values(f"{below}_id")
        .annotate(n=Count("id"), surveyed=Count("id", filter=Q(surveyed_at__isnull=False)))
    }
    people_counts = {
        row[f"household__{below}_id"]: row
        for row in people.order_by()
        .values(f"household__{below}_id")
        .annotate(n=Count("id"), vulnerable=Count("id", filter=vulnerable_q()))
    }
    rows = []
    for child in children:
        h = household_counts.get(child.pk, {})
        p = people_counts.get(child.pk, {})
        rows.append(
            NodeRow(
                node=child,
                level=below,
                households=h.get("n", 0),
                surveyed=h.get("surveyed", 0),
                people=p.get("n", 0),
                vulnerable=p.get("vulnerable", 0),
            )
        )
    return rows


def unit_households(user: Any, unit_id: int) -> QuerySet[Household]:
    """The visible households of a unit with their members (two queries)."""
    return (
        scope.visible(Household.objects.filter(unit_id=unit_id), user)
        .annotate(member_count=Count("members"))
        .prefetch_related("members")
    )


def householder(household: Household) -> Person | None:
    """The householder among the (prefetched) members, else the first member."""
    members = list(household.members.all())
    for person in members:
        if person.relation == "householder":
            return person
    return members[0] if members else None


def household_vulnerable_labels(household: Household) -> list[str]:
    """The vulnerable tags of all (prefetched) members, each once, in VULNERABLE_FLAGS order."""
    labels: list[str] = []
    for person in household.members.all():
        for label in person.vulnerable_labels:
            if label not in labels:
                labels.append(label)
    return labels


def household_page(user: Any, pk: int) -> Household:
    """A visible household with its place in the tree and its members; Http404 when out of scope."""
    qs = Household.objects.select_related("street", "community", "grid", "compound", "building", "unit")
    return scope.get_visible_or_404(qs.prefetch_related("members"), user, pk=pk)


def household_travel(user: Any, household: Household, days: int = 14) -> QuerySet[TravelRecord]:
    """The travel records of the household's members in the last ``days`` days."""
    since = timezone.localdate() - datetime.timedelta(days=days)
    qs = TravelRecord.objects.filter(person__household=household, date__gte=since).select_related("person")
    return scope.visible(qs, user).order_by("-date", "-id")


def is_resident(user: Any) -> bool:
    """A resident account. The superuser keeps the default role (resident) and is not one."""
    return bool(getattr(user, "is_resident", False)) and not scope.is_unrestricted(user)
