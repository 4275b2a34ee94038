"""The registry in the back office: scoped lists, masked numbers, derived ancestors, audited writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from linli.audit.models import AuditAction, AuditEvent
from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Grid, Household, Person

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
MODELS = ["street", "community", "grid", "compound", "building", "unit", "household", "person", "travelrecord"]


def c1_person(personas: Personas) -> Person:
    return personas.tree.households[f"{personas.tree.b1.code}/1单元/101"].members.get(relation="householder")


def person_form(household: Household, **fields: Any) -> dict[str, Any]:
    return {"household": household.pk, "relation": "other", "residency": "resident", "health_code": "green", **fields}


@pytest.mark.parametrize("model", MODELS)
def test_every_registry_model_has_a_scoped_changelist(personas: Personas, client_for: Any, model: str) -> None:
    assert client_for(personas.admin).get(reverse(f"admin:registry_{model}_changelist")).status_code == 200
    assert client_for(personas.community_worker).get(reverse(f"admin:registry_{model}_changelist")).status_code == 200


def test_person_list_shows_masked_numbers_of_the_own_community_only(personas: Personas, client_for: Any) -> None:
    person = c1_person(personas)
    response = client_for(personas.community_worker).get(reverse("admin:registry_person_changelist"))
    page = response.content.decode()
    assert person.masked_id_number in page and person.masked_phone in page
    assert person.id_number not in page and person.phone not in page
    assert response.context["cl"].result_count == 24  # 12 households of C1, two people each


def test_person_change_form_never_shows_the_full_numbers(personas: Personas, client_for: Any) -> None:
    person = c1_person(personas)
    page = client_for(personas.street_command).get(reverse("admin:registry_person_change", args=[person.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert person.masked_id_number in text and person.id_number not in text and person.phone not in text


def test_outsider_cannot_open_a_person_of_another_community(personas: Personas, client_for: Any) -> None:
    person = c1_person(personas)
    Person.objects.filter(pk=person.pk).update(name="幸福社区独有")
    person.refresh_from_db()
    client = client_for(personas.outsider)
    response = client.get(reverse("admin:registry_person_change", args=[person.pk]))
    assert response.status_code in (302, 404)
    assert person.name not in client.get(reverse("admin:registry_person_changelist")).content.decode()
    response = client.post(reverse("admin:registry_person_delete", args=[person.pk]), {"post": "yes"})
    assert Person.objects.filter(pk=person.pk).exists()


@pytest.mark.parametrize("persona", ["grid_worker", "building_lead", "supplier", "resident"])
def test_back_office_is_closed_to_other_roles(personas: Personas, client_for: Any, persona: str) -> None:
    response = client_for(getattr(personas, persona)).get(reverse("admin:registry_person_changelist"))
    assert response.status_code in (302, 403)
    assert c1_person(personas).name not in response.content.decode()


def test_admin_adds_a_person_with_normalised_id_and_audit(personas: Personas, client_for: Any) -> None:
    household = personas.resident_household
    while not (number := make_id_number("19600606")).endswith("X"):
        pass
    response = client_for(personas.community_worker).post(
        reverse("admin:registry_person_add"),
        person_form(
            household, name="周八", new_id_number=number.translate(FULL_WIDTH).lower(), new_phone="139 0000 3333"
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get(name="周八")
    assert (person.id_number, person.id_tail, person.phone, person.phone_tail) == (
        number,
        number[-4:],
        "13900003333",
        "3333",
    )
    assert str(person.birth_date) == "1960-06-06"
    event = AuditEvent.objects.get(action=AuditAction.CREATE, model="registry.Person", object_pk=str(person.pk))
    assert event.actor == personas.community_worker and number not in str(event.changes)


def test_admin_refuses_a_duplicate_id_number(personas: Personas, client_for: Any) -> None:
    existing = c1_person(personas)
    count = Person.objects.count()
    response = client_for(personas.community_worker).post(
        reverse("admin:registry_person_add"),
        person_form(personas.resident_household, name="重复", new_id_number=existing.id_number),
    )
    assert response.status_code == 200
    assert "该身份证号已登记在其他户" in response.content.decode()
    assert Person.objects.count() == count


def test_admin_cannot_put_a_person_into_another_community(personas: Personas, client_for: Any) -> None:
    other = personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]
    response = client_for(personas.community_worker).post(
        reverse("admin:registry_person_add"), person_form(other, name="越界")
    )
    assert response.status_code == 200
    assert not Person.objects.filter(name="越界").exists()


def test_community_worker_adds_grids_but_not_communities(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)
    assert client.get(reverse("admin:registry_community_add")).status_code == 403
    form = client.get(reverse("admin:registry_grid_add")).context["adminform"].form
    assert list(form.fields["community"].queryset) == [personas.tree.c1]
    response = client.post(
        reverse("admin:registry_grid_add"), {"community": personas.tree.c1.pk, "name": "第三网格", "code": "G-NEW"}
    )
    assert response.status_code == 302
    grid = Grid.objects.get(code="G-NEW")
    assert (grid.street_id, grid.community_id) == (personas.tree.street.pk, personas.tree.c1.pk)
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, model="registry.Grid", object_pk=str(grid.pk)).exists()


def test_household_added_in_admin_gets_its_code_and_ancestors(personas: Personas, client_for: Any) -> None:
    unit = personas.resident_household.unit
    response = client_for(personas.community_worker).post(
        reverse("admin:registry_household_add"), {"unit": unit.pk, "room": "301", "note": ""}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    household = Household.objects.get(unit=unit, room="301")
    assert household.code == f"{unit.code}-301"
    assert (household.compound_id, household.building_id, household.community_id) == (
        unit.compound_id,
        unit.building_id,
        unit.community_id,
    )


def test_node_code_is_read_only_once_created(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.community_worker).get(
        reverse("admin:registry_grid_change", args=[personas.tree.g1.pk])
    )
    assert "code" not in response.context["adminform"].form.fields
    assert personas.tree.g1.code in response.content.decode()
