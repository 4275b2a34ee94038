"""The community epidemic status of H5 from its case records, close contacts and epidemic points (H6)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from linli.health import rules, services
from linli.health.choices import Category, CommunityStatus, OrderStatus, Place
from linli.health.models import Case, CloseContact, KeyPerson, StatusRecord, TestTask
from linli.health.tests.conftest import Health, at, day
from linli.lib.testing import Tree
from linli.registry.models import Household, Person

pytestmark = pytest.mark.django_db

TODAY = at(20, 10)


def household(tree: Tree, building: str, unit: str, room: str) -> Household:
    code = {"b1": tree.b1, "b2": tree.b2, "b3": tree.b3, "b4": tree.b4}[building].code
    return tree.households[f"{code}/{unit}/{room}"]


def member(home: Household, index: int = 0) -> Person:
    return list(home.members.order_by("pk"))[index]


def case(
    health: Health,
    name: str,
    *,
    home: Household | None = None,
    index: int = 0,
    confirmed: datetime.date | None = None,
    kind: str = "confirmed",
    source: str = "known",
    cluster: str = "",
    now: datetime.datetime = TODAY,
    **extra: Any,
) -> Case:
    return services.case_record(
        community=health.personas.tree.c1,
        name=name,
        kind=kind,
        confirmed_on=confirmed or day(18),
        source=source,
        actor=health.personas.medic,
        person=member(home, index) if home is not None else None,
        cluster=cluster,
        now=now,
        **extra,
    )


def status(health: Health, moment: datetime.datetime = TODAY) -> services.StatusFinding:
    return services.status_of(health.personas.tree.c1, now=moment)


def test_no_case_prevents_import_with_measures_1_to_6(health: Health) -> None:
    found = status(health)
    assert found.status == CommunityStatus.NO_CASE
    assert found.strategy == "外防输入"
    assert [n for n, _ in found.measures] == [1, 2, 3, 4, 5, 6]
    assert [label for _, label in found.measures] == [
        "组织动员",
        "健康教育",
        "信息告知",
        "疫区返回人员管理",
        "环境卫生治理",
        "物资准备",
    ]
    assert "无确诊病例" in found.explanation
    assert not StatusRecord.objects.exists()


def test_one_confirmed_case_means_case_with_measures_1_to_8(health: Health) -> None:
    tree = health.personas.tree
    recorded = case(health, "张三", home=household(tree, "b1", "1单元", "101"))
    found = status(health)
    assert found.status == CommunityStatus.CASE
    assert found.strategy == "内防扩散、外防输出"
    assert [n for n, _ in found.measures] == list(range(1, 9))
    assert dict(found.measures)[7] == "密切接触者管理" and dict(found.measures)[8] == "消毒"
    assert found.case_ids == [recorded.pk]
    assert "张三（11-18）" in found.explanation
    record = StatusRecord.objects.get()
    assert (record.status, record.case_ids) == (CommunityStatus.CASE, [recorded.pk])


def test_an_asymptomatic_infection_does_not_count(health: Health) -> None:
    tree = health.personas.tree
    home = household(tree, "b1", "1单元", "101")
    case(health, "无症状甲", home=home, kind="asymptomatic")
    assert status(health).status == CommunityStatus.NO_CASE
    case(health, "确诊乙", home=home, index=1)
    found = status(health)
    assert found.status == CommunityStatus.CASE  # not an outbreak: one of the two is asymptomatic
    assert "无症状甲" not in found.explanation


def test_a_family_cluster_of_two_is_an_outbreak(health: Health) -> None:
    tree = health.personas.tree
    home = household(tree, "b1", "1单元", "101")
    case(health, "父亲", home=home, confirmed=day(15))
    case(health, "女儿", home=home, index=1, confirmed=day(17))
    found = status(health)
    assert found.status == CommunityStatus.OUTBREAK
    assert found.strategy == "内防扩散、外防输出" and len(found.measures) == 8
    assert [[c.name for c in group] for group in found.outbreaks] == [["父亲", "女儿"]]
    assert "父亲（11-15）" in found.explanation and "女儿（11-17）" in found.explanation


def test_two_cases_in_one_unit_different_households_are_an_outbreak(health: Health) -> None:
    tree = health.personas.tree
    case(health, "甲", home=household(tree, "b1", "1单元", "101"), source="unknown")
    case(health, "乙", home=household(tree, "b1", "1单元", "201"), source="unknown")
    found = status(health)
    # In one unit they are an outbreak, not two sporadic cases of unknown source.
    assert found.status == CommunityStatus.OUTBREAK
    assert found.sporadic_unknown == []


def test_two_cases_at_one_named_site_are_an_outbreak(health: Health) -> None:
    case(health, "甲", cluster="幸福菜市场")
    case(health, "乙", cluster="幸福菜市场")
    assert status(health).status == CommunityStatus.OUTBREAK


def test_two_cases_in_different_units_of_known_source_are_still_case(health: Health) -> None:
    tree = health.personas.tree
    case(health, "甲", home=household(tree, "b1", "1单元", "101"))
    case(health, "乙", home=household(tree, "b1", "2单元", "101"))
    found = status(health)
    assert found.status == CommunityStatus.CASE and found.outbreaks == []


def test_two_sporadic_cases_of_unknown_source_are_community_transmission(health: Health) -> None:
    tree = health.personas.tree
    case(health, "甲", home=household(tree, "b1", "1单元", "101"), source="unknown")
    case(health, "乙", home=household(tree, "b3", "1单元", "102"), source="unknown")
    found = status(health)
    assert found.status == CommunityStatus.TRANSMISSION
    assert found.strategy == "内防蔓延、外防输出"
    assert [n for n, _ in found.measures] == list(range(1, 11))
    assert dict(found.measures)[9] == "疫区封锁" and dict(found.measures)[10] == "限制人员聚集"
    assert "2 例来源不明的散发病例" in found.explanation and "甲" in found.explanation and "乙" in found.explanation


def test_two_large_outbreaks_are_community_transmission(health: Health) -> None:
    tree = health.personas.tree
    settings = rules.settings_for(tree.street)
    assert settings.large_outbreak_cases == 5
    for n in range(5):
        case(health, f"甲{n}", cluster="幸福菜市场")
    assert status(health).status == CommunityStatus.OUTBREAK
    for n in range(4):
        case(health, f"乙{n}", cluster="阳光小学")
    assert status(health).status == CommunityStatus.OUTBREAK  # 5 + 4: one large outbreak
    case(health, "乙4", cluster="阳光小学")
    found = status(health)
    assert found.status == CommunityStatus.TRANSMISSION
    assert "2 起较大规模暴发" in found.explanation
    # The size of a large outbreak is the street's to set.
    rules.settings_update(tree.street, actor=None, large_outbreak_cases=6)
    assert status(health).status == CommunityStatus.OUTBREAK


def test_the_14_day_window_counts_today_minus_13_but_not_today_minus_14(health: Health) -> None:
    tree = health.personas.tree
    case(health, "旧病例", home=household(tree, "b1", "1单元", "101"), confirmed=day(6), source="unknown")
    assert status(health).status == CommunityStatus.NO_CASE  # 20 − 14
    case(health, "新病例", home=household(tree, "b3", "1单元", "101"), confirmed=day(7), source="unknown")
    found = status(health)
    assert found.status == CommunityStatus.CASE  # 20 − 13
    assert [c.name for c in found.cases] == ["新病例"]
    assert "2026-11-07 至 2026-11-20" in found.explanation
    assert status(health, at(19, 10)).status == CommunityStatus.TRANSMISSION  # both in 6 … 19


def test_a_case_dropping_out_of_the_window_changes_the_status_on_refresh(health: Health) -> None:
    tree = health.personas.tree
    first = case(health, "甲", home=household(tree, "b1", "1单元", "101"), confirmed=day(5), now=at(10, 11))
    second = case(health, "乙", home=household(tree, "b1", "1单元", "102"), confirmed=day(10), now=at(10, 11))
    community = tree.c1
    assert services.status_refresh(community, now=at(10, 12)).status == CommunityStatus.OUTBREAK
    # Nothing changed: no new record.
    services.status_refresh(community, now=at(11, 12))
    assert StatusRecord.objects.filter(status=CommunityStatus.OUTBREAK).count() == 1
    assert services.status_refresh(community, now=at(18, 12)).status == CommunityStatus.OUTBREAK  # 5 = 18 − 13
    dropped = services.status_refresh(community, now=at(19, 12))
    assert dropped.status == CommunityStatus.CASE and dropped.case_ids == [second.pk]
    assert services.status_refresh(community, now=at(24, 12)).status == CommunityStatus.NO_CASE
    history = list(StatusRecord.objects.filter(community=community).order_by("since", "pk"))
    assert [(r.status, r.case_ids) for r in history][-3:] == [
        (CommunityStatus.OUTBREAK, sorted([first.pk, second.pk])),
        (CommunityStatus.CASE, [second.pk]),
        (CommunityStatus.NO_CASE, []),
    ]
    assert history[-2].since == at(19, 12) and "乙" in history[-2].explanation
    assert "无确诊病例" in history[-1].explanation


def test_classify_works_on_unsaved_cases(health: Health) -> None:
    tree = health.personas.tree
    home = household(tree, "b1", "1单元", "101")
    other = household(tree, "b3", "1单元", "101")

    def draft(name: str, where: Household, source: str = "unknown") -> Case:
        return Case(
            name=name, kind="confirmed", source=source, confirmed_on=day(18), household=where, community=tree.c1
        )

    found = services.classify(
        [draft("甲", home), draft("乙", home), draft("丙", other), draft("丁", household(tree, "b2", "1单元", "101"))],
        today=day(20),
    )
    assert found.status == CommunityStatus.TRANSMISSION
    assert [c.name for c in found.sporadic_unknown] == ["丙", "丁"]
    assert [[c.name for c in g] for g in found.outbreaks] == [["甲", "乙"]]


def test_a_case_is_checked_before_it_is_recorded(health: Health) -> None:
    tree = health.personas.tree
    with pytest.raises(ValidationError) as refused:
        case(health, "甲", confirmed=day(21))
    assert "confirmed_on" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        case(health, "甲", onset_date=day(19))
    assert "onset_date" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        case(health, "甲", home=household(tree, "b4", "1单元", "101"))
    assert "person" in refused.value.message_dict
    assert not Case.objects.exists()


# ---------------------------------------------------------------------------------------------
# Close contacts and epidemic points (H6)


def test_a_close_contact_gets_a_14_day_centralized_order_in_one_step(health: Health) -> None:
    tree = health.personas.tree
    source = case(health, "甲", home=household(tree, "b2", "1单元", "101"), confirmed=day(19))
    contact = services.contact_add(
        source, person=health.person, kind="work", actor=health.personas.medic, last_contact_on=day(17), now=TODAY
    )
    assert (contact.name, contact.kind, contact.last_contact_on) == (health.person.name, "work", day(17))
    key = contact.key_person
    assert key is not None
    assert (key.category, key.case_id, key.active) == (Category.CLOSE_CONTACT, source.pk, True)
    order = key.orders.get()
    # 14 days of centralized observation from the last contact.
    assert (order.place, order.days, order.starts_on, order.planned_end) == (
        Place.CENTRALIZED,
        14,
        day(17),
        datetime.date(2026, 12, 1),
    )
    assert order.status == OrderStatus.ACTIVE and not order.holds_pass
    assert [t.due_on for t in TestTask.objects.filter(order=order)] == [day(30)]
    with pytest.raises(ValidationError, match="已是该病例的密切接触者"):
        services.contact_add(source, person=health.person, kind="work", actor=health.personas.medic, now=TODAY)
    assert CloseContact.objects.count() == 1


def test_a_close_contact_without_a_last_contact_date_starts_today(health: Health) -> None:
    source = case(health, "甲", confirmed=day(19))
    contact = services.contact_add(source, person=health.person, kind="home", actor=health.personas.medic, now=TODAY)
    assert contact.key_person is not None
    order = contact.key_person.orders.get()
    assert (order.starts_on, order.planned_end) == (day(20), datetime.date(2026, 12, 4))


def test_a_close_contact_of_two_cases_is_registered_once(health: Health) -> None:
    first = case(health, "甲", cluster="菜场")
    second = case(health, "乙", cluster="菜场")
    services.contact_add(first, person=health.person, kind="work", actor=health.personas.medic, now=TODAY)
    services.contact_add(second, person=health.person, kind="work", actor=health.personas.medic, now=TODAY)
    assert CloseContact.objects.count() == 2
    assert KeyPerson.objects.filter(person=health.person).count() == 1


def test_a_close_contact_needs_a_known_kind_and_a_past_last_contact(health: Health) -> None:
    source = case(health, "甲")
    with pytest.raises(ValidationError) as refused:
        services.contact_add(source, person=health.person, kind="telepathy", actor=health.personas.medic, now=TODAY)
    assert "kind" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.contact_add(
            source, person=health.person, kind="home", actor=health.personas.medic, last_contact_on=day(21), now=TODAY
        )
    assert "last_contact_on" in refused.value.message_dict
    assert not CloseContact.objects.exists() and not KeyPerson.objects.exists()


def point(health: Health, source: Case, visited: datetime.date, hours: Any = "2") -> Any:
    return services.point_add(
        source,
        kind="office",
        place="幸福大厦 5 楼",
        visited_on=visited,
        hours=hours,
        actor=health.personas.medic,
        now=TODAY,
    )


def test_epidemic_points_lie_between_3_days_before_onset_and_isolation(health: Health) -> None:
    source = case(health, "甲", onset_date=day(10), isolated_on=day(12), confirmed=day(13))
    assert point(health, source, day(7)).visited_on == day(7)
    assert point(health, source, day(12)).visited_on == day(12)
    for outside in (day(6), day(13)):
        with pytest.raises(ValidationError) as refused:
            point(health, source, outside)
        assert "visited_on" in refused.value.message_dict
        assert "2026-11-07 至 2026-11-12" in refused.value.message_dict["visited_on"][0]


def test_a_case_not_yet_isolated_has_points_until_today(health: Health) -> None:
    source = case(health, "甲", onset_date=day(18), confirmed=day(19))
    assert point(health, source, day(20)).visited_on == day(20)
    undated = case(health, "乙", confirmed=day(19))
    with pytest.raises(ValidationError, match="发病日期"):
        point(health, undated, day(19))


@pytest.mark.parametrize("hours", ["1", "1.0", "0.5", "abc", "nan", "inf", ""])
def test_an_epidemic_point_needs_more_than_an_hour(health: Health, hours: str) -> None:
    source = case(health, "甲", onset_date=day(18), confirmed=day(19))
    with pytest.raises(ValidationError) as refused:
        point(health, source, day(19), hours)
    assert "hours" in refused.value.message_dict


def test_an_epidemic_point_of_an_hour_and_a_bit_counts_and_needs_a_known_kind(health: Health) -> None:
    source = case(health, "甲", onset_date=day(18), confirmed=day(19))
    assert str(point(health, source, day(19), "1.1").hours) == "1.1"
    with pytest.raises(ValidationError) as refused:
        services.point_add(
            source, kind="spaceship", place="x", visited_on=day(19), hours=2, actor=health.personas.medic, now=TODAY
        )
    assert "kind" in refused.value.message_dict


def test_an_isolation_date_in_the_future_is_refused(health: Health) -> None:
    with pytest.raises(ValidationError) as refused:
        case(health, "甲", onset_date=day(15), isolated_on=day(21), confirmed=day(19))
    assert refused.value.message_dict == {"isolated_on": ["隔离日期不能晚于今天"]}
    assert not Case.objects.exists()
    # Today, and a day long before onset (a contact already in quarantine), are both accepted.
    assert case(health, "乙", onset_date=day(15), isolated_on=day(20), confirmed=day(19)).isolated_on == day(20)
    assert case(health, "丙", onset_date=day(15), isolated_on=day(2), confirmed=day(19)).isolated_on == day(2)


def test_a_case_isolated_before_its_point_window_began_has_no_epidemic_points(health: Health) -> None:
    # given: a close contact in quarantine since the 5th who fell ill on the 15th (window from the 12th)
    source = case(health, "甲", onset_date=day(15), isolated_on=day(5), confirmed=day(17))

    # then: no window at all (not the 12th … 5th), and point_add says why in plain words
    assert services.point_window(source, now=TODAY) is None
    for visited in (day(4), day(5), day(12), day(14)):
        with pytest.raises(ValidationError) as refused:
            point(health, source, visited)
        message = refused.value.message_dict["visited_on"][0]
        assert message == "该病例 2026-11-05 已隔离，早于疫点追溯起点 2026-11-12（发病前 3 天），没有需要追溯的疫点"
    # Isolated the very day the window begins: a one-day window.
    edge = case(health, "乙", onset_date=day(15), isolated_on=day(12), confirmed=day(17))
    assert services.point_window(edge, now=TODAY) == (day(12), day(12))
    assert point(health, edge, day(12)).visited_on == day(12)
