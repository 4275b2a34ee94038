"""The shape of the demo street: communities, grids, compounds, buildings, units and their rooms."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from linli.registry.choices import BuildingKind, CommunityKind, CompoundKind
from linli.registry.demo import words
from linli.registry.models import Building, Community, Compound, Grid, Street, Unit

HOUSEHOLDS_PER_COMMUNITY = 3000


@dataclass
class UnitPlan:
    number: int
    rooms: list[str]
    obj: Unit | None = None


@dataclass
class BuildingPlan:
    number: int
    name: str
    kind: str
    units: list[UnitPlan]
    obj: Building | None = None


@dataclass
class CompoundPlan:
    name: str
    kind: str
    address: str
    property_company: str
    lead_unit: str
    buildings: list[BuildingPlan] = field(default_factory=list)
    obj: Compound | None = None


@dataclass
class GridPlan:
    name: str
    compounds: list[CompoundPlan]
    obj: Grid | None = None


@dataclass
class CommunityPlan:
    name: str
    kind: str
    households: int
    grids: list[GridPlan]
    obj: Community | None = None

    def units(self) -> list[UnitPlan]:
        return [u for g in self.grids for p in g.compounds for b in p.buildings for u in b.units]


def split(rng: random.Random, total: int, parts: int, jitter: float = 0.3) -> list[int]:
    """``total`` split into ``parts`` positive, roughly equal shares."""
    parts = max(1, min(parts, total))
    weights = [1 + rng.uniform(-jitter, jitter) for _ in range(parts)]
    shares = [max(1, int(total * w / sum(weights))) for w in weights]
    shares[-1] += total - sum(shares)
    while shares[-1] < 1:  # rounding took too much from the last share: give it back
        donor = shares.index(max(shares))
        shares[donor] -= 1
        shares[-1] += 1
    return shares


def plan_street(rng: random.Random, households: int) -> list[CommunityPlan]:
    """The whole street, about one community per 3,000 households (at least two)."""
    count = max(2, round(households / HOUSEHOLDS_PER_COMMUNITY))
    urban_names = words.community_names(rng, count)
    compound_names = words.compound_names(rng)
    villages = 0
    plans = []
    for index, share in enumerate(split(rng, households, count)):
        # The first community stays urban: the demo accounts live there.
        village = index > 0 and rng.random() < 0.1
        if village:
            word = words.VILLAGE_WORDS[villages % len(words.VILLAGE_WORDS)]
            name = f"{word}村" if villages < len(words.VILLAGE_WORDS) else f"{word}{villages}村"
            villages += 1
        else:
            name = urban_names[index]
        shares = [
            split(rng, grid_share, min(rng.randint(1, 3), max(1, grid_share // 40)))
            for grid_share in split(rng, share, rng.randint(3, 6))
        ]
        settlements = [[rng.random() < (0.7 if village else 0.12) for _ in grid] for grid in shares]
        if len(shares) > 1 and not any(map(any, settlements)):
            settlements[-1][-1] = True  # every community has at least one open settlement 开放式居民点
        grids = []
        for g, (compound_shares, flags) in enumerate(zip(shares, settlements, strict=True)):
            compounds = [
                _compound(rng, compound_names, name, open_settlement, compound_share)
                for compound_share, open_settlement in zip(compound_shares, flags, strict=True)
            ]
            grids.append(GridPlan(f"第{words.NUMERALS[g]}网格", compounds))
        kind = CommunityKind.VILLAGE if village else CommunityKind.URBAN
        plans.append(CommunityPlan(name, kind, share, grids))
    return plans


def _compound(
    rng: random.Random, compound_names: Callable[[bool], str], community: str, open_settlement: bool, share: int
) -> CompoundPlan:
    address = f"{rng.choice(words.ROADS)}{rng.randint(1, 1800)}弄"
    company, lead = "", ""
    if open_settlement:
        # No property company: the former manager leads, or else the community (SPEC R6).
        lead = rng.choice([f"{community}居委会", *words.FORMER_MANAGERS])
    elif rng.random() < 0.85:
        company = rng.choice(words.PROPERTY_COMPANIES)
    else:
        lead = rng.choice(words.FORMER_MANAGERS)
    return CompoundPlan(
        name=compound_names(open_settlement),
        kind=CompoundKind.OPEN if open_settlement else CompoundKind.COMPOUND,
        address=address,
        property_company=company,
        lead_unit=lead,
        buildings=_buildings(rng, share, open_settlement),
    )


def _buildings(rng: random.Random, households: int, open_settlement: bool) -> list[BuildingPlan]:
    """Buildings of one compound holding exactly ``households`` households; rooms numbered 101, 1201, 3304."""
    style = "courtyard" if open_settlement else rng.choice(["multi", "multi", "mid", "high", "mixed"])
    plans: list[BuildingPlan] = []
    left = households
    while left > 0:
        shape = rng.choice(["multi", "mid", "high"]) if style == "mixed" else style
        if shape == "courtyard":
            floors, units, per_floor = rng.randint(2, 4), 1, rng.randint(2, 4)
        elif shape == "multi":
            floors, units, per_floor = 6, rng.randint(2, 3), 2
        elif shape == "mid":
            floors, units, per_floor = rng.choice([11, 12, 14, 16, 18]), rng.randint(1, 2), rng.randint(2, 4)
        else:
            floors, units, per_floor = rng.randint(24, 33), rng.randint(1, 2), rng.randint(2, 4)
        # The last building takes what is left: fewer floors, the top one perhaps part-filled.
        floors = min(floors, -(-left // (units * per_floor)))
        unit_plans = []
        for u in range(1, units + 1):
            rooms = [f"{floor}{r:02d}" for floor in range(1, floors + 1) for r in range(1, per_floor + 1)][:left]
            left -= len(rooms)
            if rooms:
                unit_plans.append(UnitPlan(u, rooms))
        number = len(plans) + 1
        if shape == "courtyard":
            plans.append(BuildingPlan(number, f"{number}号院", BuildingKind.COURTYARD, unit_plans))
        else:
            plans.append(BuildingPlan(number, f"{number}号楼", BuildingKind.BUILDING, unit_plans))
    return plans


def create_nodes(street: Street, plans: list[CommunityPlan]) -> None:
    """Save the nodes level by level, one bulk insert per level; codes follow ``registry.services``."""
    for i, c in enumerate(plans, 1):
        c.obj = Community(street=street, code=f"{street.code}{i:03d}", name=c.name, kind=c.kind)
    Community.objects.bulk_create([c.obj for c in plans if c.obj])
    grids, compounds = [], []
    for c in plans:
        assert c.obj is not None
        in_community = 0
        for number, g in enumerate(c.grids, 1):
            g.obj = Grid(street=street, community=c.obj, code=f"{c.obj.code}-G{number:02d}", name=g.name)
            grids.append(g.obj)
            for p in g.compounds:
                in_community += 1
                p.obj = Compound(
                    street=street,
                    community=c.obj,
                    grid=g.obj,
                    code=f"{c.obj.code}-{in_community:03d}",
                    name=p.name,
                    kind=p.kind,
                    address=p.address,
                    property_company=p.property_company,
                    lead_unit=p.lead_unit,
                )
                compounds.append(p)
    Grid.objects.bulk_create(grids)
    for p in compounds:  # the grid ids exist only now
        assert p.obj is not None and p.obj.grid is not None
        p.obj.grid_id = p.obj.grid.pk
    Compound.objects.bulk_create([p.obj for p in compounds if p.obj])
    buildings = []
    for p in compounds:
        assert p.obj is not None
        for b in p.buildings:
            b.obj = Building(
                street=street,
                community_id=p.obj.community_id,
                grid_id=p.obj.grid_id,
                compound=p.obj,
                code=f"{p.obj.code}-B{b.number:02d}",
                name=b.name,
                kind=b.kind,
                number=b.number,
            )
            buildings.append(b)
    Building.objects.bulk_create([b.obj for b in buildings if b.obj])
    units = []
    for b in buildings:
        assert b.obj is not None
        for u in b.units:
            u.obj = Unit(
                street=street,
                community_id=b.obj.community_id,
                grid_id=b.obj.grid_id,
                compound_id=b.obj.compound_id,
                building=b.obj,
                code=f"{b.obj.code}-U{u.number}",
                name=f"{u.number}单元",
                number=u.number,
            )
            units.append(u.obj)
    Unit.objects.bulk_create(units)
