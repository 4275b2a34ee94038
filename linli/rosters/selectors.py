"""Reads for the roster pages, the API and the export; every one goes through linli.lib.scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from linli.lib import scope
from linli.registry.models import Person
from linli.rosters import layout
from linli.rosters.models import ImportJob

EXPORT_FIELDS = (
    "household__community__name",
    "household__grid__name",
    "household__compound__name",
    "household__building__name",
    "household__unit__name",
    "household__room",
    "name",
    "id_number",
    "phone",
    "relation",
    "residency",
    "health_code",
    *layout.VULNERABLE_FIELDS,
    "helper_name",
    "helper_phone",
    "household__landlord_name",
    "household__landlord_phone",
    "note",
)


def import_jobs_visible(user: Any) -> QuerySet[ImportJob]:
    """The import jobs of the user's part of the tree, newest first."""
    return scope.visible(ImportJob.objects.select_related("created_by"), user)


def roster_people(user: Any, level: str | None = None, node_id: int | None = None) -> QuerySet[Person]:
    """The people an export contains: the user's scope (everyone for the operator), optionally one node."""
    people = Person.objects.all() if user is None else scope.visible(Person.objects.all(), user)
    if level is not None:
        people = people.filter(**{Person.SCOPE_LOOKUPS[level]: node_id})
    return people.order_by(
        "household__community__code",
        "household__compound__code",
        "household__building__number",
        "household__building__code",
        "household__unit__number",
        "household__unit__code",
        "household__room",
        "household_id",
        "id",
    )


def roster_rows(people: QuerySet[Person]) -> Iterator[list[Any]]:
    """The export's rows in the layout of the template (streamed from the database)."""
    flags = len(layout.VULNERABLE_FIELDS)
    labels = layout.CHOICE_LABELS
    vulnerable = [layout.VULNERABLE_LABELS[field] for field in layout.VULNERABLE_FIELDS]
    for values in people.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000):
        place = list(values[:6])
        name, id_number, phone, relation, residency, health_code = values[6:12]
        chosen = values[12 : 12 + flags]
        helper_name, helper_phone, landlord_name, landlord_phone, note = values[12 + flags :]
        yield [
            *place,
            name,
            id_number or "",
            phone,
            labels["relation"].get(relation, relation),
            labels["residency"].get(residency, residency),
            labels["health_code"].get(health_code, health_code),
            "、".join(label for label, on in zip(vulnerable, chosen, strict=True) if on),
            helper_name,
            helper_phone,
            landlord_name,
            landlord_phone,
            note,
        ]
