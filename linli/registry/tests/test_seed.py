"""The demo street: deterministic, valid, consistent, with one scoped account per role."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.audit.models import AuditEvent
from linli.lib.idnumbers import birth_date_from_id, gender_from_id, id_number_error, phone_error
from linli.lib.testing import shared_rows
from linli.registry.choices import Relation, Residency
from linli.registry.demo import DEFAULT_PASSWORD, DEMO_ACCOUNTS, SeedResult, seed_demo
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, Unit
from linli.registry.selectors import vulnerable_q

NOW = timezone.make_aware(datetime.datetime(2026, 3, 1, 9, 0))


def seed(households: int = 60, seed: int = 7) -> SeedResult:
    return seed_demo(households=households, seed=seed, now=NOW)


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Person.objects.order_by("id").values_list(
            "name", "id_number", "phone", "relation", "household__room", "household__compound__name"
        )
    )


@pytest.fixture(scope="class")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[SeedResult]:
    """The demo street, seeded once for the class, rolled back after it (each test's own writes sooner)."""
    yield from shared_rows(django_db_blocker, lambda: seed())


def test_same_seed_builds_the_same_street(db: None) -> None:
    with transaction.atomic():
        seed()
        first = snapshot()
        transaction.set_rollback(True)
    with transaction.atomic():
        seed(seed=8)
        other = snapshot()
        transaction.set_rollback(True)
    seed()

    assert snapshot() == first
    assert [row[:2] for row in other] != [row[:2] for row in first]


@pytest.mark.django_db
class TestTheSeededStreet:
    """One demo street, seeded once for these tests (see the seeded fixture)."""

    def test_seed_builds_the_households_asked_for_with_families_of_two_to_three_and_a_half(
        self, seeded: SeedResult
    ) -> None:
        assert Household.objects.count() == seeded.households == 60
        assert Person.objects.count() == seeded.people
        assert 2.0 <= seeded.people / seeded.households <= 3.5
        assert Street.objects.get().name == "和平街道"
        assert Community.objects.count() >= 2
        for community in Community.objects.all():
            assert 3 <= Grid.objects.filter(community=community).count() <= 6

    def test_every_id_number_is_valid_and_agrees_with_birth_date_and_gender(self, seeded: SeedResult) -> None:
        people = list(Person.objects.all())
        for person in people:
            number = person.id_number or ""
            assert id_number_error(number) is None, number
            assert person.birth_date == birth_date_from_id(number)
            assert person.gender == gender_from_id(number)
            assert person.id_tail == number[-4:]
        assert len({p.id_number for p in people}) == len(people)

    def test_phones_are_valid_and_unique(self, seeded: SeedResult) -> None:
        phones = list(Person.objects.exclude(phone="").values_list("phone", "phone_tail"))
        assert len(phones) > seeded.people / 2
        assert all(phone_error(phone) is None and tail == phone[-4:] for phone, tail in phones)
        assert len({phone for phone, _ in phones}) == len(phones)

    def test_relatives_ages_fit_their_relation(self, seeded: SeedResult) -> None:
        for household in Household.objects.prefetch_related("members"):
            members = list(household.members.all())
            head = next((m for m in members if m.relation in (Relation.HOUSEHOLDER, Relation.TENANT)), None)
            assert head is not None and head.birth_date is not None
            for member in members:
                assert member.birth_date is not None
                if member.relation == Relation.CHILD:
                    assert (member.birth_date - head.birth_date).days > 18 * 365
                if member.relation == Relation.PARENT:
                    assert (head.birth_date - member.birth_date).days > 18 * 365
                if member.relation == Relation.SPOUSE:
                    assert member.gender != head.gender

    def test_tree_is_consistent_every_node_carries_its_ancestors(self, seeded: SeedResult) -> None:
        levels = ("street_id", "community_id", "grid_id", "compound_id", "building_id")
        for household in Household.objects.select_related("unit"):
            unit = household.unit
            assert [getattr(household, f) for f in levels] == [getattr(unit, f) for f in levels]
            assert household.code == f"{unit.code}-{household.room}"
        for unit in Unit.objects.select_related("building"):
            assert [getattr(unit, f) for f in levels[:4]] == [getattr(unit.building, f) for f in levels[:4]]
        for building in Building.objects.select_related("compound"):
            assert [getattr(building, f) for f in levels[:3]] == [getattr(building.compound, f) for f in levels[:3]]
        for compound in Compound.objects.select_related("grid"):
            assert (compound.street_id, compound.community_id) == (compound.grid.street_id, compound.grid.community_id)
            assert compound.property_company or compound.lead_unit
        assert {g.street_id for g in Grid.objects.all()} == {seeded.street.pk}

    def test_demo_accounts_are_created_and_scoped_to_the_demo_street(self, seeded: SeedResult) -> None:
        users = {u.username: u for u in User.objects.all()}
        expected = {
            "jiedao": (Role.STREET_COMMAND, "street"),
            "shequ": (Role.COMMUNITY_WORKER, "community"),
            "wangge": (Role.GRID_WORKER, "grid"),
            "louzhang": (Role.BUILDING_LEAD, "building"),
            "menwei": (Role.GATE_GUARD, "compound"),
            "yisheng": (Role.MEDIC, "community"),
            "shangchao": (Role.SUPPLIER, None),
        }
        for username, (role, level) in expected.items():
            assert users[username].role == role
            assert users[username].scope_level == level
            if level:
                assert users[username].street_id == seeded.street.pk
        assert users["wangge"].community_id == users["shequ"].community_id
        assert users["louzhang"].grid_id == users["wangge"].grid_id
        assert users["admin"].is_superuser
        assert users["jiedao"].check_password(DEFAULT_PASSWORD)

    def test_resident_account_is_a_householder_scoped_to_their_home(self, seeded: SeedResult) -> None:
        resident = seeded.resident
        assert resident is not None
        assert resident.role == Role.RESIDENT and resident.scope_level == "household"
        householder = Person.objects.get(phone=resident.username)
        assert householder.relation == Relation.HOUSEHOLDER
        assert householder.household_id == resident.household_id
        assert resident.building_id == User.objects.get(username="louzhang").building_id

    def test_seed_writes_one_audit_event_not_one_per_row(self, seeded: SeedResult) -> None:
        # The health demo works through the services as the demo accounts: its events are theirs.
        events = AuditEvent.objects.exclude(actor__username__in=[a.username for a in DEMO_ACCOUNTS])
        assert events.count() == 1
        event = events.get()
        assert (event.action, event.model, event.street_id) == ("import", "registry.demo", seeded.street.pk)
        assert event.changes["households"] == 60

    def test_demo_accounts_command_lists_accounts_password_and_address(self, seeded: SeedResult) -> None:
        out = StringIO()
        call_command("demo_accounts", port="9123", stdout=out)
        text = out.getvalue()
        assert seeded.resident is not None
        for username in ("jiedao", "shequ", "wangge", "louzhang", "menwei", "yisheng", "shangchao", "admin"):
            assert username in text
        assert seeded.resident.username in text
        assert DEFAULT_PASSWORD in text
        assert "http://127.0.0.1:9123/" in text

    def test_demo_accounts_command_hides_a_changed_password(self, seeded: SeedResult) -> None:
        User.objects.update(password=make_password("changed-password-1"))
        out = StringIO()
        call_command("demo_accounts", stdout=out)
        assert DEFAULT_PASSWORD not in out.getvalue()


def test_vulnerable_people_have_a_helper_and_tenants_a_landlord(db: None) -> None:
    seed(households=400)
    vulnerable = Person.objects.filter(vulnerable_q())
    share = vulnerable.count() / Person.objects.count()
    assert 0.04 <= share <= 0.14
    assert all(p.helper_name and phone_error(p.helper_phone) is None for p in vulnerable)
    rented = Household.objects.filter(is_rented=True)
    assert rented.exists()
    assert all(h.landlord_name and phone_error(h.landlord_phone) is None for h in rented)
    assert not Person.objects.filter(household__in=rented, residency=Residency.RESIDENT).exists()
    assert Household.objects.filter(surveyed_at__isnull=False).exists()
    assert Compound.objects.filter(kind="open").exists()


def test_password_comes_from_demo_password(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "another-pass-2026")
    seed(households=5)
    assert User.objects.get(username="shequ").check_password("another-pass-2026")


def test_if_empty_does_nothing_on_the_second_run(db: None) -> None:
    call_command("seed_demo", households=30, if_empty=True, stdout=StringIO())
    counts = (Household.objects.count(), Person.objects.count(), User.objects.count())
    out = StringIO()

    call_command("seed_demo", households=30, if_empty=True, stdout=out)

    assert (Household.objects.count(), Person.objects.count(), User.objects.count()) == counts
    assert "跳过" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("seed_demo", households=30, stdout=StringIO())


@pytest.mark.django_db
def test_the_demo_street_has_chains_cover_slots_and_working_groups() -> None:
    from linli.organisation.models import CoverSlot, GroupMember, ResponsibilityChain, WorkingGroup
    from linli.registry.demo import seed_demo
    from linli.registry.models import Community, Compound

    seed_demo(households=40)
    compounds = Compound.objects.count()
    assert ResponsibilityChain.objects.count() == compounds
    assert CoverSlot.objects.count() == 3 * compounds
    assert all(chain.responsible_phone for chain in ResponsibilityChain.objects.all())
    assert WorkingGroup.objects.filter(community__isnull=False).count() == 10 * Community.objects.count()
    assert not WorkingGroup.objects.filter(duty_phone="").exists()
    assert GroupMember.objects.filter(is_leader=True).count() == WorkingGroup.objects.count()
