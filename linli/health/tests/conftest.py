"""The health module's fixtures: the test street with its gate, and a clock in November 2026."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from linli.gate.tests.conftest import Gate, at, gate
from linli.health.models import RiskArea
from linli.lib.testing import Personas
from linli.registry.models import Household, Person


def day(d: int) -> datetime.date:
    return datetime.date(2026, 11, d)


@dataclass
class Health:
    personas: Personas
    household: Household
    person: Person
    others: list[Person]


@pytest.fixture
def health(personas: Personas) -> Health:
    """The resident's household; a medium-risk area in 某区 since 1 November."""
    household = personas.resident_household
    members = list(household.members.order_by("pk"))
    RiskArea.objects.create(
        street=personas.tree.street, county="某省某市某区", name="幸福街道", level="medium", starts_on=day(1)
    )
    return Health(personas, household, members[0], members[1:])


__all__ = ["Gate", "Health", "at", "day", "gate"]
