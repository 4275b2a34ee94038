import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.organisation.models import GroupKind, GroupMember, WorkingGroup
from linli.organisation.services import (
    DEFAULT_DUTIES,
    group_member_add,
    working_group_create,
    working_groups_seed_defaults,
)

GROUPS = reverse("org:groups")


def group_url(group) -> str:
    return reverse("org:group_edit", args=[group.pk])


def test_seeding_creates_the_leading_group_and_every_working_group_once(personas):
    community = personas.tree.c1

    created = working_groups_seed_defaults(community=community, actor=personas.community_worker)
    again = working_groups_seed_defaults(community=community)

    assert {group.kind for group in created} == set(GroupKind.values)
    assert again == []
    leading = WorkingGroup.objects.get(community=community, kind=GroupKind.LEADING)
    assert leading.name == "幸福社区疫情防控领导小组"
    assert leading.duties == str(DEFAULT_DUTIES[GroupKind.LEADING])
    assert leading.street_id == personas.tree.street.pk
    assert AuditEvent.objects.filter(model="organisation.WorkingGroup", action="create").count() == len(GroupKind)


def test_groups_page_lists_groups_leading_first_with_members_leader_first(personas, client_for):
    community = personas.tree.c1
    working_groups_seed_defaults(community=community)
    leading = WorkingGroup.objects.get(community=community, kind=GroupKind.LEADING)
    group_member_add(group=leading, actor=None, name="组员甲", phone="13900000021")
    group_member_add(group=leading, actor=None, name="书记乙", phone="13900000022", title="书记", is_leader=True)

    response = client_for(personas.grid_worker).get(GROUPS)

    assert response.status_code == 200
    listed = list(response.context["groups"])
    assert listed[0].kind == GroupKind.LEADING
    assert [member.name for member in listed[0].members.all()] == ["书记乙", "组员甲"]
    page = response.content.decode()
    assert page.index("书记乙") < page.index("组员甲")
    assert "综合联络组" in page
    assert reverse("org:group_create") not in page  # a grid worker reads, does not edit


def test_community_worker_seeds_from_the_page(personas, client_for):
    client = client_for(personas.community_worker)
    assert "按标准生成领导小组和各工作组" in client.get(GROUPS).content.decode()

    response = client.post(reverse("org:groups_seed"), {"community": personas.tree.c1.pk})

    assert response.status_code == 302
    assert WorkingGroup.objects.filter(community=personas.tree.c1).count() == len(GroupKind)


def test_community_worker_creates_edits_and_deletes_a_group(personas, client_for):
    client = client_for(personas.community_worker)

    response = client.post(
        reverse("org:group_create"),
        {
            "action": "group",
            "kind": "guard",
            "name": "卡口值守组",
            "duties": "24小时值守",
            "duty_phone": "0551-1234567",
        },
    )
    group = WorkingGroup.objects.get(name="卡口值守组")
    assert response.status_code == 302 and response["Location"] == group_url(group)
    assert group.community == personas.tree.c1

    client.post(group_url(group), {"action": "member_add", "member-name": "值守甲", "member-phone": "13900000031"})
    client.post(group_url(group), {"action": "group", "kind": "guard", "name": "卡口值守组", "duties": "三班倒值守"})
    group.refresh_from_db()
    assert group.duties == "三班倒值守" and group.duty_phone == ""
    assert group.members.get().name == "值守甲"

    assert client.post(reverse("org:group_delete", args=[group.pk])).status_code == 302
    assert not WorkingGroup.objects.filter(pk=group.pk).exists()
    assert not GroupMember.objects.exists()
    actions = AuditEvent.objects.filter(model__startswith="organisation.").values_list("action", flat=True)
    assert sorted(actions) == ["create", "create", "delete", "update"]


def test_group_form_shows_chinese_errors(personas, client_for):
    response = client_for(personas.community_worker).post(
        reverse("org:group_create"),
        {"action": "group", "kind": "guard", "name": "", "duties": "x", "duty_phone": "abc"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "请填写名称" in page
    assert not WorkingGroup.objects.exists()


def test_group_phone_is_checked_by_the_service(personas):
    with pytest.raises(ValidationError, match="电话号码格式不正确"):
        working_group_create(
            street=personas.tree.street,
            community=personas.tree.c1,
            actor=None,
            kind="guard",
            name="组",
            duties="职责",
            duty_phone="12",
        )


def test_street_commander_puts_a_group_in_a_community_of_the_street_or_the_street_itself(personas, client_for):
    client = client_for(personas.street_command)

    client.post(
        reverse("org:group_create"),
        {"action": "group", "community": personas.tree.c2.pk, "kind": "medical", "name": "团结医疗组", "duties": "x"},
    )
    client.post(
        reverse("org:group_create"), {"action": "group", "kind": "leading", "name": "街道领导小组", "duties": "x"}
    )

    assert WorkingGroup.objects.get(name="团结医疗组").community == personas.tree.c2
    street_group = WorkingGroup.objects.get(name="街道领导小组")
    assert street_group.community is None and street_group.street == personas.tree.street
    # The street's own groups are on a community worker's path: listed, but not editable.
    response = client_for(personas.community_worker).get(GROUPS)
    assert "街道领导小组" in response.content.decode()
    assert "团结医疗组" not in response.content.decode()
    assert street_group.pk not in response.context["editable"]


def test_community_worker_cannot_pick_another_community(personas, client_for):
    client_for(personas.community_worker).post(
        reverse("org:group_create"),
        {"action": "group", "community": personas.tree.c2.pk, "kind": "medical", "name": "医疗组", "duties": "x"},
    )

    assert WorkingGroup.objects.get(name="医疗组").community == personas.tree.c1


@pytest.mark.parametrize(
    ("persona", "status"),
    [("outsider", 404), ("supplier", 403), ("resident", 403), ("grid_worker", 403)],
)
def test_group_editing_refuses_accounts_outside_scope_or_role(personas, client_for, persona, status):
    working_groups_seed_defaults(community=personas.tree.c1)
    group = WorkingGroup.objects.get(community=personas.tree.c1, kind=GroupKind.LEADING)
    client = client_for(getattr(personas, persona))

    assert client.get(group_url(group)).status_code == status
    assert (
        client.post(group_url(group), {"action": "group", "kind": "leading", "name": "改", "duties": "改"}).status_code
        == status
    )
    assert client.post(reverse("org:group_delete", args=[group.pk])).status_code == status
    seeded = client.post(reverse("org:groups_seed"), {"community": personas.tree.c1.pk})
    assert seeded.status_code == status
    group.refresh_from_db()
    assert group.name == "幸福社区疫情防控领导小组"


@pytest.mark.parametrize(("persona", "status"), [("supplier", 403), ("resident", 403)])
def test_groups_page_refuses_accounts_without_staff_scope(personas, client_for, persona, status):
    assert client_for(getattr(personas, persona)).get(GROUPS).status_code == status


def test_outsider_sees_no_group_of_the_other_community(personas, client_for):
    working_groups_seed_defaults(community=personas.tree.c1)

    response = client_for(personas.outsider).get(GROUPS)

    assert response.status_code == 200
    assert "幸福社区" not in response.content.decode()
