"""Registry pages: tree, search, household, reveal and the edit forms, for each persona."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.audit.models import AuditAction, AuditEvent
from linli.lib.testing import Personas, make_id_number
from linli.registry import services
from linli.registry.models import Household, Person, TravelRecord

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def household(personas: Personas, building: Any, room: str = "101", unit: str = "1单元") -> Household:
    return personas.tree.households[f"{building.code}/{unit}/{room}"]


def c2_household(personas: Personas) -> Household:
    return household(personas, personas.tree.b4)


def node_url(level: str, pk: int) -> str:
    return reverse("registry:node", kwargs={"level": level, "pk": pk})


def householder(h: Household) -> Person:
    return h.members.get(relation="householder")


# --- tree ---


def test_tree_starts_at_the_users_own_node(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.grid_worker).get(reverse("registry:tree"))
    assert response.status_code == 302
    assert response["Location"] == node_url("grid", personas.tree.g1.pk)


def test_superuser_tree_lists_the_streets(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.admin).get(reverse("registry:tree"))
    assert response.status_code == 200
    assert "和平街道" in response.content.decode()


def test_community_page_lists_its_grids_with_counts(personas: Personas, client_for: Any) -> None:
    tree = personas.tree
    services.household_update(household=household(personas, tree.b1), surveyed_at=datetime.datetime.now(datetime.UTC))
    response = client_for(personas.community_worker).get(node_url("community", tree.c1.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert node_url("grid", tree.g1.pk) in page and node_url("grid", tree.g2.pk) in page
    assert node_url("grid", tree.g3.pk) not in page
    rows = {row.node.pk: row for row in response.context["rows"]}
    assert (rows[tree.g1.pk].households, rows[tree.g1.pk].people, rows[tree.g1.pk].surveyed) == (9, 18, 1)
    assert rows[tree.g1.pk].surveyed_percent == 11
    assert (rows[tree.g2.pk].households, rows[tree.g2.pk].surveyed_percent) == (3, 0)


def test_ancestor_page_shows_only_the_users_own_branch(personas: Personas, client_for: Any) -> None:
    tree = personas.tree
    response = client_for(personas.grid_worker).get(node_url("community", tree.c1.pk))
    assert response.status_code == 200
    assert [row.node for row in response.context["rows"]] == [tree.g1]
    assert node_url("grid", tree.g2.pk) not in response.content.decode()


def test_breadcrumbs_run_from_the_street_down(personas: Personas, client_for: Any) -> None:
    tree = personas.tree
    unit = household(personas, tree.b1).unit
    response = client_for(personas.building_lead).get(node_url("unit", unit.pk))
    assert [crumb["node"] for crumb in response.context["crumbs"]] == [tree.street, tree.c1, tree.g1, tree.p1, tree.b1]
    assert node_url("building", tree.b1.pk) in response.content.decode()


def test_unit_page_lists_households_with_householder_count_and_tags(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1, "102")
    services.person_update(person=householder(h), lives_alone=True)
    response = client_for(personas.grid_worker).get(node_url("unit", h.unit_id))
    page = response.content.decode()
    assert response.status_code == 200
    for room in ("101", "102", "201"):
        assert f"<strong>{room}</strong>" in page
    assert "户主102" in page and "2 人" in page and "独居" in page
    assert reverse("registry:household", kwargs={"pk": h.pk}) in page


@pytest.mark.parametrize("persona", ["outsider", "building_lead"])
def test_node_outside_scope_is_404(personas: Personas, client_for: Any, persona: str) -> None:
    # The outsider belongs to C2; the building lead of B1 may not see sibling building B2.
    response = client_for(getattr(personas, persona)).get(node_url("building", personas.tree.b2.pk))
    assert response.status_code == 404


def test_outsider_sees_nothing_of_the_other_community_in_the_tree(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.outsider)
    assert client.get(node_url("community", personas.tree.c1.pk)).status_code == 404
    response = client.get(node_url("street", personas.tree.street.pk))
    assert response.status_code == 200
    assert [row.node for row in response.context["rows"]] == [personas.tree.c2]
    assert "幸福社区" not in response.content.decode()


@pytest.mark.parametrize("persona", ["supplier", "resident"])
def test_tree_is_refused_to_non_staff(personas: Personas, client_for: Any, persona: str) -> None:
    client = client_for(getattr(personas, persona))
    assert client.get(reverse("registry:tree")).status_code == 403
    # The resident's own unit is on its path up the tree, still not a page for residents.
    unit = personas.resident_household.unit
    assert client.get(node_url("unit", unit.pk)).status_code == 403


def test_unknown_level_is_404(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.admin)
    assert client.get(node_url("household", personas.resident_household.pk)).status_code == 404
    assert client.get(node_url("planet", 1)).status_code == 404


def test_anonymous_is_sent_to_login(personas: Personas, client: Any) -> None:
    response = client.get(reverse("registry:tree"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_tree_query_count_does_not_grow_with_children(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.street_command)
    url = node_url("compound", personas.tree.p1.pk)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    for n in range(3, 8):
        building = services.building_create(compound=personas.tree.p1, name=f"{n}号楼")
        unit = services.unit_create(building=building, name="1单元")
        services.household_create(unit=unit, room="101")
    with CaptureQueriesContext(connection) as after:
        response = client.get(url)
    assert len(response.context["rows"]) == 7
    assert len(after) == len(before)


def test_tree_and_unit_pages_stay_within_a_query_budget(
    personas: Personas, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(personas.community_worker)
    with django_assert_max_num_queries(8):
        assert client.get(node_url("community", personas.tree.c1.pk)).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(node_url("unit", personas.resident_household.unit_id)).status_code == 200


# --- search ---


def test_empty_search_gives_a_friendly_hint(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.grid_worker).get(reverse("registry:search"))
    assert response.status_code == 200
    assert "请输入姓名" in response.content.decode()


def test_too_short_search_gives_a_hint_not_an_error(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.grid_worker).get(reverse("registry:search"), {"q": "1"})
    assert response.status_code == 200
    assert "请至少输入" in response.content.decode()
    assert response.context["results"] is None


def test_search_by_phone_tail_shows_masked_values_and_links_the_household(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1, "201")
    person = householder(h)
    response = client_for(personas.grid_worker).get(reverse("registry:search"), {"q": person.phone[-4:]})
    page = response.content.decode()
    found = [item["person"] for item in response.context["results"]]
    # The phone's tail first. Four digits are also an ID number's tail: the tests' serial numbers can
    # make another person's ID end in them (it did, depending on how many tests ran before).
    assert found[0] == person
    assert [p for p in found if p.phone.endswith(person.phone[-4:])] == [person]
    assert person.masked_phone in page and person.masked_id_number in page
    assert person.phone not in page and person.id_number not in page
    assert reverse("registry:household", kwargs={"pk": h.pk}) in page
    assert "阳光小区 1号楼1单元201" in page


def test_search_finds_nothing_outside_scope(personas: Personas, client_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    response = client_for(personas.outsider).get(reverse("registry:search"), {"q": person.phone})
    assert response.context["results"] == []
    assert "没有找到" in response.content.decode()
    # The same name exists in both communities: the outsider gets only its own.
    response = client_for(personas.outsider).get(reverse("registry:search"), {"q": "户主101"})
    assert {item["household"].community_id for item in response.context["results"]} == {personas.tree.c2.pk}
    assert "阳光小区" not in response.content.decode()


def test_search_htmx_request_gets_only_the_results(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.grid_worker).get(
        reverse("registry:search"), {"q": "户主101"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "户主101" in page and "<html" not in page


@pytest.mark.parametrize("persona", ["supplier", "resident"])
def test_search_is_refused_to_non_staff(personas: Personas, client_for: Any, persona: str) -> None:
    response = client_for(getattr(personas, persona)).get(reverse("registry:search"), {"q": "户主101"})
    assert response.status_code == 403


# --- household page ---


def test_household_page_shows_members_masked_with_reveal_for_grid_worker(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    person = householder(h)
    TravelRecord.objects.create(person=person, date=datetime.date.today(), place="武汉市")
    TravelRecord.objects.create(person=person, date=datetime.date.today() - datetime.timedelta(days=30), place="旧行程")
    response = client_for(personas.grid_worker).get(reverse("registry:household", kwargs={"pk": h.pk}))
    page = response.content.decode()
    assert response.status_code == 200
    assert "户主101" in page and "家属101" in page and "户主" in page and "子女" in page
    assert person.masked_id_number in page and person.id_number not in page and person.phone not in page
    assert reverse("registry:person_reveal", kwargs={"pk": person.pk, "field": "id_number"}) in page
    assert "武汉市" in page and "旧行程" not in page
    assert reverse("registry:person_add", kwargs={"pk": h.pk}) in page


def test_building_lead_sees_the_household_without_reveal_or_edit(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    page = client_for(personas.building_lead).get(reverse("registry:household", kwargs={"pk": h.pk})).content.decode()
    assert "户主101" in page
    assert "/reveal/" not in page and "/edit/" not in page and "/person/add/" not in page


def test_resident_sees_own_household_without_edit_buttons(personas: Personas, client_for: Any) -> None:
    h = personas.resident_household
    client = client_for(personas.resident)
    assert client.get(reverse("home"))["Location"] == reverse("registry:household", kwargs={"pk": h.pk})
    page = client.get(reverse("registry:household", kwargs={"pk": h.pk})).content.decode()
    assert "户主101" in page
    assert "/reveal/" not in page and "/edit/" not in page and "/delete/" not in page and "摸排走访" not in page


@pytest.mark.parametrize("persona", ["outsider", "supplier", "resident", "building_lead"])
def test_household_outside_scope_is_404(personas: Personas, client_for: Any, persona: str) -> None:
    # Outsider: C1's household; supplier: anything; resident: a neighbour; building lead of B1: a household in B2.
    target = household(personas, personas.tree.b2)
    response = client_for(getattr(personas, persona)).get(reverse("registry:household", kwargs={"pk": target.pk}))
    assert response.status_code == 404
    assert "户主101" not in response.content.decode()


def test_resident_cannot_see_the_household_next_door(personas: Personas, client_for: Any) -> None:
    neighbour = household(personas, personas.tree.b1, "102")
    response = client_for(personas.resident).get(reverse("registry:household", kwargs={"pk": neighbour.pk}))
    assert response.status_code == 404


def test_household_page_stays_within_a_query_budget(
    personas: Personas, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    h = household(personas, personas.tree.b1)
    for n in range(6):
        services.person_create(household=h, name=f"成员{n}", id_number=make_id_number())
    client = client_for(personas.grid_worker)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("registry:household", kwargs={"pk": h.pk})).status_code == 200


# --- reveal ---


def reveal_url(person: Person, field: str) -> str:
    return reverse("registry:person_reveal", kwargs={"pk": person.pk, "field": field})


@pytest.mark.parametrize("field", ["id_number", "phone"])
def test_reveal_returns_the_full_value_and_is_audited(personas: Personas, client_for: Any, field: str) -> None:
    person = householder(household(personas, personas.tree.b1))
    response = client_for(personas.grid_worker).post(reveal_url(person, field))
    assert response.status_code == 200
    assert getattr(person, field) in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.REVEAL, object_pk=str(person.pk))
    assert event.actor == personas.grid_worker and event.changes == {"field": field}


def test_reveal_needs_post(personas: Personas, client_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    assert client_for(personas.grid_worker).get(reveal_url(person, "phone")).status_code == 405


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("building_lead", 403),
        ("gate_guard", 403),
        ("resident", 403),
        ("supplier", 403),
        ("street_command", 403),
        ("outsider", 404),
    ],
)
def test_reveal_is_refused_and_not_audited(personas: Personas, client_for: Any, persona: str, status: int) -> None:
    person = householder(personas.resident_household)
    response = client_for(getattr(personas, persona)).post(reveal_url(person, "id_number"))
    assert response.status_code == status
    assert person.id_number not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_reveal_of_another_field_is_404(personas: Personas, client_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    assert client_for(personas.grid_worker).post(reveal_url(person, "helper_name")).status_code == 404


# --- editing ---


def test_grid_worker_adds_a_person_with_full_width_digits_and_lower_x(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    while not (number := make_id_number("19700101")).endswith("X"):
        pass
    response = client_for(personas.grid_worker).post(
        reverse("registry:person_add", kwargs={"pk": h.pk}),
        {
            "name": "赵六",
            "id_number": number.translate(FULL_WIDTH).lower(),
            "phone": "13900002222",
            "relation": "spouse",
            "residency": "resident",
            "health_code": "green",
            "lives_alone": "on",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(name="赵六")
    assert (person.household, person.id_number, person.lives_alone) == (h, number, True)
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, model="registry.Person", object_pk=str(person.pk), actor=personas.grid_worker
    ).exists()


def test_duplicate_id_number_is_a_clear_error_and_nothing_is_saved(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    existing = householder(household(personas, personas.tree.b2))
    people = Person.objects.count()
    response = client_for(personas.grid_worker).post(
        reverse("registry:person_add", kwargs={"pk": h.pk}),
        {
            "name": "重复",
            "id_number": existing.id_number,
            "relation": "other",
            "residency": "resident",
            "health_code": "green",
        },
    )
    assert response.status_code == 200
    assert "该身份证号已登记在其他户" in response.content.decode()
    assert Person.objects.count() == people


def test_bad_id_number_and_missing_name_are_shown_in_chinese(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    response = client_for(personas.grid_worker).post(
        reverse("registry:person_add", kwargs={"pk": h.pk}),
        {
            "name": "",
            "id_number": "11010519491231002Y",
            "relation": "other",
            "residency": "resident",
            "health_code": "green",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "这个字段是必填项" in page


def test_bad_id_number_is_shown_in_chinese(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    response = client_for(personas.grid_worker).post(
        reverse("registry:person_add", kwargs={"pk": h.pk}),
        {
            "name": "某人",
            "id_number": "110105194912310021",
            "relation": "other",
            "residency": "resident",
            "health_code": "green",
        },
    )
    assert "身份证号校验位错误" in response.content.decode()
    assert not Person.objects.filter(name="某人").exists()


def test_edit_keeps_the_id_number_when_left_blank_and_is_audited(personas: Personas, client_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    client = client_for(personas.street_command)
    form_page = client.get(reverse("registry:person_edit", kwargs={"pk": person.pk})).content.decode()
    # Street command may edit but not reveal: the edit form must not show the full values either.
    assert person.id_number not in form_page and person.phone not in form_page
    assert person.masked_id_number in form_page
    response = client.post(
        reverse("registry:person_edit", kwargs={"pk": person.pk}),
        {
            "name": "改名",
            "id_number": "",
            "phone": "",
            "relation": "householder",
            "residency": "tenant",
            "health_code": "yellow",
        },
    )
    assert response.status_code == 302
    before = (person.id_number, person.phone)
    person.refresh_from_db()
    assert (person.name, person.residency, person.health_code) == ("改名", "tenant", "yellow")
    assert (person.id_number, person.phone) == before
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_pk=str(person.pk)).get()
    assert set(event.changes) == {"name", "residency", "health_code"}


def test_remove_person_asks_then_deletes_and_audits(personas: Personas, client_for: Any) -> None:
    person = householder(household(personas, personas.tree.b1))
    client = client_for(personas.community_worker)
    url = reverse("registry:person_delete", kwargs={"pk": person.pk})
    assert "确认移除" in client.get(url).content.decode()
    assert Person.objects.filter(pk=person.pk).exists()
    assert client.post(url).status_code == 302
    assert not Person.objects.filter(pk=person.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_pk=str(person.pk)).exists()


def test_household_edit_records_the_landlord_and_audits(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1, "201")
    url = reverse("registry:household_edit", kwargs={"pk": h.pk})
    client = client_for(personas.grid_worker)
    response = client.post(url, {"is_rented": "on", "landlord_name": "", "landlord_phone": "", "note": ""})
    assert "出租房请填写房东姓名" in response.content.decode()
    response = client.post(url, {"is_rented": "on", "landlord_name": "钱房东", "landlord_phone": "123", "note": ""})
    assert "手机号应为以1开头的11位数字" in response.content.decode()
    h.refresh_from_db()
    assert not h.is_rented
    response = client.post(
        url, {"is_rented": "on", "landlord_name": "钱房东", "landlord_phone": "13700003333", "note": "租客2人"}
    )
    assert response.status_code == 302
    h.refresh_from_db()
    assert (h.is_rented, h.landlord_name, h.landlord_phone, h.note) == (True, "钱房东", "13700003333", "租客2人")
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, model="registry.Household", object_pk=str(h.pk)
    ).exists()
    page = client.get(reverse("registry:household", kwargs={"pk": h.pk})).content.decode()
    assert "钱房东" in page and "137****3333" in page and "13700003333" not in page


def test_travel_record_is_added_and_shown(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    person = householder(h)
    client = client_for(personas.grid_worker)
    url = reverse("registry:travel_add", kwargs={"pk": h.pk})
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    assert (
        "日期不能晚于今天"
        in client.post(url, {"person": person.pk, "date": tomorrow, "place": "上海"}).content.decode()
    )
    response = client.post(url, {"person": person.pk, "date": datetime.date.today(), "place": "杭州市西湖区"})
    assert response.status_code == 302
    assert "杭州市西湖区" in client.get(reverse("registry:household", kwargs={"pk": h.pk})).content.decode()
    assert AuditEvent.objects.filter(
        model="registry.Person", object_pk=str(person.pk), changes__has_key="travel"
    ).exists()


def test_travel_for_a_person_of_another_household_is_refused(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b1)
    stranger = householder(household(personas, personas.tree.b2))
    response = client_for(personas.grid_worker).post(
        reverse("registry:travel_add", kwargs={"pk": h.pk}),
        {"person": stranger.pk, "date": datetime.date.today(), "place": "x"},
    )
    assert response.status_code == 200
    assert not TravelRecord.objects.exists()


EDIT_URLS = ["person_add", "household_edit", "travel_add"]
PERSON_EDIT_URLS = ["person_edit", "person_delete"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("building_lead", 403),
        ("medic", 403),
        ("gate_guard", 403),
        ("resident", 403),
        ("supplier", 403),
        ("outsider", 404),
    ],
)
def test_edit_pages_are_refused(personas: Personas, client_for: Any, persona: str, status: int) -> None:
    h = personas.resident_household
    person = householder(h)
    client = client_for(getattr(personas, persona))
    for name in EDIT_URLS:
        url = reverse(f"registry:{name}", kwargs={"pk": h.pk})
        assert client.get(url).status_code == status, name
        assert client.post(url, {"name": "x", "place": "x"}).status_code == status, name
    for name in PERSON_EDIT_URLS:
        url = reverse(f"registry:{name}", kwargs={"pk": person.pk})
        assert client.get(url).status_code == status, name
        assert client.post(url, {"name": "x"}).status_code == status, name
    assert Person.objects.filter(pk=person.pk, name=person.name).exists()
    assert not AuditEvent.objects.filter(actor=getattr(personas, persona)).exists()


def test_superuser_gets_reveal_and_edit_on_the_household_page(personas: Personas, client_for: Any) -> None:
    h = household(personas, personas.tree.b4)
    page = client_for(personas.admin).get(reverse("registry:household", kwargs={"pk": h.pk})).content.decode()
    assert "/reveal/" in page and reverse("registry:household_edit", kwargs={"pk": h.pk}) in page


def test_household_page_lists_survey_visits_and_links_the_survey_form(personas: Personas, client_for: Any) -> None:
    from django.utils import timezone

    from linli.survey.models import SurveyVisit

    h = household(personas, personas.tree.b1)
    SurveyVisit.objects.create(
        household=h, visited_at=timezone.now(), visitor=personas.grid_worker, members_confirmed=True, fever=True
    )
    page = client_for(personas.grid_worker).get(reverse("registry:household", kwargs={"pk": h.pk})).content.decode()
    assert "已核实" in page and "发热" in page
    assert reverse("survey:visit_create", kwargs={"pk": h.pk}) in page
