"""Finding a person from one search box: by name, phone, ID number, their tails, or the room.

What a worker types tells what they mean: eleven digits are a phone number, eighteen characters an
ID number, four digits the tail of either or a room, ``3-1-1201`` or ``3号楼1单元1201`` an address
(after a compound's name too, ``丽水华庭3-1-1201``: a community holds several 3号楼), Chinese text a
name. Each kind is a few indexed lookups, each capped at ``limit`` and without a
database-side sort (a sort would have to read every match; 王 alone matches ~7% of a street), then
ordered here. Every query goes through ``linli.lib.scope``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from linli.lib import scope
from linli.lib.idnumbers import normalise_id_number, normalise_phone
from linli.registry.choices import Relation
from linli.registry.models import Person, Unit

_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^\d{11}$")
_TAIL = re.compile(r"^\d{3}[\dX]$")
_ROOM = re.compile(r"^(\d{2,20})(?:室|号)?$")
# 3-1-1201, 3号楼1单元1201室, 3栋1单元1201, 3#1-1201
_BUILDING_UNIT_ROOM = re.compile(r"^(\d{1,3})(?:号楼|号院|栋|幢|座|号|#|-)(\d{1,2})(?:单元|-)(\d{1,5})(?:室|号)?$")
# 3-1201, 3号楼1201
_BUILDING_ROOM = re.compile(r"^(\d{1,3})(?:号楼|号院|栋|幢|座|#|-)(\d{2,5})(?:室|号)?$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# 丽水华庭3-1-1201, 丽水华庭101: a compound's name (Chinese, no digit) before an address or a room
_COMPOUND_FIRST = re.compile(r"^([^\d]*[\u3400-\u9fff\uf900-\ufaff][^\d]*?)(\d.*)$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedQuery:
    """What a search box query was taken to mean."""

    kind: str  # phone, id_number, tail, room, address, name
    value: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    compound: str = ""  # part of the compound's name, before an address or a room (value: the whole text)


def parse_query(query: str) -> ParsedQuery | None:
    """The meaning of a query, or None when it is too short to mean anything."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", str(query or ""))).replace("－", "-")
    if not text:
        return None
    upper = normalise_id_number(text)
    if _ID_NUMBER.match(upper):
        return ParsedQuery("id_number", upper)
    phone = normalise_phone(text)
    if _PHONE.match(phone):
        return ParsedQuery("phone", phone)
    if _TAIL.match(upper):
        return ParsedQuery("tail", upper)
    if match := _BUILDING_UNIT_ROOM.match(text):
        building, unit, room = match.groups()
        return ParsedQuery("address", building=building, unit=unit, room=room)
    if match := _BUILDING_ROOM.match(text):
        building, room = match.groups()
        return ParsedQuery("address", building=building, room=room)
    if match := _ROOM.match(text):
        return ParsedQuery("room", room=match.group(1))
    if match := _COMPOUND_FIRST.match(text):
        place = parse_query(match.group(2))
        if place is not None and place.kind in ("address", "room", "tail") and place.value[-1:] != "X":
            room = place.room or place.value
            compound = match.group(1)
            return ParsedQuery("address", text, building=place.building, unit=place.unit, room=room, compound=compound)
    if _CJK.search(text) or len(text) >= 2:
        return ParsedQuery("name", text)
    return None


def search_people(user: Any, query: str, limit: int = 50) -> list[Person]:
    """The people ``user`` may see who match ``query``, best matches first, at most ``limit``."""
    parsed = parse_query(query)
    if parsed is None or limit <= 0:
        return []
    people = scope.visible(
        Person.objects.select_related("household__compound", "household__building", "household__unit"), user
    ).order_by()
    if parsed.kind == "id_number":
        return _take(people.filter(id_number=parsed.value), limit)
    if parsed.kind == "phone":
        # through the indexed tail: there is no index on the full phone
        found = people.filter(phone_tail=parsed.value[-4:], phone=parsed.value)
        return sorted(_take(found, limit), key=_by_address)
    if parsed.kind == "tail":
        return _tail(people, parsed.value, limit)
    if parsed.kind == "room":
        return sorted(_take(people.filter(household__room=parsed.room), limit), key=_by_address)
    if parsed.compound:
        # 丽水华庭101 or 丽水华庭3-1-101; found nowhere, it may be a name after all (户主101 in a test roster)
        if parsed.building:
            matches = _address(people, parsed, user, limit)
        else:
            here = people.filter(household__compound__name__contains=parsed.compound, household__room=parsed.room)
            matches = sorted(_take(here, limit), key=_by_address)
        return matches or _name(people, parsed.value, limit)
    if parsed.kind == "address":
        return _address(people, parsed, user, limit)
    return _name(people, parsed.value, limit)


def _take(qs: QuerySet[Person], limit: int) -> list[Person]:
    return list(qs[:limit]) if limit > 0 else []


def _by_address(person: Person) -> tuple[Any, ...]:
    household = person.household
    return (
        household.compound.code,
        household.building.number,
        household.building.name,
        household.unit.number,
        len(household.room),
        household.room,
        person.relation != Relation.HOUSEHOLDER,
        person.pk,
    )


def _tail(people: QuerySet[Person], tail: str, limit: int) -> list[Person]:
    """Four characters: the phone's last four, then the ID number's, then the room (1201)."""
    # One query for both tails (PostgreSQL ORs their two indexes) and one for the room: an OR across
    # the two tables would leave no index usable.
    matches = _take(people.filter(Q(phone_tail=tail) | Q(id_tail=tail)), limit)
    matches.sort(key=lambda person: (person.phone_tail != tail, _by_address(person)))
    if len(matches) < limit and not tail.endswith("X"):
        in_room = people.filter(household__room=tail).exclude(pk__in=[p.pk for p in matches])
        matches += sorted(_take(in_room, limit - len(matches)), key=_by_address)
    return matches


def _address(people: QuerySet[Person], parsed: ParsedQuery, user: Any, limit: int) -> list[Person]:
    """Building (and unit) by name as residents say it, then the room within them."""
    b = parsed.building
    units = scope.visible(Unit.objects.all(), user).filter(
        building__name__in=[f"{b}号楼", f"{b}号院", f"{b}栋", f"{b}幢", f"{b}座", f"{b}号", b]
    )
    if parsed.unit:
        units = units.filter(name__in=[f"{parsed.unit}单元", parsed.unit])
    if parsed.compound:
        units = units.filter(compound__name__contains=parsed.compound)
    matches = people.filter(household__unit__in=units.values("pk"), household__room=parsed.room)
    return sorted(_take(matches, limit), key=_by_address)


def _name(people: QuerySet[Person], name: str, limit: int) -> list[Person]:
    """The full name first, then names that start with it (shorter names first)."""
    exact = sorted(_take(people.filter(name=name), limit), key=_by_address)
    # LIKE 'x%' is served by the varchar_pattern_ops index person_name_prefix_idx on PostgreSQL.
    prefix = _take(people.filter(name__startswith=name).exclude(name=name), limit - len(exact))
    prefix.sort(key=lambda person: (len(person.name), person.name, _by_address(person)))
    return exact + prefix
