"""The households of the demo street and the people in them: families, tenants, the vulnerable."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from stdnum.cn import ric

from linli.lib.idnumbers import id_number_error
from linli.registry.choices import VULNERABLE_FLAGS, HealthCode, Relation, Residency
from linli.registry.demo import words
from linli.registry.demo.bulk import Table
from linli.registry.demo.tree import CommunityPlan
from linli.registry.models import Household, Person, TravelRecord
from linli.survey.models import SurveyVisit

FLAGS = [name for name, _label in VULNERABLE_FLAGS]
LIVES_ALONE, EMPTY_NEST, LEFT_BEHIND, DISABLED, CHRONIC, INFANT, PREGNANT, NO_SMARTPHONE, HARDSHIP = (
    FLAGS.index(name)
    for name in (
        "lives_alone",
        "empty_nest",
        "left_behind",
        "disabled",
        "chronic_illness",
        "infant",
        "pregnant",
        "no_smartphone",
        "hardship",
    )
)

HOUSEHOLDS = Table(
    Household,
    [
        "id",
        "code",
        "street_id",
        "community_id",
        "grid_id",
        "compound_id",
        "building_id",
        "unit_id",
        "room",
        "is_rented",
        "landlord_name",
        "landlord_phone",
        "surveyed_at",
        "created_at",
        "updated_at",
    ],
)
PEOPLE = Table(
    Person,
    [
        "id",
        "household_id",
        "name",
        "id_number",
        "id_tail",
        "phone",
        "phone_tail",
        "gender",
        "birth_date",
        "relation",
        "residency",
        "health_code",
        *FLAGS,
        "helper_name",
        "helper_phone",
        "created_at",
        "updated_at",
    ],
)
TRAVEL = Table(TravelRecord, ["person_id", "date", "place"])
VISITS = Table(
    SurveyVisit,
    ["household_id", "visited_at", "anyone_home", "members_confirmed", "travel_14d", "visitors_present", "created_at"],
)

# Who lives together, with the householder's age range; weights are per cent of owner-occupied homes
# and give about 2.8 people per household.
KINDS: dict[str, tuple[int, int, int]] = {
    "single_young": (7, 22, 40),
    "single_elderly": (4, 62, 92),
    "couple_young": (10, 25, 40),
    "couple_middle": (13, 45, 62),
    "couple_elderly": (7, 62, 88),
    "family_1child": (27, 30, 55),
    "family_2children": (10, 33, 50),
    "family_1parent": (6, 30, 45),
    "three_generations": (8, 30, 45),
    "three_generations_2children": (2, 33, 45),
    "grandparents_grandchild": (3, 58, 75),
    "single_parent": (3, 30, 50),
}
TENANT_KINDS: dict[str, tuple[int, int, int]] = {
    "single_young": (40, 20, 40),
    "couple_young": (30, 22, 40),
    "family_1child": (30, 26, 45),
}
RENTED_SHARE = 0.12
VISITOR_SHARE = 0.01
SURVEYED_SHARE = 0.6


@dataclass(frozen=True)
class Member:
    relation: str
    age: int
    male: bool
    residency: str = Residency.RESIDENT
    alone: bool = False  # lives alone (elderly)
    empty_nest: bool = False
    left_behind: bool = False


class IdNumbers:
    """Valid, unique resident ID numbers whose area code existed in the birth year."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self._areas: dict[tuple[int, bool], list[str]] = {}

    def areas(self, year: int, migrant: bool) -> list[str]:
        key = (year, migrant)
        if key not in self._areas:
            pool = words.MIGRANT_AREAS if migrant else words.LOCAL_AREAS
            valid = [a for a in pool if id_number_error(with_check(f"{a}{year:04d}0101001")) is None]
            self._areas[key] = valid or list(words.ALWAYS_VALID_AREAS)
        return self._areas[key]

    def make(self, birth: datetime.date, male: bool, migrant: bool) -> str:
        areas = self.areas(birth.year, migrant)
        rng = self.rng
        born = f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
        while True:
            # The 17th digit is odd for men and even for women (GB 11643).
            serial = rng.randrange(100) * 10 + rng.randrange(5) * 2 + (1 if male else 0)
            number = with_check(f"{rng.choice(areas)}{born}{serial:03d}")
            if number not in self.used:
                self.used.add(number)
                return number


def with_check(body: str) -> str:
    """The 17 digits of ``body`` and their check character."""
    return body + ric.calc_check_digit(body + "0")


class Phones:
    """Unique, plausible mainland mobile numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self) -> str:
        rng = self.rng
        while True:
            phone = f"{rng.choice(words.MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"
            if phone not in self.used:
                self.used.add(phone)
                return phone


@dataclass
class Counts:
    households: int = 0
    people: int = 0


class Population:
    """Fills the rooms of the street with households and people, one community per call."""

    def __init__(self, rng: random.Random, pools: words.NamePools, now: datetime.datetime) -> None:
        self.rng = rng
        self.pools = pools
        self.now = now
        self.today = timezone.localdate(now)
        self.ids = IdNumbers(rng)
        self.phones = Phones(rng)
        self.household_id = 0
        self.person_id = 0

    def start_ids(self, household_id: int, person_id: int) -> None:
        self.household_id, self.person_id = household_id, person_id

    def fill(self, community: CommunityPlan) -> Counts:
        rng = self.rng
        households: list[tuple[Any, ...]] = []
        people: list[tuple[Any, ...]] = []
        travel: list[tuple[Any, ...]] = []
        visits: list[tuple[Any, ...]] = []
        now = self.now
        for unit_plan in community.units():
            unit = unit_plan.obj
            assert unit is not None
            for room in unit_plan.rooms:
                household_id = self.household_id
                self.household_id += 1
                rented = rng.random() < RENTED_SHARE
                landlord_name = self.pools.name(rng, rng.random() < 0.5) if rented else ""
                landlord_phone = self.phones.make() if rented else ""
                members = self.members(rented)
                hardship = rng.random() < 0.006
                travelled = False
                family = rng.choice(self.pools.surnames)
                has_husband = any(m.relation == Relation.SPOUSE and m.male for m in members)
                for member in members:
                    surname = family if _carries_family_name(member, has_husband) else ""
                    travelled |= self.person(household_id, member, surname, hardship, people, travel)
                surveyed_at = None
                if rng.random() < SURVEYED_SHARE:
                    surveyed_at = now - datetime.timedelta(minutes=rng.randrange(10 * 24 * 60))
                    visitors = any(m.residency == Residency.VISITOR for m in members)
                    visits.append((household_id, surveyed_at, True, True, travelled, visitors, now))
                elif rng.random() < 0.08:  # visited, nobody home: still to be surveyed
                    visited = now - datetime.timedelta(minutes=rng.randrange(5 * 24 * 60))
                    visits.append((household_id, visited, False, False, False, False, now))
                households.append(
                    (
                        household_id,
                        f"{unit.code}-{room}",
                        unit.street_id,
                        unit.community_id,
                        unit.grid_id,
                        unit.compound_id,
                        unit.building_id,
                        unit.pk,
                        room,
                        rented,
                        landlord_name,
                        landlord_phone,
                        surveyed_at,
                        now,
                        now,
                    )
                )
        HOUSEHOLDS.write(households)
        PEOPLE.write(people)
        TRAVEL.write(travel)
        VISITS.write(visits)
        return Counts(len(households), len(people))

    def members(self, rented: bool) -> list[Member]:
        """Who lives in one household; tenants are young families from elsewhere."""
        rng = self.rng
        kinds = TENANT_KINDS if rented else KINDS
        kind = rng.choices(list(kinds), weights=[w for w, _, _ in kinds.values()])[0]
        _, low, high = kinds[kind]
        age = rng.randint(low, high)
        male = rng.random() < 0.65
        residency = Residency.TENANT if rented else Residency.RESIDENT
        lead = Relation.TENANT if rented else Relation.HOUSEHOLDER
        empty_nest = kind == "couple_elderly" and age >= 75
        grandparents = kind == "grandparents_grandchild"
        head = Member(lead, age, male, residency, alone=kind == "single_elderly", empty_nest=empty_nest)
        members = [head]
        if kind not in ("single_young", "single_elderly", "single_parent"):
            spouse_age = max(20, age + rng.randint(-4, 4))
            members.append(Member(Relation.SPOUSE, spouse_age, not male, residency, empty_nest=empty_nest))
        youngest = min(m.age for m in members)
        children = {"family_1child": 1, "family_1parent": 1, "three_generations": 1, "single_parent": 1}.get(kind, 0)
        children = 2 if kind in ("family_2children", "three_generations_2children") else children
        for _ in range(children):
            child_age = rng.randint(max(0, youngest - 38), max(0, youngest - 23))
            if child_age < 3 and rng.random() < 0.6:  # babies are rarer than a flat spread of ages gives
                child_age = rng.randint(min(3, youngest - 20), max(3, youngest - 23))
            members.append(Member(Relation.CHILD, child_age, rng.random() < 0.5, residency))
        if grandparents:
            members.append(Member(Relation.GRANDCHILD, rng.randint(3, 15), rng.random() < 0.5, left_behind=True))
        parents = {"family_1parent": 1, "three_generations": 2, "three_generations_2children": 2}.get(kind, 0)
        for p in range(parents):
            parent_male = p == 0 if parents == 2 else rng.random() < 0.3
            parent_age = min(99, age + rng.randint(24, 34))
            members.append(Member(Relation.PARENT, parent_age, parent_male, residency))
        if rng.random() < VISITOR_SHARE:
            members.append(Member(Relation.OTHER_RELATIVE, rng.randint(20, 70), rng.random() < 0.5, Residency.VISITOR))
        return members

    def person(
        self,
        household_id: int,
        member: Member,
        surname: str,
        hardship: bool,
        people: list[tuple[Any, ...]],
        travel: list[tuple[Any, ...]],
    ) -> bool:
        """Append one person's row (and travel rows); True when the person travelled in the last 14 days."""
        rng = self.rng
        age = member.age
        birth = self.today - datetime.timedelta(days=age * 365 + (age // 4) + rng.randrange(365))
        migrant = member.residency != Residency.RESIDENT or rng.random() < 0.08
        id_number = self.ids.make(birth, member.male, migrant)
        flags = [False] * len(FLAGS)
        flags[LIVES_ALONE] = member.alone
        flags[EMPTY_NEST] = member.empty_nest
        flags[LEFT_BEHIND] = member.left_behind
        flags[INFANT] = age < 3
        flags[PREGNANT] = not member.male and 22 <= age <= 40 and member.relation != Relation.CHILD
        flags[PREGNANT] = flags[PREGNANT] and rng.random() < 0.03
        flags[DISABLED] = age >= 5 and rng.random() < 0.008
        flags[CHRONIC] = age >= 60 and rng.random() < 0.08
        if member.alone or member.empty_nest:
            flags[NO_SMARTPHONE] = rng.random() < 0.5
        else:
            flags[NO_SMARTPHONE] = age >= 80 and rng.random() < 0.3
        flags[HARDSHIP] = hardship
        if flags[NO_SMARTPHONE]:
            has_phone = rng.random() < 0.4  # a feature phone at most
        elif age < 10:
            has_phone = False
        elif age < 16:
            has_phone = rng.random() < 0.3
        else:
            has_phone = rng.random() < (0.97 if age < 75 else 0.75)
        phone = self.phones.make() if has_phone else ""
        helper_name, helper_phone = "", ""
        if any(flags):  # one-to-one help for every vulnerable person (SPEC R4)
            helper_name = self.pools.name(rng, rng.random() < 0.5)
            helper_phone = self.phones.make()
        roll = rng.random()
        health = HealthCode.GREEN if roll < 0.975 else HealthCode.YELLOW if roll < 0.99 else HealthCode.RED
        person_id = self.person_id
        self.person_id += 1
        people.append(
            (
                person_id,
                household_id,
                self.pools.name(rng, member.male, surname),
                id_number,
                id_number[-4:],
                phone,
                phone[-4:],
                "M" if member.male else "F",
                birth,
                member.relation,
                member.residency,
                health,
                *flags,
                helper_name,
                helper_phone,
                self.now,
                self.now,
            )
        )
        if 16 <= age <= 70 and rng.random() < 0.03:
            for _ in range(rng.randint(1, 3)):
                day = self.today - datetime.timedelta(days=rng.randint(1, 14))
                travel.append((person_id, day, rng.choice(words.TRAVEL_PLACES)))
            return True
        return False


def _carries_family_name(member: Member, has_husband: bool) -> bool:
    """Children and the men of the family share one surname; women keep their own, unless they head it alone."""
    if member.relation in (Relation.CHILD, Relation.GRANDCHILD):
        return True
    if member.relation in (Relation.HOUSEHOLDER, Relation.TENANT):
        return member.male or not has_husband
    return member.male and member.relation in (Relation.SPOUSE, Relation.PARENT)
