import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.registry import services as registry
from linli.registry.models import Household
from linli.survey.selectors import survey_progress

PROGRESS = reverse("survey:progress")


def mark_surveyed(*households: Household) -> None:
    Household.objects.filter(pk__in=[h.pk for h in households]).update(surveyed_at=timezone.now())


def by_name(rows):
    return {row.name: row for row in rows}


def test_street_progress_counts_households_and_people_per_community(personas):
    tree = personas.tree
    b1 = [h for key, h in tree.households.items() if key.startswith(tree.b1.code)]
    mark_surveyed(*b1[:4])

    progress = survey_progress(personas.street_command)

    rows = by_name(progress.rows)
    assert progress.level == "street" and progress.child_level == "community"
    assert (rows["幸福社区"].households, rows["幸福社区"].surveyed) == (12, 4)
    assert rows["幸福社区"].people == 24
    assert rows["幸福社区"].people_unsurveyed == 16
    assert rows["幸福社区"].percent == 33
    assert (rows["团结社区"].households, rows["团结社区"].surveyed, rows["团结社区"].percent) == (3, 0, 0)
    assert (progress.total.households, progress.total.surveyed, progress.total.people_unsurveyed) == (15, 4, 22)


def test_compound_progress_lists_buildings_and_a_complete_one_is_100(personas):
    tree = personas.tree
    mark_surveyed(*[h for key, h in tree.households.items() if key.startswith(tree.b2.code)])

    progress = survey_progress(personas.community_worker, "compound", tree.p1.pk)

    rows = by_name(progress.rows)
    assert rows["2号楼"].complete and rows["2号楼"].percent == 100
    assert rows["1号楼"].households == 6 and not rows["1号楼"].complete
    assert [name for _level, name in [(lvl, node.name) for lvl, node in progress.path]] == [
        "和平街道",
        "幸福社区",
        "第一网格",
    ]


def test_building_level_lists_uncovered_households_with_their_people(personas, client_for):
    tree = personas.tree
    covered = tree.households[f"{tree.b1.code}/1单元/101"]
    mark_surveyed(covered)

    response = client_for(personas.grid_worker).get(PROGRESS, {"level": "building", "id": tree.b1.pk})

    assert response.status_code == 200
    progress = response.context["progress"]
    assert len(progress.uncovered) == 5
    assert covered.pk not in {item.household.pk for item in progress.uncovered}
    first = progress.uncovered[0]
    assert first.householder.name == "户主102"
    assert [p.name for p in first.people] == ["户主102", "家属102"]
    page = response.content.decode()
    assert reverse("survey:visit_create", args=[first.household.pk]) in page
    assert "家属201" in page
    assert (progress.total.households, progress.total.surveyed, progress.total.people_unsurveyed) == (6, 1, 10)


def test_grid_worker_starts_at_their_grid_and_sees_only_it_from_above(personas, client_for):
    client = client_for(personas.grid_worker)

    start = client.get(PROGRESS)
    above = client.get(PROGRESS, {"level": "community", "id": personas.tree.c1.pk})

    assert start.context["progress"].node == personas.tree.g1
    assert [row.name for row in start.context["progress"].rows] == ["阳光小区"]
    assert [row.name for row in above.context["progress"].rows] == ["第一网格"]
    assert above.context["progress"].total.households == 9


def test_rows_below_100_percent_are_coloured(personas, client_for):
    tree = personas.tree
    mark_surveyed(*[h for key, h in tree.households.items() if key.startswith(tree.b3.code)])

    page = client_for(personas.community_worker).get(PROGRESS).content.decode()

    assert page.count('class="incomplete"') == 1  # 第一网格; 第二网格 is complete
    assert page.count('class="complete"') == 1


def test_progress_is_a_fixed_number_of_queries_however_many_nodes(personas, client_for):
    client = client_for(personas.street_command)
    tree = personas.tree

    def count(params):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PROGRESS, params).status_code == 200
        return len(ctx.captured_queries)

    levels = [{}, {"level": "community", "id": tree.c1.pk}, {"level": "compound", "id": tree.p1.pk}]
    levels.append({"level": "building", "id": tree.b1.pk})
    before = [count(params) for params in levels]
    for number in range(3, 8):
        building = registry.building_create(compound=tree.p1, name=f"{number}号楼")
        unit = registry.unit_create(building=building, name="1单元")
        for room in ("101", "102"):
            household = registry.household_create(unit=unit, room=room)
            registry.person_create(household=household, name=f"住户{number}{room}")
    for room in ("301", "302", "401"):
        registry.household_create(unit=tree.units[f"{tree.b1.code}/1单元"], room=room)
    after = [count(params) for params in levels]

    assert before == after
    assert max(after) <= 8, after


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("supplier", 403), ("resident", 403)])
def test_progress_refuses_nodes_outside_the_scope(personas, client_for, persona, status):
    tree = personas.tree
    client = client_for(getattr(personas, persona))

    for level, node in (("community", tree.c1), ("grid", tree.g1), ("compound", tree.p1), ("building", tree.b1)):
        response = client.get(PROGRESS, {"level": level, "id": node.pk})
        assert response.status_code == status
        assert "阳光小区" not in response.content.decode()


def test_outsider_sees_only_their_own_community(personas, client_for):
    response = client_for(personas.outsider).get(PROGRESS)

    assert response.status_code == 200
    page = response.content.decode()
    assert "团结社区" in page and "幸福社区" not in page


def test_malformed_node_is_not_found(personas, client_for):
    client = client_for(personas.street_command)

    assert client.get(PROGRESS, {"level": "unit", "id": 1}).status_code == 404
    assert client.get(PROGRESS, {"level": "grid", "id": "x"}).status_code == 404
