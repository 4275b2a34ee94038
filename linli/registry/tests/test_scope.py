"""linli.lib.scope: who sees and who changes which part of the tree, persona by persona."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from linli.lib import scope
from linli.lib.testing import Personas
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, TravelRecord, Unit

# Households under each persona's node in linli.lib.testing: 3 rooms per unit; B1 has two units.
EXPECTED_HOUSEHOLDS = {
    "street_command": 15,
    "community_worker": 12,
    "medic": 12,
    "grid_worker": 9,
    "gate_guard": 9,
    "building_lead": 6,
    "resident": 1,
    "outsider": 3,
    "supplier": 0,
    "admin": 15,
}


@pytest.mark.parametrize(("persona", "count"), EXPECTED_HOUSEHOLDS.items())
def test_each_persona_sees_the_households_under_its_node(personas: Personas, persona: str, count: int) -> None:
    user = getattr(personas, persona)
    assert scope.visible(Household.objects.all(), user).count() == count
    assert scope.visible(Person.objects.all(), user).count() == 2 * count


@pytest.mark.parametrize(
    "persona", ["street_command", "community_worker", "grid_worker", "building_lead", "gate_guard", "resident"]
)
def test_visible_and_editable_households_are_the_same_below_the_node(personas: Personas, persona: str) -> None:
    user = getattr(personas, persona)
    visible = set(scope.visible(Household.objects.all(), user).values_list("pk", flat=True))
    assert visible
    assert set(scope.editable(Household.objects.all(), user).values_list("pk", flat=True)) == visible


def test_ancestors_are_visible_but_not_editable(personas: Personas) -> None:
    tree, user = personas.tree, personas.grid_worker
    assert list(scope.visible(Street.objects.all(), user)) == [tree.street]
    assert list(scope.visible(Community.objects.all(), user)) == [tree.c1]
    assert not scope.editable(Street.objects.all(), user).exists()
    assert not scope.editable(Community.objects.all(), user).exists()
    assert list(scope.editable(Grid.objects.all(), user)) == [tree.g1]
    assert scope.can_see(tree.c1, user) and not scope.can_edit(tree.c1, user)


def test_siblings_of_the_node_and_of_its_ancestors_stay_hidden(personas: Personas) -> None:
    tree, user = personas.tree, personas.grid_worker
    assert list(scope.visible(Grid.objects.all(), user)) == [tree.g1]  # not G2 of the same community
    assert tree.c2 not in scope.visible(Community.objects.all(), user)
    assert not scope.visible(Compound.objects.filter(pk__in=[tree.p2.pk, tree.p3.pk]), user).exists()


def test_building_lead_sees_its_building_and_units_only(personas: Personas) -> None:
    tree, user = personas.tree, personas.building_lead
    assert list(scope.visible(Building.objects.all(), user)) == [tree.b1]
    assert set(scope.visible(Unit.objects.all(), user).values_list("building_id", flat=True)) == {tree.b1.pk}


def test_outsider_sees_nothing_of_the_other_community(personas: Personas) -> None:
    tree, user = personas.tree, personas.outsider
    assert not scope.visible(Household.objects.filter(community=tree.c1), user).exists()
    assert not scope.visible(Person.objects.filter(household__community=tree.c1), user).exists()
    assert list(scope.visible(Community.objects.all(), user)) == [tree.c2]
    assert list(scope.visible(Street.objects.all(), user)) == [tree.street]  # its own street, read-only
    assert not scope.editable(Street.objects.all(), user).exists()


@pytest.mark.parametrize("model", [Street, Community, Grid, Compound, Building, Unit, Household, Person, TravelRecord])
def test_supplier_sees_nothing_of_the_registry(personas: Personas, model: Any) -> None:
    assert not scope.visible(model.objects.all(), personas.supplier).exists()
    assert not scope.editable(model.objects.all(), personas.supplier).exists()


def test_anonymous_sees_nothing(personas: Personas) -> None:
    assert not scope.visible(Household.objects.all(), AnonymousUser()).exists()
    assert scope.user_level(AnonymousUser()) is None


def test_resident_sees_only_its_own_household_and_members(personas: Personas) -> None:
    user, home = personas.resident, personas.resident_household
    assert list(scope.visible(Household.objects.all(), user)) == [home]
    assert set(scope.visible(Person.objects.all(), user)) == set(home.members.all())
    # The unit is on the resident's path: visible (their own address), never editable.
    assert list(scope.visible(Unit.objects.all(), user)) == [home.unit]
    assert not scope.editable(Unit.objects.all(), user).exists()


def test_superuser_sees_and_changes_everything(personas: Personas) -> None:
    assert scope.editable(Street.objects.all(), personas.admin).count() == Street.objects.count()
    assert scope.editable(Household.objects.all(), personas.admin).count() == 15


def test_out_of_scope_record_raises_404_like_a_missing_one(personas: Personas) -> None:
    other = personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]
    with pytest.raises(Http404):
        scope.get_visible_or_404(Household.objects.all(), personas.grid_worker, pk=other.pk)
    with pytest.raises(Http404):
        scope.get_visible_or_404(Household.objects.all(), personas.grid_worker, pk=10**9)
    with pytest.raises(Http404):
        scope.get_editable_or_404(Community.objects.all(), personas.grid_worker, pk=personas.tree.c1.pk)
    assert scope.get_visible_or_404(Community.objects.all(), personas.grid_worker, pk=personas.tree.c1.pk)


def test_user_level_is_the_deepest_scope(personas: Personas) -> None:
    assert scope.user_level(personas.street_command) == "street"
    assert scope.user_level(personas.grid_worker) == "grid"
    assert scope.user_level(personas.gate_guard) == "compound"
    assert scope.user_level(personas.resident) == "household"
    assert scope.user_level(personas.supplier) is None


def test_a_model_without_scope_lookups_cannot_be_scoped(personas: Personas) -> None:
    from linli.accounts.models import LoginFailure

    with pytest.raises(TypeError):
        scope.visible(LoginFailure.objects.all(), personas.grid_worker)
