"""A visit that finds fever names who has it, and the health module's escalation opens for each (SPEC H3)."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from linli.health.choices import ESCALATION_ORDER, EscalationStatus
from linli.health.models import FeverEscalation
from linli.health.services import escalation_open
from linli.registry.models import Household
from linli.survey.models import SurveyVisit
from linli.survey.services import survey_visit_record


def household(personas, room="101") -> Household:
    return personas.tree.households[f"{personas.tree.b1.code}/1单元/{room}"]


def visit_url(target: Household) -> str:
    return reverse("survey:visit_create", args=[target.pk])


def api_url(target: Household) -> str:
    return f"/api/v1/survey/households/{target.pk}/visits"


def form_data(**extra):
    return {"visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "anyone_home": "1", **extra}


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def assert_open_escalation_with_steps(person, *, temperature=None) -> FeverEscalation:
    escalation = FeverEscalation.objects.get(person=person)
    assert escalation.status == EscalationStatus.OPEN
    assert escalation.source == "入户摸排"
    assert escalation.temperature == temperature
    assert escalation.household_id == person.household_id
    assert [step.step for step in escalation.steps.order_by("position")] == ESCALATION_ORDER
    assert len(ESCALATION_ORDER) == 6
    return escalation


# --- the service --------------------------------------------------------------------------------


def test_fever_visit_opens_an_escalation_for_each_person_named(personas):
    target = household(personas)
    first, second = target.members.order_by("pk")

    visit = survey_visit_record(
        household=target,
        visitor=personas.grid_worker,
        fever=True,
        fever_people=[first, second],
        temperature=Decimal("38.6"),
    )

    assert set(visit.fever_people.all()) == {first, second}
    assert visit.temperature == Decimal("38.6")
    for person in (first, second):
        escalation = assert_open_escalation_with_steps(person, temperature=Decimal("38.6"))
        assert escalation.opened_by == personas.grid_worker


def test_a_person_with_an_open_escalation_keeps_it(personas):
    target = household(personas)
    sick = target.members.get(relation="householder")
    earlier = escalation_open(sick, temperature=Decimal("37.8"), source="健康上报", actor=personas.medic)

    survey_visit_record(
        household=target, visitor=personas.grid_worker, fever=True, fever_people=[sick], temperature=Decimal("38.9")
    )

    assert list(FeverEscalation.objects.filter(person=sick)) == [earlier]
    earlier.refresh_from_db()
    assert earlier.temperature == Decimal("38.9")


def test_visit_without_fever_opens_no_escalation(personas):
    target = household(personas)

    survey_visit_record(
        household=target, visitor=personas.grid_worker, people_home=list(target.members.all()), members_confirmed=True
    )

    assert not FeverEscalation.objects.exists()


def test_fever_with_nobody_named_is_refused_on_fever_people(personas):
    with pytest.raises(ValidationError) as exc:
        survey_visit_record(household=household(personas), visitor=personas.grid_worker, fever=True)

    assert exc.value.message_dict["fever_people"] == ["请勾选有发热等症状的成员"]
    assert not SurveyVisit.objects.exists()
    assert not FeverEscalation.objects.exists()


def test_fever_person_of_another_household_is_refused(personas):
    stranger = household(personas, room="102").members.get(relation="householder")

    with pytest.raises(ValidationError) as exc:
        survey_visit_record(
            household=household(personas), visitor=personas.grid_worker, fever=True, fever_people=[stranger]
        )

    assert exc.value.message_dict["fever_people"] == ["只能勾选本户的成员"]
    assert not SurveyVisit.objects.exists()
    assert not FeverEscalation.objects.exists()


def test_fever_people_without_fever_are_refused(personas):
    target = household(personas)
    sick = target.members.get(relation="householder")

    with pytest.raises(ValidationError) as exc:
        survey_visit_record(household=target, visitor=personas.grid_worker, fever_people=[sick])

    assert exc.value.message_dict["fever_people"] == ["未勾选“有发热等症状”时不能选择发热人员"]
    assert not FeverEscalation.objects.exists()


def test_a_reading_without_fever_is_not_kept(personas):
    visit = survey_visit_record(
        household=household(personas), visitor=personas.grid_worker, temperature=Decimal("36.6")
    )

    visit.refresh_from_db()
    assert visit.temperature is None
    assert not FeverEscalation.objects.exists()


def test_reading_out_of_range_is_refused_on_temperature(personas):
    target = household(personas)

    with pytest.raises(ValidationError) as exc:
        survey_visit_record(
            household=target,
            visitor=personas.grid_worker,
            fever=True,
            fever_people=[target.members.get(relation="householder")],
            temperature=Decimal("48.0"),
        )

    assert exc.value.message_dict["temperature"] == ["体温须在 34.0 到 43.0 ℃ 之间，请核对"]
    assert not FeverEscalation.objects.exists()


# --- the page -----------------------------------------------------------------------------------


def test_page_offers_the_members_as_fever_people(personas, client_for):
    target = household(personas)

    page = client_for(personas.grid_worker).get(visit_url(target)).content.decode()

    for person in target.members.all():
        assert f'name="fever_people" value="{person.pk}"' in page
    assert "发热人员" in page and 'name="temperature"' in page


def test_page_fever_visit_opens_the_escalation_and_links_to_it(personas, client_for):
    target = household(personas)
    sick = target.members.get(relation="householder")
    client = client_for(personas.grid_worker)

    response = client.post(visit_url(target), form_data(fever="on", fever_people=[sick.pk], temperature="38.5"))

    assert response.status_code == 302
    escalation = assert_open_escalation_with_steps(sick, temperature=Decimal("38.5"))
    assert list(SurveyVisit.objects.get(household=target).fever_people.all()) == [sick]
    household_page = client.get(response["Location"]).content.decode()
    assert f"已为{sick.name}启动发热处置流程" in household_page
    assert f'<a href="{reverse("health:escalation", args=[escalation.pk])}">查看处置</a>' in household_page
    # and the link leads to the escalation's steps for this worker
    assert client.get(reverse("health:escalation", args=[escalation.pk])).status_code == 200


def test_page_refuses_fever_without_anyone_chosen(personas, client_for):
    target = household(personas)

    response = client_for(personas.grid_worker).post(visit_url(target), form_data(fever="on", temperature="38.5"))

    assert response.status_code == 200
    assert response.context["form"].errors["fever_people"] == ["请勾选有发热等症状的成员"]
    assert not SurveyVisit.objects.exists()
    assert not FeverEscalation.objects.exists()


def test_page_refuses_a_fever_person_of_another_household(personas, client_for):
    target = household(personas)
    stranger = household(personas, room="102").members.get(relation="householder")

    data = form_data(fever="on", fever_people=[stranger.pk])

    response = client_for(personas.grid_worker).post(visit_url(target), data)

    assert response.status_code == 200
    assert response.context["form"].errors["fever_people"] == ["只能勾选本户的成员"]
    assert not SurveyVisit.objects.exists()
    assert not FeverEscalation.objects.exists()


def test_page_without_fever_ignores_left_over_fever_choices(personas, client_for):
    target = household(personas)
    sick = target.members.get(relation="householder")

    # The box was ticked, someone chosen, then the box unticked again: the hidden choices are not meant.
    response = client_for(personas.grid_worker).post(visit_url(target), form_data(fever_people=[sick.pk]))

    assert response.status_code == 302
    visit = SurveyVisit.objects.get(household=target)
    assert not visit.fever and not visit.fever_people.exists()
    assert not FeverEscalation.objects.exists()


# --- the API ------------------------------------------------------------------------------------


def test_api_fever_visit_opens_the_escalation(personas, client_for):
    target = household(personas)
    sick = target.members.get(relation="householder")

    response = post_json(
        client_for(personas.grid_worker),
        api_url(target),
        {"fever": True, "fever_people": [sick.pk], "temperature": 38.2},
    )

    assert response.status_code == 201
    escalation = assert_open_escalation_with_steps(sick, temperature=Decimal("38.2"))
    body = response.json()
    assert body["escalations"] == [escalation.pk]
    assert body["fever_people"] == [sick.pk]
    assert Decimal(str(body["temperature"])) == Decimal("38.2")


def test_api_without_fever_opens_no_escalation(personas, client_for):
    response = post_json(client_for(personas.grid_worker), api_url(household(personas)), {"members_confirmed": True})

    assert response.status_code == 201
    assert response.json()["escalations"] == []
    assert not FeverEscalation.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"fever": True}, "fever_people", "请勾选有发热等症状的成员"),
        ({"fever": True, "fever_people": ["stranger"]}, "fever_people", "只能勾选本户的成员"),
        ({"fever": True, "fever_people": ["sick"], "temperature": "烫"}, "temperature", "请填写体温，如 38.5"),
    ],
)
def test_api_refusals_are_chinese_and_field_keyed(personas, client_for, payload, field, message):
    target = household(personas)
    ids = {
        "sick": target.members.get(relation="householder").pk,
        "stranger": household(personas, room="102").members.get(relation="householder").pk,
    }
    if "fever_people" in payload:
        payload = {**payload, "fever_people": [ids[name] for name in payload["fever_people"]]}

    response = post_json(client_for(personas.grid_worker), api_url(target), payload)

    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]
    assert not SurveyVisit.objects.exists()
    assert not FeverEscalation.objects.exists()
