import json
from typing import Any

import pytest

from linli.audit.models import AuditEvent
from linli.organisation.models import ResponsibilityChain
from linli.organisation.services import working_groups_seed_defaults

CHAIN: dict[str, Any] = {
    "street_leader": "王街道",
    "street_leader_phone": "13900000001",
    "community_leader": "李社区",
    "community_leader_phone": "13900000002",
    "responsible": "张责任",
    "responsible_phone": "13900000003",
}


def chain_url(compound) -> str:
    return f"/api/v1/org/compounds/{compound.pk}/chain"


def put_json(client, url, data):
    return client.put(url, data=json.dumps(data), content_type="application/json")


def test_chain_put_then_get(personas, client_for):
    client = client_for(personas.community_worker)
    compound = personas.tree.p2

    saved = put_json(client, chain_url(compound), CHAIN)
    read = client.get(chain_url(compound))

    assert saved.status_code == 200
    assert read.status_code == 200
    body = read.json()
    assert body["responsible"] == "张责任" and body["filled"] is True
    assert body["lead_unit"] == "幸福社区"
    assert body["cover_gaps"] == [["00:00:00", "00:00:00"]]
    assert AuditEvent.objects.filter(model="organisation.ResponsibilityChain", action="create").count() == 1


def test_chain_put_with_bad_phone_is_400_in_chinese(personas, client_for):
    response = put_json(
        client_for(personas.community_worker), chain_url(personas.tree.p1), {**CHAIN, "responsible_phone": "x"}
    )

    assert response.status_code == 400
    assert "电话号码格式不正确" in response.json()["errors"]["responsible_phone"][0]
    assert not ResponsibilityChain.objects.exists()


def test_grid_worker_reads_but_cannot_put_the_chain(personas, client_for):
    client = client_for(personas.grid_worker)

    assert client.get(chain_url(personas.tree.p1)).status_code == 200
    response = put_json(client, chain_url(personas.tree.p1), CHAIN)
    assert response.status_code == 403
    assert response.json()["detail"] == "只有社区干部和街道指挥部可以修改包保责任"


def test_groups_api_lists_the_communitys_groups(personas, client_for):
    working_groups_seed_defaults(community=personas.tree.c1)

    response = client_for(personas.medic).get("/api/v1/org/groups")

    assert response.status_code == 200
    assert response.json()[0]["kind"] == "leading"
    assert {row["community_id"] for row in response.json()} == {personas.tree.c1.pk}


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("supplier", 403), ("resident", 403)])
def test_org_api_refuses_out_of_scope_accounts(personas, client_for, persona, status):
    working_groups_seed_defaults(community=personas.tree.c1)
    client = client_for(getattr(personas, persona))

    assert client.get(chain_url(personas.tree.p1)).status_code == status
    assert put_json(client, chain_url(personas.tree.p1), CHAIN).status_code == status
    groups = client.get("/api/v1/org/groups")
    if persona == "outsider":
        assert groups.status_code == 200 and groups.json() == []
    else:
        assert groups.status_code == 403
    assert not ResponsibilityChain.objects.exists()
