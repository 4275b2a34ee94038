import datetime
import json

import pytest
from django.utils import timezone

from linli.survey.models import SurveyVisit


def visits_url(household) -> str:
    return f"/api/v1/survey/households/{household.pk}/visits"


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_api_records_a_covering_visit_and_lists_it(personas, client_for):
    target = personas.resident_household
    client = client_for(personas.grid_worker)
    members = list(target.members.values_list("pk", flat=True))

    created = post_json(
        client,
        visits_url(target),
        {"people_home": members, "members_confirmed": True, "fever": True, "fever_people": members[:1]},
    )
    listed = client.get(visits_url(target))

    assert created.status_code == 201
    body = created.json()
    assert body["covers_household"] is True
    assert body["household_surveyed_at"] is not None
    assert body["warning"] == "发现发热等症状：请立即上报社区"
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [body["id"]]
    assert sorted(listed.json()[0]["people_home"]) == sorted(members)
    assert listed.json()[0]["fever_people"] == members[:1]


def test_api_refuses_people_of_another_household_in_chinese(personas, client_for):
    target = personas.resident_household
    stranger = personas.tree.households[f"{personas.tree.b2.code}/1单元/101"].members.first()

    response = post_json(client_for(personas.grid_worker), visits_url(target), {"people_home": [stranger.pk]})

    assert response.status_code == 400
    assert response.json()["detail"] == "只能勾选本户的成员"
    assert not SurveyVisit.objects.exists()


def test_api_validation_errors_are_chinese_and_field_keyed(personas, client_for):
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()

    response = post_json(
        client_for(personas.grid_worker),
        visits_url(personas.resident_household),
        {"visited_at": future, "anyone_home": False, "members_confirmed": True},
    )

    assert response.status_code == 400
    assert "走访时间不能晚于当前时间" in response.json()["errors"]["visited_at"]
    assert "members_confirmed" in response.json()["errors"]


def test_api_progress_returns_numbers_per_child(personas, client_for):
    response = client_for(personas.community_worker).get("/api/v1/survey/progress")

    assert response.status_code == 200
    body = response.json()
    assert body["level"] == "community" and body["name"] == "幸福社区"
    assert {row["name"]: row["households"] for row in body["children"]} == {"第一网格": 9, "第二网格": 3}
    assert body["total"]["people_unsurveyed"] == 24
    assert body["uncovered"] == []


def test_api_progress_at_building_level_lists_uncovered(personas, client_for):
    tree = personas.tree
    response = client_for(personas.building_lead).get("/api/v1/survey/progress")

    body = response.json()
    assert body["level"] == "building" and body["id"] == tree.b1.pk
    assert len(body["uncovered"]) == 6
    assert body["uncovered"][0]["householder"] == "户主101"
    assert body["uncovered"][0]["members"] == 2


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("supplier", 403), ("resident", 403)])
def test_api_refuses_out_of_scope_accounts(personas, client_for, persona, status):
    tree = personas.tree
    target = personas.resident_household
    client = client_for(getattr(personas, persona))

    assert client.get(visits_url(target)).status_code == status
    assert post_json(client, visits_url(target), {"members_confirmed": True}).status_code == status
    progress = client.get("/api/v1/survey/progress", {"level": "community", "id": tree.c1.pk})
    assert progress.status_code == status
    assert "幸福社区" not in progress.content.decode()
    assert not SurveyVisit.objects.exists()


def test_api_refuses_roles_that_do_not_survey(personas, client_for):
    response = post_json(client_for(personas.medic), visits_url(personas.resident_household), {})

    assert response.status_code == 403
    assert response.json()["detail"] == "您的角色不能登记入户摸排"


def test_api_without_login_is_401(personas, client):
    assert client.get(visits_url(personas.resident_household)).status_code == 401
