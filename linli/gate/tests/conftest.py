"""A gate at compound P1 (阳光小区) in closed management, with a pass for the resident's household."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from linli.gate import services
from linli.gate.choices import RiskLevel
from linli.gate.models import Checkpoint, GateRules, HouseholdPass
from linli.lib.testing import Personas
from linli.registry.models import Household, Person


@dataclass
class Gate:
    personas: Personas
    checkpoint: Checkpoint
    rules: GateRules
    household: Household
    members: list[Person]
    household_pass: HouseholdPass


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
