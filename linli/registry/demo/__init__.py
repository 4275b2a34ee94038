"""The demo street 和平街道: realistic, deterministic data for ``make run``, the tests and the benchmarks.

Same seed, same street: every random choice comes from one ``random.Random(seed)`` drawn in a fixed
order (ages and survey times count back from ``now``, so they move with the calendar). Nodes are
bulk-created level by level; households, people, travel records and survey visits are written one
community at a time with COPY on PostgreSQL and ``executemany`` on SQLite. The whole seed is one
transaction and leaves one audit event, not one per row.
"""

from __future__ import annotations

import datetime
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.audit.models import AuditAction, AuditEvent
from linli.audit.services import audit_record
from linli.registry.choices import CompoundKind, Relation
from linli.registry.demo import bulk, tree
from linli.registry.demo.organisation import seed_organisation
from linli.registry.demo.people import Population
from linli.registry.demo.words import NamePools, name_pools
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, TravelRecord, Unit
from linli.survey.models import SurveyVisit

STREET_CODE = "310115001"
STREET_NAME = "和平街道"
DEFAULT_PASSWORD = "linli2026"
DEFAULT_SEED = 2022
SUPPLIER_NAME = "和平平价超市"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    level: str | None  # the tree level the account is scoped to; None: no tree scope
    display_name: str
    is_staff: bool = False
    is_superuser: bool = False


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("jiedao", Role.STREET_COMMAND, "street", "街道指挥部", is_staff=True),
    DemoAccount("shequ", Role.COMMUNITY_WORKER, "community", "社区干部", is_staff=True),
    DemoAccount("wangge", Role.GRID_WORKER, "grid", "网格员"),
    DemoAccount("louzhang", Role.BUILDING_LEAD, "building", "楼栋长"),
    DemoAccount("menwei", Role.GATE_GUARD, "compound", "值守人员"),
    DemoAccount("yisheng", Role.MEDIC, "community", "医务人员"),
    DemoAccount("shangchao", Role.SUPPLIER, None, "保供商超"),
    DemoAccount("admin", Role.STREET_COMMAND, None, "系统管理员", is_staff=True, is_superuser=True),
)


def demo_password() -> str:
    """The demo accounts' password: ``DEMO_PASSWORD`` from the environment, else ``linli2026``."""
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD


@dataclass
class SeedResult:
    street: Street
    households: int
    people: int
    seconds: float
    accounts: list[User] = field(default_factory=list)
    resident: User | None = None


def seed_demo(
    *,
    households: int,
    seed: int = DEFAULT_SEED,
    now: datetime.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    gate: bool = True,
    health: bool | None = None,
    supplies: bool | None = None,
) -> SeedResult:
    """Build the demo street with ``households`` households, its people and the demo accounts.

    ``gate``: also the checkpoints, rules, passes and holds of the gate (``demo/gate.py``); signing a
    pass per household costs about as much as writing its people, so big benchmark seeds leave it out.
    ``health``: also the health module's demo (``linli/health/demo.py``: risk areas, returnees under
    orders, today's temperatures, a case and its sealed unit), written through its services and
    audited as the demo accounts; it defaults to ``gate``, so the benchmark seeds stay plain.
    ``supplies``: also the supplies demo (``linli/supplies/demo.py``: suppliers, catalogue, a delivered
    and an open order window); it defaults to ``health`` (its sealed households come from there).
    """
    health = gate if health is None else health
    supplies = health if supplies is None else supplies
    if households < 1:
        raise ValueError("households must be at least 1")
    if Street.objects.filter(code=STREET_CODE).exists():
        raise ValueError(f"街道 {STREET_CODE} 已存在，未重复生成演示数据")
    say = progress or (lambda message: None)
    started = time.perf_counter()
    now = now or timezone.now()
    rng = random.Random(seed)
    pools = name_pools(seed)
    population = Population(rng, pools, now)
    with transaction.atomic():
        street = Street.objects.create(code=STREET_CODE, name=STREET_NAME)
        plans = tree.plan_street(rng, households)
        tree.create_nodes(street, plans)
        say(f"{STREET_NAME}: {len(plans)} 个社区，{sum(len(c.grids) for c in plans)} 个网格")
        population.start_ids(bulk.next_id(Household), bulk.next_id(Person))
        total_households = total_people = 0
        for index, community in enumerate(plans, 1):
            counts = population.fill(community)
            total_households += counts.households
            total_people += counts.people
            if index == len(plans) or index % max(1, len(plans) // 20) == 0:
                say(
                    f"  {index}/{len(plans)} 社区 · {total_households:,} 户 {total_people:,} 人 · "
                    f"{time.perf_counter() - started:.1f} s"
                )
        bulk.reset_sequences(Household, Person, TravelRecord, SurveyVisit)
        accounts, resident = _create_accounts(street, pools, rng)
        # A separate generator, so adding organisation data leaves the people of a seed unchanged.
        seed_organisation(street, pools, random.Random(seed + 1))
        gate_counts = (
            _seed_gate(street, accounts, resident, random.Random(seed + 2), now, say, raw_holds=not health)
            if gate
            else {}
        )
        health_counts = _seed_health(street, accounts, resident, random.Random(seed + 3), now, say) if health else {}
        supplies_counts = (
            _seed_supplies(street, accounts, resident, random.Random(seed + 4), now, say) if supplies else {}
        )
        audit_record(
            actor="seed_demo",
            action=AuditAction.IMPORT,
            model="registry.demo",
            object_pk=str(street.pk),
            object_repr=STREET_NAME,
            changes={
                "households": total_households,
                "people": total_people,
                "seed": seed,
                "resident_user_id": resident.pk if resident else None,
                **gate_counts,
                **health_counts,
                **supplies_counts,
            },
            street_id=street.pk,
        )
    analysed: list[type[models.Model]] = [
        Household,
        Person,
        Unit,
        Building,
        Compound,
        Grid,
        Community,
        TravelRecord,
        SurveyVisit,
    ]
    if gate:
        from linli.gate.models import HouseholdPass

        analysed += [HouseholdPass, HouseholdPass.members.through]
    bulk.analyze(*analysed)
    seconds = time.perf_counter() - started
    say(f"完成：{total_households:,} 户，{total_people:,} 人，用时 {seconds:.1f} 秒")
    return SeedResult(street, total_households, total_people, seconds, accounts, resident)


def _seed_gate(
    street: Street,
    accounts: list[User],
    resident: User | None,
    rng: random.Random,
    now: datetime.datetime,
    say: Callable[[str], None],
    raw_holds: bool = True,
) -> dict[str, int]:
    """The gate of every compound; the demo guard is bound to its compound's checkpoint."""
    from linli.registry.demo.gate import bind_guard, seed_gate

    guard = next((user for user in accounts if user.role == Role.GATE_GUARD), None)
    guard_compound = guard.compound if guard is not None else None
    keep_free = {resident.household_id} if resident is not None and resident.household_id else set()
    seeded = seed_gate(
        street,
        rng,
        guard_compound=guard_compound,
        keep_free=keep_free,
        today=timezone.localdate(now),
        say=say,
        holds=raw_holds,
    )
    if guard is not None and guard_compound is not None:
        bind_guard(guard.username, seeded.checkpoints.get(guard_compound.pk))
    return {"checkpoints": len(seeded.checkpoints), "passes": seeded.passes, "holds": seeded.holds}


def _seed_health(
    street: Street,
    accounts: list[User],
    resident: User | None,
    rng: random.Random,
    now: datetime.datetime,
    say: Callable[[str], None],
) -> dict[str, int]:
    """The health demo in the demo guard's compound, the resident's household left free."""
    from linli.health.demo import seed_health

    guard = next((user for user in accounts if user.role == Role.GATE_GUARD), None)
    keep_free = {resident.household_id} if resident is not None and resident.household_id else set()
    seeded = seed_health(
        street,
        compound=guard.compound if guard is not None else None,
        accounts=accounts,
        keep_free=keep_free,
        rng=rng,
        now=now,
        say=say,
    )
    return seeded.counts()


def _seed_supplies(
    street: Street,
    accounts: list[User],
    resident: User | None,
    rng: random.Random,
    now: datetime.datetime,
    say: Callable[[str], None],
) -> dict[str, int]:
    """The supplies demo; the demo supplier account becomes staff of the demo supermarket."""
    from linli.supplies.demo import seed_supplies

    return seed_supplies(street, accounts=accounts, resident=resident, rng=rng, now=now, say=say).counts()


def _create_accounts(street: Street, pools: NamePools, rng: random.Random) -> tuple[list[User], User | None]:
    """One account per role, scoped to the first community's first grid, compound and building."""
    community = Community.objects.filter(street=street).order_by("code").first()
    grid = Grid.objects.filter(community=community).order_by("code").first()
    compounds = Compound.objects.filter(grid=grid).order_by("code")
    compound = compounds.filter(kind=CompoundKind.COMPOUND).first() or compounds.first()
    building = Building.objects.filter(compound=compound).order_by("number").first()
    nodes = {"street": street, "community": community, "grid": grid, "compound": compound, "building": building}
    # One hash for all: hashing is deliberately slow and these accounts share a published password.
    password = make_password(demo_password())
    accounts = []
    for spec in DEMO_ACCOUNTS:
        user = User.objects.filter(username=spec.username).first() or User(username=spec.username, password=password)
        user.role = spec.role
        user.display_name = f"{pools.name(rng, rng.random() < 0.5)}（{spec.display_name}）"
        user.is_staff = spec.is_staff
        user.is_superuser = spec.is_superuser
        user.supplier_name = SUPPLIER_NAME if spec.role == Role.SUPPLIER else ""
        if spec.level is not None:
            user.set_scope(nodes[spec.level])
        user.save()
        accounts.append(user)
    return accounts, _create_resident(building, password)


def _create_resident(building: Building | None, password: str) -> User | None:
    """A resident account for a householder of the building lead's building; username = phone."""
    householder = (
        Person.objects.filter(
            household__building=building, household__is_rented=False, relation=Relation.HOUSEHOLDER, phone__gt=""
        )
        .select_related("household")
        .order_by("household_id")
        .first()
    )
    if householder is None:
        return None
    user = User.objects.filter(username=householder.phone).first() or User(
        username=householder.phone, password=password
    )
    user.role = Role.RESIDENT
    user.phone = householder.phone
    user.display_name = householder.name
    user.set_scope(householder.household)
    user.save()
    return user


def demo_resident() -> User | None:
    """The resident account the last seed created (its id is kept in the seed's audit event)."""
    event = AuditEvent.objects.filter(model="registry.demo", action=AuditAction.IMPORT).order_by("-id").first()
    user_id = event.changes.get("resident_user_id") if event else None
    return User.objects.filter(pk=user_id, role=Role.RESIDENT).first() if user_id else None
