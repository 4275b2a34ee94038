"""Writes to the registry. Each function is one transaction and leaves an audit record."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.lib.idnumbers import birth_date_from_id, clean_id_number, clean_phone, gender_from_id
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, TravelRecord, Unit

PERSON_FIELDS = [
    "name",
    "id_number",
    "phone",
    "relation",
    "residency",
    "health_code",
    "lives_alone",
    "empty_nest",
    "left_behind",
    "disabled",
    "chronic_illness",
    "infant",
    "pregnant",
    "no_smartphone",
    "hardship",
    "helper_name",
    "helper_phone",
    "note",
]


def _next_code(prefix: str, existing: int, width: int = 3) -> str:
    return f"{prefix}{existing + 1:0{width}d}"


def street_create(*, code: str, name: str, actor: Any = None) -> Street:
    with transaction.atomic():
        street = Street.objects.create(code=code, name=name)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=street, changes={"name": name})
    return street


def community_create(*, street: Street, name: str, code: str = "", kind: str = "urban", actor: Any = None) -> Community:
    with transaction.atomic():
        code = code or _next_code(street.code, Community.objects.filter(street=street).count())
        community = Community.objects.create(street=street, code=code, name=name, kind=kind)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=community, changes={"name": name})
    return community


def grid_create(*, community: Community, name: str, code: str = "", actor: Any = None) -> Grid:
    with transaction.atomic():
        code = code or _next_code(f"{community.code}-G", Grid.objects.filter(community=community).count(), 2)
        grid = Grid.objects.create(street_id=community.street_id, community=community, code=code, name=name)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=grid, changes={"name": name})
    return grid


def compound_create(*, grid: Grid, name: str, code: str = "", actor: Any = None, **fields: Any) -> Compound:
    with transaction.atomic():
        code = code or _next_code(
            f"{grid.community.code}-", Compound.objects.filter(community_id=grid.community_id).count()
        )
        compound = Compound.objects.create(
            street_id=grid.street_id, community_id=grid.community_id, grid=grid, code=code, name=name, **fields
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=compound, changes={"name": name})
    return compound


def building_create(*, compound: Compound, name: str, number: int = 0, actor: Any = None, **fields: Any) -> Building:
    with transaction.atomic():
        count = Building.objects.filter(compound=compound).count()
        building = Building.objects.create(
            street_id=compound.street_id,
            community_id=compound.community_id,
            grid_id=compound.grid_id,
            compound=compound,
            code=_next_code(f"{compound.code}-B", count, 2),
            name=name,
            number=number or count + 1,
            **fields,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=building, changes={"name": name})
    return building


def unit_create(*, building: Building, name: str, number: int = 0, actor: Any = None) -> Unit:
    with transaction.atomic():
        count = Unit.objects.filter(building=building).count()
        unit = Unit.objects.create(
            street_id=building.street_id,
            community_id=building.community_id,
            grid_id=building.grid_id,
            compound_id=building.compound_id,
            building=building,
            code=_next_code(f"{building.code}-U", count, 1),
            name=name,
            number=number or count + 1,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=unit, changes={"name": name})
    return unit


def household_code(unit: Unit, room: str) -> str:
    return f"{unit.code}-{room}"


def _household_insert(room: str, **fields: Any) -> Household:
    """Insert a household; a room taken by a concurrent request is the user's error, not a crash."""
    try:
        with transaction.atomic():
            return Household.objects.create(room=room, **fields)
    except IntegrityError as exc:
        raise ValidationError({"room": _("该单元已有房号 %(room)s") % {"room": room}}) from exc


def household_create(*, unit: Unit, room: str, actor: Any = None, **fields: Any) -> Household:
    room = room.strip()
    if not room:
        raise ValidationError({"room": _("请填写房号")})
    with transaction.atomic():
        if Household.objects.filter(unit=unit, room=room).exists():
            raise ValidationError({"room": _("该单元已有房号 %(room)s") % {"room": room}})
        household = _household_insert(
            room,
            street_id=unit.street_id,
            community_id=unit.community_id,
            grid_id=unit.grid_id,
            compound_id=unit.compound_id,
            building_id=unit.building_id,
            unit=unit,
            code=household_code(unit, room),
            **fields,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=household, changes={"room": room})
    return household


def _clean_person_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate the fields of a person; raises ValidationError with every problem."""
    errors: dict[str, Any] = {}
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"] or "").strip()
        if not cleaned["name"]:
            errors["name"] = _("请填写姓名")
    if "id_number" in cleaned:
        if cleaned["id_number"]:
            try:
                cleaned["id_number"] = clean_id_number(cleaned["id_number"])
            except ValidationError as exc:
                errors["id_number"] = exc.messages
        else:
            cleaned["id_number"] = None
    for field in ("phone", "helper_phone"):
        if cleaned.get(field):
            try:
                cleaned[field] = clean_phone(cleaned[field])
            except ValidationError as exc:
                errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    if cleaned.get("id_number"):
        cleaned["id_tail"] = cleaned["id_number"][-4:]
        cleaned["birth_date"] = birth_date_from_id(cleaned["id_number"])
        cleaned["gender"] = gender_from_id(cleaned["id_number"])
    elif "id_number" in cleaned:
        cleaned["id_tail"] = ""
    if "phone" in cleaned:
        cleaned["phone_tail"] = (cleaned["phone"] or "")[-4:]
    return cleaned


def _save_person(person: Person) -> None:
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        raise ValidationError({"id_number": _("该身份证号已登记在其他户")}) from exc


def person_create(*, household: Household, actor: Any = None, request: Any = None, **fields: Any) -> Person:
    cleaned = _clean_person_fields(fields)
    with transaction.atomic():
        person = Person(household=household, **cleaned)
        _save_person(person)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=person,
            changes=diff({}, snapshot(person, PERSON_FIELDS)),
            request=request,
        )
    return person


def person_update(*, person: Person, actor: Any = None, request: Any = None, **fields: Any) -> Person:
    cleaned = _clean_person_fields(fields)
    with transaction.atomic():
        before = snapshot(person, PERSON_FIELDS)
        for key, value in cleaned.items():
            setattr(person, key, value)
        _save_person(person)
        changes = diff(before, snapshot(person, PERSON_FIELDS))
        if changes:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=person, changes=changes, request=request)
    return person


def person_delete(*, person: Person, actor: Any = None, request: Any = None) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            obj=person,
            changes=diff(snapshot(person, PERSON_FIELDS), {}),
            request=request,
        )
        person.delete()


def household_update(*, household: Household, actor: Any = None, request: Any = None, **fields: Any) -> Household:
    for field in ("landlord_phone",):
        if fields.get(field):
            fields[field] = clean_phone(fields[field])
    with transaction.atomic():
        before = snapshot(household, list(fields))
        for key, value in fields.items():
            setattr(household, key, value)
        household.save()
        changes = diff(before, snapshot(household, list(fields)))
        if changes:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=household, changes=changes, request=request)
    return household


def travel_record_create(
    *, person: Person, date: Any, place: str, note: str = "", actor: Any = None, request: Any = None
) -> TravelRecord:
    """Record a place a person has been (14-day travel history, SPEC R3)."""
    place = (place or "").strip()
    if not place:
        raise ValidationError({"place": _("请填写地点")})
    with transaction.atomic():
        record = TravelRecord.objects.create(person=person, date=date, place=place, note=(note or "").strip())
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=person,
            changes={"travel": [None, f"{date} {place}"]},
            request=request,
        )
    return record
