"""The demo street's gate (``make run``): checkpoints, closed management, a pass for every household,
a few holds, one compound in ticket mode, and the demo guard at its checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.audit.models import AuditEvent
from linli.gate import keys, pass_admin, passes, services
from linli.gate.choices import QuotaMode, RiskLevel
from linli.gate.models import Checkpoint, GateRules, HouseholdHold, HouseholdPass, OutingTicket, Shift
from linli.health.models import QuarantineOrder, SealedHousehold
from linli.lib.testing import shared_rows
from linli.registry.demo import SeedResult, seed_demo
from linli.registry.models import Compound, Household

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="class")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[SeedResult]:
    """The demo street, seeded once for the class, rolled back after it (each test's own writes sooner)."""
    yield from shared_rows(django_db_blocker, lambda: seed_demo(households=120, seed=7))


class TestTheSeededStreet:
    """One demo street, seeded once for these tests (see the seeded fixture)."""

    def test_every_compound_gets_a_checkpoint_with_shifts_and_closed_rules(self, seeded: SeedResult) -> None:
        compounds = Compound.objects.count()
        assert Checkpoint.objects.filter(name="东门").count() == compounds
        assert Shift.objects.count() == 3 * compounds
        assert GateRules.objects.filter(risk_level=RiskLevel.MEDIUM).count() == compounds
        assert all(rules.is_closed for rules in GateRules.objects.all())
        assert GateRules.objects.filter(mode=QuotaMode.TICKET).count() == 1

    def test_every_household_holds_a_signed_pass_naming_its_householder(self, seeded: SeedResult) -> None:
        active = HouseholdPass.objects.filter(is_active=True).select_related("household").prefetch_related("members")
        assert active.count() == Household.objects.count() == seeded.households
        public = keys.public_keys()
        for item in active:
            payload = passes.verify(item.token, public)
            assert (payload.subject, payload.issue_no) == (item.household_id, 1)
            members = list(item.members.all())
            assert len(members) == 1 and members[0].household_id == item.household_id
            assert payload.members == (members[0].pk,)
            # the householder, or the first registered member of a household without one (tenants)
            householder = item.household.members.filter(relation="householder").order_by("pk").first()
            assert members[0] == (householder or item.household.members.order_by("pk").first())
            assert passes.clean_number(item.number) == item.number
        assert len({item.number for item in active}) == seeded.households

    def test_the_guard_works_at_its_compounds_checkpoint_and_the_resident_can_go_out(self, seeded: SeedResult) -> None:
        guard = User.objects.get(username="menwei")
        assert guard.checkpoint is not None and guard.checkpoint.compound_id == guard.compound_id
        assert seeded.resident is not None and seeded.resident.household_id is not None
        # The holds come from the health demo's orders and seals (linli/health/demo.py), not raw rows.
        holds = list(HouseholdHold.objects.filter(released_at__isnull=True))
        home = set(
            QuarantineOrder.objects.filter(status="active", holds_pass=True).values_list("household_id", flat=True)
        )
        sealed = set(SealedHousehold.objects.filter(active=True).values_list("household_id", flat=True))
        assert len(home) == 2 and sealed
        assert {hold.household_id for hold in holds if hold.reason == "home_observation"} == home
        assert {hold.household_id for hold in holds if hold.reason == "sealed"} == sealed
        assert {hold.source for hold in holds} == {"health"}
        assert {hold.compound_id for hold in holds if hold.reason == "home_observation"} == {guard.compound_id}
        assert services.active_hold(seeded.resident.household_id) is None

        client = Client()
        client.force_login(guard)
        response = client.get(reverse("gate:index"))
        assert response["Location"] == reverse("gate:checkpoint", kwargs={"pk": guard.checkpoint.pk})
        client.force_login(seeded.resident)
        my_pass = client.get(reverse("gate:my_pass")).content.decode()
        assert "<svg" in my_pass

    def test_the_ticket_compound_has_this_periods_tickets(self, seeded: SeedResult) -> None:
        rules = GateRules.objects.get(mode=QuotaMode.TICKET)
        start = pass_admin.period_of(rules)
        households = Household.objects.filter(compound_id=rules.compound_id).count()
        assert OutingTicket.objects.filter(compound_id=rules.compound_id, period_start=start).count() == households
        guard = User.objects.get(role=Role.GATE_GUARD)
        assert rules.compound_id != guard.compound_id  # the guard's own compound shows the quota

    def test_the_seed_still_writes_one_audit_event(self, seeded: SeedResult) -> None:
        # One for the bulk rows; the health demo's writes are audited as the demo accounts that made them.
        event = AuditEvent.objects.get(model="registry.demo")
        assert event.changes["passes"] == seeded.households
        assert event.changes["checkpoints"] == Compound.objects.count()


def test_without_the_health_demo_the_gate_seeds_its_own_holds(db: None) -> None:
    seed_demo(households=120, seed=7, health=False)
    guard = User.objects.get(username="menwei")
    holds = HouseholdHold.objects.filter(released_at__isnull=True)
    assert holds.count() == 4
    assert {hold.compound_id for hold in holds} == {guard.compound_id}
    assert sorted(hold.reason for hold in holds) == ["home_observation", "home_observation", "sealed", "sealed"]
    assert not QuarantineOrder.objects.exists() and not SealedHousehold.objects.exists()


def test_the_gate_can_be_left_out_of_a_seed(db: None) -> None:
    out = StringIO()
    call_command("seed_demo", households=40, no_gate=True, stdout=out)
    assert Household.objects.count() == 40
    assert not Checkpoint.objects.exists() and not HouseholdPass.objects.exists()
    assert User.objects.get(username="menwei").checkpoint is None


def test_make_run_flow_lists_the_guards_checkpoint(db: None) -> None:
    call_command("seed_demo", households=30, if_empty=True, stdout=StringIO())
    out = StringIO()
    call_command("demo_accounts", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("menwei"))
    assert "东门" in line
    assert HouseholdPass.objects.filter(is_active=True).count() == 30
