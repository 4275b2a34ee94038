"""Registry writes: normalised, validated, nothing half-saved, every change audited."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from linli.audit.models import AuditAction, AuditEvent
from linli.lib.testing import Personas, make_id_number
from linli.registry import services
from linli.registry.models import Person, TravelRecord

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def id_ending_in_x() -> str:
    while True:
        number = make_id_number("19900101")
        if number.endswith("X"):
            return number


def test_person_create_normalises_full_width_and_lower_case_x(personas: Personas) -> None:
    number = id_ending_in_x()
    person = services.person_create(
        household=personas.resident_household,
        name=" 王芳 ",
        id_number=number.translate(FULL_WIDTH).lower(),
        phone="１３９ 0000 1111",
        actor=personas.grid_worker,
    )
    person.refresh_from_db()
    assert (person.name, person.id_number, person.id_tail) == ("王芳", number, number[-4:])
    assert (person.phone, person.phone_tail) == ("13900001111", "1111")
    assert person.birth_date == datetime.date(1990, 1, 1)


def test_person_create_is_audited_with_masked_values(personas: Personas) -> None:
    number = make_id_number()
    person = services.person_create(
        household=personas.resident_household, name="李四", id_number=number, actor=personas.grid_worker
    )
    event = AuditEvent.objects.get(model="registry.Person", object_pk=str(person.pk), action=AuditAction.CREATE)
    assert event.actor == personas.grid_worker
    assert event.community_id == personas.tree.c1.pk
    assert number not in str(event.changes)
    assert event.changes["id_number"][1].endswith(number[-4:])


def test_duplicate_id_number_is_refused_and_nothing_is_saved(personas: Personas) -> None:
    existing = Person.objects.filter(id_number__isnull=False).first()
    assert existing is not None
    people, events = Person.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as info:
        services.person_create(
            household=personas.resident_household, name="重复", id_number=existing.id_number, actor=personas.grid_worker
        )
    assert info.value.message_dict["id_number"] == ["该身份证号已登记在其他户"]
    assert (Person.objects.count(), AuditEvent.objects.count()) == (people, events)


def test_invalid_fields_are_all_reported_at_once(personas: Personas) -> None:
    with pytest.raises(ValidationError) as info:
        services.person_create(household=personas.resident_household, name="", id_number="123", phone="456")
    assert set(info.value.message_dict) == {"name", "id_number", "phone"}


def test_person_update_records_only_what_changed(personas: Personas) -> None:
    person = personas.resident_household.members.first()
    assert person is not None
    services.person_update(person=person, name="新名字", lives_alone=True, actor=personas.community_worker)
    event = AuditEvent.objects.filter(model="registry.Person", object_pk=str(person.pk)).latest("id")
    assert event.action == AuditAction.UPDATE
    assert set(event.changes) == {"name", "lives_alone"}


def test_person_delete_is_audited(personas: Personas) -> None:
    person = personas.resident_household.members.first()
    assert person is not None
    pk = person.pk
    services.person_delete(person=person, actor=personas.grid_worker)
    assert not Person.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(model="registry.Person", object_pk=str(pk), action=AuditAction.DELETE).exists()


def test_household_update_normalises_the_landlord_phone_and_audits(personas: Personas) -> None:
    household = personas.resident_household
    services.household_update(
        household=household, is_rented=True, landlord_name="房东", landlord_phone="138-0000-2222", actor=personas.admin
    )
    household.refresh_from_db()
    assert household.landlord_phone == "13800002222"
    event = AuditEvent.objects.filter(model="registry.Household", object_pk=str(household.pk)).latest("id")
    assert event.changes["landlord_phone"] == ["", "138****2222"]


def test_travel_record_create_needs_a_place_and_is_audited(personas: Personas) -> None:
    person = personas.resident_household.members.first()
    assert person is not None
    with pytest.raises(ValidationError):
        services.travel_record_create(person=person, date=datetime.date.today(), place="  ")
    record = services.travel_record_create(
        person=person, date=datetime.date.today(), place="武汉市", actor=personas.grid_worker
    )
    assert TravelRecord.objects.filter(pk=record.pk, place="武汉市").exists()
    assert AuditEvent.objects.filter(model="registry.Person", object_pk=str(person.pk), changes__has_key="travel")


def test_a_room_taken_at_the_same_moment_is_a_clear_error_not_a_crash(personas) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError

    from linli.registry.services import _household_insert

    unit = personas.resident_household.unit
    # given: the existence check has passed, but another request inserted the room in the meantime
    with pytest.raises(ValidationError) as caught:
        _household_insert(
            "101",
            street_id=unit.street_id,
            community_id=unit.community_id,
            grid_id=unit.grid_id,
            compound_id=unit.compound_id,
            building_id=unit.building_id,
            unit=unit,
            code=f"{unit.code}-101-dup",
        )
    assert "已有房号" in str(caught.value)
