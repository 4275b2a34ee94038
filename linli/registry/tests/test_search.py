"""The person search box: what each kind of query finds, in what order, and only within scope."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from linli.lib.testing import Personas, make_id_number, make_phone
from linli.registry import services
from linli.registry.models import Household, Person
from linli.registry.search import ParsedQuery, parse_query, search_people

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


def id_number_ending(tail: str) -> str:
    """A valid ID number whose last four characters are ``tail``."""
    for day in range(1, 29):
        body = f"31010419800{1 + day % 9}{day:02d}{tail[:3]}"
        if ric.calc_check_digit(body + "0") == tail[3]:
            return body + tail[3]
    raise AssertionError(f"no ID number ends in {tail}")


def household(personas: Personas, building: str, room: str, unit: str = "1单元") -> Household:
    return personas.tree.households[f"{getattr(personas.tree, building).code}/{unit}/{room}"]


def add_person(personas: Personas, building: str, room: str, name: str, **fields: str) -> Person:
    fields.setdefault("id_number", make_id_number())
    return services.person_create(household=household(personas, building, room), name=name, **fields)


def names(people: list[Person]) -> list[str]:
    return [p.name for p in people]


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("13912345678", ParsedQuery("phone", "13912345678")),
        ("+86 139-1234-5678", ParsedQuery("phone", "13912345678")),
        ("31010419800101123x", ParsedQuery("id_number", "31010419800101123X")),
        ("1201", ParsedQuery("tail", "1201")),
        ("123x", ParsedQuery("tail", "123X")),
        ("302", ParsedQuery("room", room="302")),
        ("1201室", ParsedQuery("room", room="1201")),
        ("3-1-1201", ParsedQuery("address", building="3", unit="1", room="1201")),
        ("3号楼1单元1201", ParsedQuery("address", building="3", unit="1", room="1201")),
        ("3栋 1单元 1201室", ParsedQuery("address", building="3", unit="1", room="1201")),
        ("3号楼1201", ParsedQuery("address", building="3", room="1201")),
        ("丽水华庭3-1-1201", ParsedQuery("address", "丽水华庭3-1-1201", "3", "1", "1201", compound="丽水华庭")),
        ("丽水华庭 101", ParsedQuery("address", "丽水华庭101", room="101", compound="丽水华庭")),
        ("丽水1201室", ParsedQuery("address", "丽水1201室", room="1201", compound="丽水")),
        ("张", ParsedQuery("name", "张")),
        (" 张 伟 ", ParsedQuery("name", "张伟")),
    ],
)
def test_query_is_read_by_its_shape(query: str, parsed: ParsedQuery) -> None:
    assert parse_query(query) == parsed


@pytest.mark.parametrize("query", ["", "   ", "3", "a", "x", "-"])
def test_empty_or_single_non_chinese_character_finds_nothing(personas: Personas, query: str) -> None:
    assert parse_query(query) is None
    assert search_people(personas.street_command, query) == []


def test_full_name_comes_before_longer_names_that_start_with_it(personas: Personas) -> None:
    add_person(personas, "b1", "102", "张伟民")
    add_person(personas, "b2", "101", "张伟")
    add_person(personas, "b3", "201", "张伟")  # grid 2, same community
    add_person(personas, "b1", "201", "张伟东海")

    found = search_people(personas.community_worker, "张伟")

    assert names(found) == ["张伟", "张伟", "张伟民", "张伟东海"]


def test_one_chinese_character_finds_the_surname(personas: Personas) -> None:
    add_person(personas, "b1", "102", "欧阳修")
    add_person(personas, "b2", "101", "欧小明")

    assert sorted(names(search_people(personas.community_worker, "欧"))) == ["欧小明", "欧阳修"]
    assert names(search_people(personas.community_worker, "欧阳")) == ["欧阳修"]


def test_phone_number_finds_its_owner_with_or_without_separators(personas: Personas) -> None:
    phone = make_phone()
    person = add_person(personas, "b2", "102", "王芳", phone=phone)

    for query in (phone, f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", f"+86 {phone}"):
        assert search_people(personas.grid_worker, query) == [person]


def test_id_number_search_accepts_full_width_digits_and_small_x(personas: Personas) -> None:
    number = id_number_ending("567X")
    person = add_person(personas, "b1", "101", "赵敏", id_number=number)

    assert search_people(personas.grid_worker, number.translate(FULL_WIDTH)) == [person]
    assert search_people(personas.grid_worker, number.lower()) == [person]


def test_four_digits_find_phone_tail_then_id_tail_then_room(personas: Personas) -> None:
    by_phone = add_person(personas, "b1", "101", "钱一", phone=f"1390000{'1201'}")
    by_id = add_person(personas, "b2", "102", "孙二", id_number=id_number_ending("1201"))
    room = services.household_create(unit=household(personas, "b1", "101").unit, room="1201")
    in_room = services.person_create(household=room, name="李三", id_number=make_id_number())

    assert search_people(personas.grid_worker, "1201") == [by_phone, by_id, in_room]


def test_three_digits_and_x_find_the_id_tail(personas: Personas) -> None:
    person = add_person(personas, "b2", "201", "周四", id_number=id_number_ending("123X"))

    assert search_people(personas.grid_worker, "123x") == [person]


def test_room_number_finds_everyone_in_rooms_with_that_number(personas: Personas) -> None:
    found = search_people(personas.community_worker, "201")

    rooms = {(p.household.building_id, p.household.unit_id) for p in found}
    assert {p.household.room for p in found} == {"201"}
    assert len(rooms) == 4  # B1 units 1 and 2, B2 and B3 in community 1; not B4 of community 2
    assert {p.household.community_id for p in found} == {personas.tree.c1.pk}
    assert len(found) == 8


@pytest.mark.parametrize("query", ["1-1-101", "1号楼1单元101", "1栋1单元101室"])
def test_building_unit_room_finds_the_people_of_that_home(personas: Personas, query: str) -> None:
    found = search_people(personas.grid_worker, query)

    assert {p.household for p in found} == {household(personas, "b1", "101")}
    assert len(found) == 2


def test_building_and_room_without_unit_finds_that_room_in_every_unit(personas: Personas) -> None:
    found = search_people(personas.grid_worker, "1号楼101")

    assert {p.household for p in found} == {household(personas, "b1", "101"), household(personas, "b1", "101", "2单元")}


def test_building_unit_room_across_compounds_of_the_community(personas: Personas) -> None:
    found = search_people(personas.community_worker, "1-1-101")

    # 1号楼 of 阳光小区 (grid 1) and of 和谐家园 (grid 2); 团结新村's is another community's.
    assert {p.household for p in found} == {household(personas, "b1", "101"), household(personas, "b3", "101")}


@pytest.mark.parametrize("query", ["阳光小区1-1-101", "阳光小区 1号楼1单元101", "阳光1-1-101"])
def test_a_compound_name_before_the_address_picks_that_compound(personas: Personas, query: str) -> None:
    # 1-1-101 alone finds it in 阳光小区 and 和谐家园 (above); with the compound's name, only there
    found = search_people(personas.community_worker, query)

    assert {p.household for p in found} == {household(personas, "b1", "101")}


def test_a_compound_name_before_a_room_finds_that_room_of_the_compound(personas: Personas) -> None:
    found = search_people(personas.community_worker, "和谐家园101")

    assert found and {p.household.compound.name for p in found} == {"和谐家园"}
    assert {p.household.room for p in found} == {"101"}


def test_results_are_capped_at_the_limit(personas: Personas) -> None:
    assert len(search_people(personas.street_command, "户主")) == 15
    assert len(search_people(personas.street_command, "户主", limit=4)) == 4
    assert len(search_people(personas.street_command, "101", limit=3)) == 3


def test_grid_worker_finds_nobody_of_another_grid_or_community(personas: Personas) -> None:
    other_grid = add_person(personas, "b3", "101", "李雷", phone=make_phone())
    other_community = add_person(personas, "b4", "101", "李雷", phone=make_phone())
    own = add_person(personas, "b2", "101", "李雷雷")

    assert search_people(personas.grid_worker, "李雷") == [own]
    assert search_people(personas.grid_worker, other_grid.phone) == []
    assert search_people(personas.grid_worker, other_community.id_number or "") == []
    assert {p.household.grid_id for p in search_people(personas.grid_worker, "101")} == {personas.tree.g1.pk}


def test_community_worker_finds_nobody_of_another_community(personas: Personas) -> None:
    stranger = add_person(personas, "b4", "102", "韩梅梅", phone=make_phone())

    assert search_people(personas.community_worker, "韩梅梅") == []
    assert search_people(personas.community_worker, stranger.phone) == []
    assert search_people(personas.community_worker, stranger.phone[-4:]) == []
    assert search_people(personas.outsider, "韩梅梅") == [stranger]


def test_supplier_finds_nothing(personas: Personas) -> None:
    phone = Person.objects.exclude(phone="").first()
    assert phone is not None
    for query in ("户主101", "户", phone.phone, phone.phone[-4:], "101", "1-1-101"):
        assert search_people(personas.supplier, query) == []


def test_resident_finds_only_their_own_household(personas: Personas) -> None:
    own = personas.resident_household

    for query in ("户主101", "家属", "101", "1-1-101", "1号楼101"):
        found = search_people(personas.resident, query)
        assert found, query
        assert {p.household_id for p in found} == {own.pk}, query
    neighbour = Person.objects.filter(household=household(personas, "b1", "102")).first()
    assert neighbour is not None and neighbour.id_number
    assert search_people(personas.resident, neighbour.id_number) == []
