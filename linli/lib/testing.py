"""A small street and one persona per role, built once per test that asks for them.

street 和平街道
├── community 幸福社区 (C1)
│   ├── grid 第一网格 (G1): compound 阳光小区 (P1): building 1号楼 (B1) units 1单元, 2单元; building 2号楼 (B2)
│   └── grid 第二网格 (G2): compound 和谐家园 (P2): building 1号楼
└── community 团结社区 (C2)
    └── grid 第一网格 (G3): compound 团结新村 (P3): building 1号楼

Each unit holds households 101, 102, 201 with two people each. Personas: street commander,
community worker (C1), grid worker (G1), building lead (B1), gate guard (P1), medic (C1), supplier,
resident (household B1-1单元-101), outsider (community worker of C2), superuser.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import transaction
from stdnum.cn import ric

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.registry import services
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, Unit

PASSWORD = "linli-test-pass"
_serial = itertools.count(1)
T = TypeVar("T")


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's default hasher (same algorithm, same hash format) with few iterations, for tests only.

    The root conftest puts it first in PASSWORD_HASHERS: a hash takes ~0.5 ms instead of ~0.5 s,
    and every seed of the demo street, every login with a password, hashes once or more.
    Hashes it makes still verify under the production list (the iterations are written in the hash).
    """

    iterations = 100


def shared_rows(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """Build rows once for a class (or module) of tests, in a transaction rolled back after its last test.

    For a class- or module-scoped fixture (``yield from shared_rows(django_db_blocker, build)``): pytest sets it
    up before each test's ``db``, whose transaction becomes a savepoint inside this one, so what a test writes
    is still rolled back before the next test; what ``build`` wrote stays until the class is done.
    The tests must treat the built objects as read-only (they share them), or get a copy each.
    """
    with django_db_blocker.unblock():
        block = transaction.atomic()
        block.__enter__()
        try:
            built = build()
        except BaseException:
            transaction.set_rollback(True)
            block.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            block.__exit__(None, None, None)


# ID numbers of people that outlive one test (the personas a module shares, see the root conftest):
# make_id_number never hands them out again, even when its 3-digit sequence wraps around.
reserved_id_numbers: set[str] = set()


def make_id_number(birth: str = "19800101", area: str = "310104") -> str:
    """A valid resident ID number, different on every call."""
    while True:
        body = f"{area}{birth}{next(_serial) % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if number not in reserved_id_numbers:
            return number


def make_phone() -> str:
    return f"139{next(_serial):08d}"


@dataclass
class Tree:
    street: Street
    c1: Community
    c2: Community
    g1: Grid
    g2: Grid
    g3: Grid
    p1: Compound
    p2: Compound
    p3: Compound
    b1: Building
    b2: Building
    b3: Building
    b4: Building
    units: dict[str, Unit] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)


def build_tree() -> Tree:
    street = services.street_create(code="310115001", name="和平街道")
    c1 = services.community_create(street=street, name="幸福社区")
    c2 = services.community_create(street=street, name="团结社区")
    g1 = services.grid_create(community=c1, name="第一网格")
    g2 = services.grid_create(community=c1, name="第二网格")
    g3 = services.grid_create(community=c2, name="第一网格")
    p1 = services.compound_create(grid=g1, name="阳光小区", property_company="阳光物业")
    p2 = services.compound_create(grid=g2, name="和谐家园")
    p3 = services.compound_create(grid=g3, name="团结新村")
    b1 = services.building_create(compound=p1, name="1号楼")
    b2 = services.building_create(compound=p1, name="2号楼")
    b3 = services.building_create(compound=p2, name="1号楼")
    b4 = services.building_create(compound=p3, name="1号楼")
    tree = Tree(street, c1, c2, g1, g2, g3, p1, p2, p3, b1, b2, b3, b4)
    for building in (b1, b2, b3, b4):
        for unit_name in ("1单元", "2单元") if building == b1 else ("1单元",):
            unit = services.unit_create(building=building, name=unit_name)
            tree.units[f"{building.code}/{unit_name}"] = unit
            for room in ("101", "102", "201"):
                household = services.household_create(unit=unit, room=room)
                tree.households[f"{building.code}/{unit_name}/{room}"] = household
                services.person_create(
                    household=household,
                    name=f"户主{room}",
                    id_number=make_id_number(),
                    phone=make_phone(),
                    relation="householder",
                )
                services.person_create(
                    household=household, name=f"家属{room}", id_number=make_id_number("20100505"), relation="child"
                )
    return tree


def password_hash() -> str:
    """The personas' password hash, made once per configured hasher list.

    PBKDF2 takes ~0.6 s on these machines; hashing once instead of per persona saves ~6 s per test.
    Keyed on the hashers, because a test may switch them (the browser tests use MD5): a hash cached
    under another hasher would no longer verify, and logins would fail depending on test order.
    """
    return _password_hash(tuple(settings.PASSWORD_HASHERS))


@functools.cache
def _password_hash(hashers: tuple[str, ...]) -> str:
    return make_password(PASSWORD)


def make_user(username: str, role: str, node: Any = None, **fields: Any) -> User:
    user = User(username=username, role=role, password=password_hash(), **fields)
    if node is not None:
        user.set_scope(node)
    user.save()
    return user


@dataclass
class Personas:
    tree: Tree
    street_command: User
    community_worker: User
    grid_worker: User
    building_lead: User
    gate_guard: User
    medic: User
    supplier: User
    resident: User
    outsider: User
    admin: User

    @property
    def resident_household(self) -> Household:
        return self.tree.households[f"{self.tree.b1.code}/1单元/101"]

    def all_staff(self) -> list[User]:
        return [
            self.street_command,
            self.community_worker,
            self.grid_worker,
            self.building_lead,
            self.gate_guard,
            self.medic,
            self.supplier,
            self.outsider,
        ]


def build_personas() -> Personas:
    from linli.supplies.models import Supplier

    tree = build_tree()
    # The supplier persona works for the street's designated supermarket, which serves C1 only.
    shop = Supplier.objects.create(street=tree.street, name="平价超市", contact_phone="13900000001")
    shop.communities.add(tree.c1)
    resident_household = tree.households[f"{tree.b1.code}/1单元/101"]
    resident_person = Person.objects.filter(household=resident_household, relation="householder").get()
    return Personas(
        tree=tree,
        street_command=make_user("street", Role.STREET_COMMAND, tree.street, is_staff=True, display_name="街道指挥"),
        community_worker=make_user("community", Role.COMMUNITY_WORKER, tree.c1, is_staff=True, display_name="社区干部"),
        grid_worker=make_user("grid", Role.GRID_WORKER, tree.g1, display_name="网格员"),
        building_lead=make_user("building", Role.BUILDING_LEAD, tree.b1, display_name="楼栋长"),
        gate_guard=make_user("guard", Role.GATE_GUARD, tree.p1, display_name="值守"),
        medic=make_user("medic", Role.MEDIC, tree.c1, display_name="医生"),
        supplier=make_user(
            "supplier", Role.SUPPLIER, None, supplier_name="平价超市", supplier=shop, display_name="商超"
        ),
        resident=make_user(
            resident_person.phone, Role.RESIDENT, resident_household, phone=resident_person.phone, display_name="居民"
        ),
        outsider=make_user("outsider", Role.COMMUNITY_WORKER, tree.c2, is_staff=True, display_name="外社区干部"),
        admin=make_user("admin", Role.RESIDENT, None, email="admin@example.org", is_staff=True, is_superuser=True),
    )


def qr_texts(image: Any) -> list[str]:
    """The texts of the QR codes zxing finds in ``image`` (a PIL image), asking for QR codes only:
    asked for every format, zxing now and then also reads a few digits of a QR's own modules as an
    ITF barcode (2 of 1,500 random pass texts), which made the label and card tests flaky.

    A Micro QR is not counted: zxing's QR family includes it, but jsQR (the pages' scanner) and most
    phone cameras cannot read one, so for a phone it is no code at all (``linli.lib.qr``)."""
    import zxingcpp  # a development dependency: tests only

    only_qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return [
        result.text
        for result in zxingcpp.read_barcodes(image, formats=only_qr)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]
