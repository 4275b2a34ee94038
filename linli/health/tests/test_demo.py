"""The demo street's health work (``make run``): written through the services, consistent with the
gate, and showing each state a worker meets on a day — a missing report, a fever half escalated, a
release, a case with its contacts and its sealed unit."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from linli.accounts.models import User
from linli.audit.models import AuditEvent
from linli.gate import services as gate_services
from linli.gate.models import HouseholdHold
from linli.health import selectors, services
from linli.health.choices import Category, CommunityStatus, EscalationStatus, OrderStatus, Place
from linli.health.choices import TestResult as Result
from linli.health.models import (
    Case,
    CloseContact,
    EpidemicPoint,
    FeverEscalation,
    KeyPerson,
    PropertyEmergency,
    QuarantineOrder,
    ReleaseSignature,
    RiskArea,
    Seal,
    SealedHousehold,
    TemperatureReport,
    TestTask,
)
from linli.lib.testing import shared_rows
from linli.registry.demo import DEMO_ACCOUNTS, SeedResult, seed_demo

pytestmark = pytest.mark.django_db

# A weekday afternoon after the afternoon slot, so that both of today's slots are open.
NOW = timezone.make_aware(datetime.datetime(2026, 11, 20, 16, 30))
TODAY = NOW.date()


@pytest.fixture(scope="class")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[SeedResult]:
    """The demo street, seeded once for the class, rolled back after it (each test's own writes sooner)."""
    yield from shared_rows(django_db_blocker, lambda: seed_demo(households=120, seed=7, now=NOW))


class TestTheSeededStreet:
    """One demo street, seeded once for these read-only tests (see the seeded fixture)."""

    def test_risk_areas_and_the_returnees_of_each_kind(self, seeded: SeedResult) -> None:
        assert RiskArea.objects.filter(street=seeded.street).count() == 3
        assert RiskArea.objects.filter(ends_on__lt=TODAY).count() == 1
        categories = sorted(
            KeyPerson.objects.exclude(category=Category.CLOSE_CONTACT).values_list("category", flat=True)
        )
        assert categories == sorted(
            [
                Category.MEDIUM_RISK_RETURNEE,
                Category.MEDIUM_RISK_RETURNEE,
                Category.HIGH_RISK_RETURNEE,
                Category.OTHER_PROVINCE,
                Category.RETURNEE_MONITORING,
                Category.LOW_RISK_RETURNEE,
            ]
        )
        # Classified from their origin against the risk areas (H1).
        assert KeyPerson.objects.get(category=Category.HIGH_RISK_RETURNEE).risk_level == "high"
        low = KeyPerson.objects.get(category=Category.LOW_RISK_RETURNEE)
        assert low.risk_level == "" and not low.orders.exists()
        assert TestTask.objects.get(person=low.person).result == Result.NEGATIVE
        high = QuarantineOrder.objects.get(category=Category.HIGH_RISK_RETURNEE)
        assert high.place == Place.CENTRALIZED and high.site is not None and high.room == "305"

    def test_todays_reports_leave_exactly_one_person_to_chase(self, seeded: SeedResult) -> None:
        worker = User.objects.get(username="shequ")
        missing = KeyPerson.objects.get(category=Category.OTHER_PROVINCE).person
        for slot in (1, 2):
            assert [m.person_id for m in selectors.chase_list(worker, TODAY, slot)] == [missing.pk]
        assert TemperatureReport.objects.filter(date=TODAY).count() > 10
        assert not TemperatureReport.objects.filter(late=True).exists()
        [summary] = selectors.daily_summary(worker, TODAY)
        assert (summary.missing_morning, summary.missing_afternoon, summary.open_escalations) == (1, 1, 1)

    def test_one_fever_escalation_is_half_done(self, seeded: SeedResult) -> None:
        escalation = FeverEscalation.objects.get()
        assert escalation.status == EscalationStatus.OPEN and escalation.temperature == Decimal("38.2")
        done = [step.step for step in escalation.steps.order_by("position") if step.done_at is not None]
        assert done == ["community_notified", "street_informed", "centre_informed"]
        assert all(step.done_by is not None for step in escalation.steps.exclude(done_at=None))
        assert [s.step for s in services.steps_overdue(escalation, now=NOW)] == [
            "ambulance_sent",
            "at_fever_clinic",
            "cdc_informed",
        ]

    def test_one_returnee_was_released_yesterday_by_two_signatures(self, seeded: SeedResult) -> None:
        order = QuarantineOrder.objects.get(status=OrderStatus.RELEASED)
        assert order.planned_end == TODAY - datetime.timedelta(days=1)
        assert sorted(ReleaseSignature.objects.filter(order=order).values_list("role", flat=True)) == ["cadre", "medic"]
        assert gate_services.active_hold(order.household_id) is None

    def test_a_case_with_contacts_points_and_a_sealed_unit(self, seeded: SeedResult) -> None:
        case = Case.objects.get()
        assert case.kind == "confirmed" and case.person is not None
        community = case.community
        assert services.status_of(community, now=NOW).status == CommunityStatus.CASE
        contacts = CloseContact.objects.filter(case=case)
        assert contacts.count() >= 2
        for contact in contacts:
            order = QuarantineOrder.objects.get(key_person=contact.key_person)
            assert (order.category, order.place, order.days) == (Category.CLOSE_CONTACT, Place.CENTRALIZED, 14)
        assert EpidemicPoint.objects.filter(case=case).count() == 2
        seal = Seal.objects.get()
        assert seal.case == case and seal.unit_id == case.household.unit_id  # type: ignore[union-attr]
        sealed = set(SealedHousehold.objects.filter(seal=seal).values_list("household_id", flat=True))
        held = set(
            HouseholdHold.objects.filter(reason="sealed", released_at__isnull=True).values_list(
                "household_id", flat=True
            )
        )
        assert sealed == held and len(sealed) >= 2
        assert set(selectors.contactless_households().values_list("household_id", flat=True)) == sealed
        # Half the unit's results are in; the patient is not tested by the seal.
        results = list(TestTask.objects.filter(seal=seal).values_list("result", flat=True))
        assert results.count(Result.NEGATIVE) >= 1 and results.count(Result.PENDING) >= 1
        assert not TestTask.objects.filter(seal=seal, person=case.person).exists()
        assert services.unseal_blockers(seal)
        assert PropertyEmergency.objects.get().level == 1

    def test_the_resident_stays_free_and_every_health_write_is_audited_as_a_demo_account(
        self, seeded: SeedResult
    ) -> None:
        home = seeded.resident.household_id if seeded.resident else None
        assert home is not None
        assert gate_services.active_hold(home) is None
        assert not KeyPerson.objects.filter(household_id=home).exists()
        health_events = AuditEvent.objects.filter(model__startswith="health.")
        assert health_events.exists()
        demo_users = {a.username for a in DEMO_ACCOUNTS}
        assert set(health_events.values_list("actor__username", flat=True)) <= demo_users
        event = AuditEvent.objects.get(model="registry.demo")
        assert event.changes["health_cases"] == 1 and event.changes["health_key_persons"] >= 6


def test_the_demo_is_the_same_for_the_same_seed(db: None) -> None:
    from django.db import transaction

    def shape() -> list[tuple[str | None, str, str]]:
        return sorted(KeyPerson.objects.values_list("person__id_number", "category", "risk_level"))

    with transaction.atomic():
        seed_demo(households=120, seed=7, now=NOW)
        first = shape()
        transaction.set_rollback(True)
    seed_demo(households=120, seed=7, now=NOW)
    assert shape() == first


def test_a_small_street_still_seeds(db: None) -> None:
    seed_demo(households=5, seed=7, now=NOW)
    assert RiskArea.objects.count() == 3


def test_the_health_demo_can_be_left_out(db: None) -> None:
    call_command("seed_demo", households=40, no_health=True, stdout=StringIO())
    assert not KeyPerson.objects.exists() and not RiskArea.objects.exists()
    assert HouseholdHold.objects.filter(source="demo").exists()  # the gate's own demo holds instead


def test_leaving_out_the_gate_leaves_out_the_health_demo(db: None) -> None:
    call_command("seed_demo", households=40, no_gate=True, stdout=StringIO())
    assert not KeyPerson.objects.exists() and not HouseholdHold.objects.exists()
