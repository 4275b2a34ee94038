import pytest
from django.core.exceptions import ValidationError

from linli.organisation.services import compound_lead, compound_lead_unit, managing_unit_add
from linli.registry.models import Compound


def no_property(compound: Compound, lead_unit: str = "") -> Compound:
    Compound.objects.filter(pk=compound.pk).update(property_company="", lead_unit=lead_unit)
    return Compound.objects.select_related("community").get(pk=compound.pk)


def test_property_company_leads_its_compound(personas):
    compound = personas.tree.p1  # 阳光小区 has 阳光物业

    assert compound_lead_unit(compound) == "阳光物业"
    assert compound_lead(compound).basis == "物业公司"


def test_without_property_company_the_former_manager_leads(personas):
    compound = no_property(personas.tree.p2)
    managing_unit_add(compound=compound, actor=personas.community_worker, name="市机械厂", buildings=2)

    assert compound_lead_unit(compound) == "市机械厂"
    assert compound_lead(compound).basis == "原管理单位"


def test_of_several_former_managers_the_one_with_most_buildings_leads(personas):
    compound = no_property(personas.tree.p2)
    for name, buildings in (("区房管所", 3), ("市机械厂", 5), ("纺织公司", 1)):
        managing_unit_add(compound=compound, actor=personas.community_worker, name=name, buildings=buildings)

    assert compound_lead_unit(compound) == "市机械厂"
    assert compound_lead(compound).basis == "管理楼栋最多的原管理单位"


def test_a_tie_in_buildings_goes_to_the_manager_recorded_first(personas):
    compound = no_property(personas.tree.p2)
    managing_unit_add(compound=compound, actor=personas.community_worker, name="区房管所", buildings=4)
    managing_unit_add(compound=compound, actor=personas.community_worker, name="市机械厂", buildings=4)

    assert compound_lead_unit(compound) == "区房管所"


def test_a_single_former_manager_recorded_on_the_compound_leads(personas):
    compound = no_property(personas.tree.p2, lead_unit="区房管所")

    assert compound_lead_unit(compound) == "区房管所"


def test_without_any_manager_the_community_leads(personas):
    compound = no_property(personas.tree.p2)

    assert compound_lead_unit(compound) == "幸福社区"
    assert "社区牵头" in compound_lead(compound).basis


def test_managing_unit_needs_a_name_and_at_least_one_building(personas):
    compound = no_property(personas.tree.p2)

    with pytest.raises(ValidationError) as exc:
        managing_unit_add(compound=compound, actor=personas.community_worker, name=" ", buildings=0)

    assert exc.value.message_dict == {"name": ["请填写原管理单位名称"], "buildings": ["管理楼栋数至少为1"]}


def test_the_same_manager_twice_is_refused(personas):
    compound = no_property(personas.tree.p2)
    managing_unit_add(compound=compound, actor=personas.community_worker, name="区房管所", buildings=4)

    with pytest.raises(ValidationError, match="该小区已登记此原管理单位"):
        managing_unit_add(compound=compound, actor=personas.community_worker, name="区房管所", buildings=1)
