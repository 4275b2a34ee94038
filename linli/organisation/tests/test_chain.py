import datetime
from typing import Any

import pytest
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.organisation.models import CoverSlot, ResponsibilityChain
from linli.organisation.selectors import cover_gaps
from linli.organisation.services import cover_slot_add, responsibility_chain_save

INDEX = reverse("org:index")
CHAIN: dict[str, Any] = {
    "street_leader": "王街道",
    "street_leader_phone": "13900000001",
    "community_leader": "李社区",
    "community_leader_phone": "0551-62345678",
    "responsible": "张责任",
    "responsible_phone": "13900000003",
}


def edit_url(compound) -> str:
    return reverse("org:compound_edit", args=[compound.pk])


def test_index_lists_compounds_in_scope_with_chain_and_lead_unit(personas, client_for):
    tree = personas.tree
    responsibility_chain_save(compound=tree.p1, actor=personas.community_worker, **CHAIN)

    response = client_for(personas.community_worker).get(INDEX)

    assert response.status_code == 200
    page = response.content.decode()
    assert "阳光小区" in page and "和谐家园" in page and "团结新村" not in page
    assert "张责任" in page and "责任体系已明确" in page
    assert "责任体系未填写完整" in page  # 和谐家园 has no chain yet
    assert "阳光物业" in page
    assert "由社区牵头" in page  # 和谐家园: no property company, no former manager
    assert f'href="{edit_url(tree.p1)}"' in page


def test_grid_worker_sees_the_chain_but_no_edit_link(personas, client_for):
    response = client_for(personas.grid_worker).get(INDEX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "阳光小区" in page and "和谐家园" not in page
    assert f'href="{edit_url(personas.tree.p1)}"' not in page


def test_chain_edit_saves_and_is_audited(personas, client_for):
    compound = personas.tree.p1
    client = client_for(personas.community_worker)

    response = client.post(edit_url(compound), {"action": "chain", **CHAIN})
    assert response.status_code == 302
    client.post(edit_url(compound), {"action": "chain", **CHAIN, "responsible": "赵新人"})

    chain = ResponsibilityChain.objects.get(compound=compound)
    assert chain.responsible == "赵新人" and chain.filled
    events = AuditEvent.objects.filter(model="organisation.ResponsibilityChain").order_by("id")
    assert [event.action for event in events] == ["create", "update"]
    assert events[1].changes == {"responsible": ["张责任", "赵新人"]}
    assert events[1].actor == personas.community_worker
    assert events[1].community_id == personas.tree.c1.pk


def test_chain_with_bad_phone_or_phone_without_name_is_refused_in_chinese(personas, client_for):
    compound = personas.tree.p1

    response = client_for(personas.community_worker).post(
        edit_url(compound),
        {"action": "chain", **CHAIN, "street_leader_phone": "12345abc", "responsible": ""},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "电话号码格式不正确" in page
    assert "请填写姓名" in page
    assert not ResponsibilityChain.objects.exists()
    assert not AuditEvent.objects.filter(model="organisation.ResponsibilityChain").exists()


def test_cover_slots_are_added_and_removed_and_the_gaps_shown(personas, client_for):
    compound = personas.tree.p1
    client = client_for(personas.street_command)

    for starts, ends, name in (("08:00", "17:00", "甲"), ("17:00", "20:00", "乙")):
        response = client.post(
            edit_url(compound),
            {
                "action": "slot_add",
                "slot-name": name,
                "slot-kind": "cadre",
                "slot-phone": "13900000009",
                "slot-starts": starts,
                "slot-ends": ends,
            },
        )
        assert response.status_code == 302
    page = client.get(edit_url(compound)).content.decode()
    assert "20:00–08:00" in page  # the night is not covered

    night = client.post(
        edit_url(compound),
        {
            "action": "slot_add",
            "slot-name": "丙",
            "slot-kind": "volunteer",
            "slot-phone": "13900000010",
            "slot-starts": "20:00",
            "slot-ends": "08:00",
        },
    )
    assert night.status_code == 302
    assert cover_gaps(CoverSlot.objects.filter(compound=compound)) == []
    first = CoverSlot.objects.get(name="甲")
    assert client.post(edit_url(compound), {"action": "slot_remove", "slot": first.pk}).status_code == 302
    assert cover_gaps(CoverSlot.objects.filter(compound=compound)) == [(datetime.time(8), datetime.time(17))]
    actions = list(AuditEvent.objects.filter(model="organisation.CoverSlot").values_list("action", flat=True))
    assert sorted(actions) == ["create", "create", "create", "delete"]


def test_cover_slot_must_have_a_phone_and_different_times(personas, client_for):
    response = client_for(personas.community_worker).post(
        edit_url(personas.tree.p1),
        {
            "action": "slot_add",
            "slot-name": "甲",
            "slot-kind": "cadre",
            "slot-phone": "",
            "slot-starts": "08:00",
            "slot-ends": "08:00",
        },
    )

    assert response.status_code == 400
    assert "请填写联系电话" in response.content.decode()
    assert not CoverSlot.objects.exists()


def test_gaps_of_an_empty_day_are_the_whole_day():
    assert cover_gaps([]) == [(datetime.time(0), datetime.time(0))]


def test_former_managers_are_added_on_the_edit_page_and_pick_the_lead(personas, client_for):
    compound = personas.tree.p2  # no property company
    client = client_for(personas.community_worker)

    for name, buildings in (("区房管所", "2"), ("市机械厂", "6")):
        response = client.post(
            edit_url(compound), {"action": "unit_add", "unit-name": name, "unit-buildings": buildings}
        )
        assert response.status_code == 302

    page = client.get(INDEX).content.decode()
    assert "市机械厂" in page and "管理楼栋最多的原管理单位" in page


@pytest.mark.parametrize(
    ("persona", "status"),
    [("outsider", 404), ("supplier", 403), ("resident", 403), ("grid_worker", 403), ("building_lead", 403)],
)
def test_chain_edit_refuses_accounts_outside_scope_or_role(personas, client_for, persona, status):
    compound = personas.tree.p1
    slot = cover_slot_add(
        compound=compound,
        actor=None,
        name="甲",
        phone="13900000009",
        starts=datetime.time(8),
        ends=datetime.time(17),
    )
    client = client_for(getattr(personas, persona))

    assert client.get(edit_url(compound)).status_code == status
    assert client.post(edit_url(compound), {"action": "chain", **CHAIN}).status_code == status
    assert client.post(edit_url(compound), {"action": "slot_remove", "slot": slot.pk}).status_code == status
    assert not ResponsibilityChain.objects.exists()
    assert CoverSlot.objects.filter(pk=slot.pk).exists()


@pytest.mark.parametrize(("persona", "status"), [("supplier", 403), ("resident", 403)])
def test_index_refuses_accounts_without_staff_scope(personas, client_for, persona, status):
    assert client_for(getattr(personas, persona)).get(INDEX).status_code == status


def test_outsider_index_shows_nothing_of_the_other_community(personas, client_for):
    responsibility_chain_save(compound=personas.tree.p1, actor=None, **CHAIN)

    page = client_for(personas.outsider).get(INDEX).content.decode()

    assert "团结新村" in page
    assert "阳光小区" not in page and "张责任" not in page
