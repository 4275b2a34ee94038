"""Reads of the registry that feed pages and the API; every one goes through linli.lib.scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from linli.lib import scope
from linli.registry.choices import VULNERABLE_FLAGS
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, Unit

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
    return scope.visible(
        Household.objects.select_related("compound", "building", "unit"), user
    )


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
        "surveyed_percent": round(100 * surveyed / total) if total else 0,
    }
