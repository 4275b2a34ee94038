"""A gate at compound P1 (阳光小区) in closed management, with a pass for the resident's household."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from linli.gate import services, visitors
from linli.gate.choices import ExemptKind, RiskLevel
from linli.gate.models import Checkpoint, ExemptPass, GateRules, HouseholdPass
from linli.lib.testing import Personas
from linli.registry.models import Compound, Household, Person


@dataclass
class Gate:
    personas: Personas
    checkpoint: Checkpoint
    rules: GateRules
    household: Household
    members: list[Person]
    household_pass: HouseholdPass


def worker_pass(compound: Compound, *, person: Person | None = None, days: int = 0, actor: Any = None) -> ExemptPass:
    """A worker's exempt pass (复工证明) of ``compound``, valid until ``days`` from today; held by
    ``person`` (a resident) when given."""
    return visitors.exempt_create(
        compound=compound,
        actor=actor,
        kind=ExemptKind.WORKER,
        name=person.name if person else "赵",
        organisation="厂",
        proof="1",
        valid_until=timezone.localdate() + datetime.timedelta(days=days),
        person=person,
    )


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment in local time (Asia/Shanghai), November 2026."""
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=services.quota.local_zone())


def build_gate(personas: Personas) -> Gate:
    """The checkpoint 东门 of P1 in closed management, its guard, and a pass for the resident's household."""
    tree = personas.tree
    checkpoint = services.checkpoint_create(compound=tree.p1, name="东门")
    rules = services.rules_for(tree.p1)
    rules.risk_level = RiskLevel.MEDIUM
    rules.save()
    household = personas.resident_household
    members = list(household.members.order_by("pk"))
    household_pass = services.pass_issue(household=household, members=members[:1], today=datetime.date(2026, 11, 1))
    personas.gate_guard.checkpoint = checkpoint
    personas.gate_guard.save()
    return Gate(personas, checkpoint, rules, household, members, household_pass)


@pytest.fixture
def gate(personas: Personas) -> Gate:
    return build_gate(personas)
