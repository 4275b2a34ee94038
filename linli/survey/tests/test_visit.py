import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.registry.models import Household
from linli.survey.models import SurveyVisit
from linli.survey.selectors import visits_for_household
from linli.survey.services import survey_visit_record


def household(personas, building="b1", unit="1单元", room="101") -> Household:
    tree = personas.tree
    return tree.households[f"{getattr(tree, building).code}/{unit}/{room}"]


def visit_url(target: Household) -> str:
    return reverse("survey:visit_create", args=[target.pk])


# --- the service --------------------------------------------------------------------------------


def test_visit_with_someone_home_and_members_confirmed_marks_household_surveyed(personas):
    target = household(personas)
    people = list(target.members.all())
    when = timezone.now() - datetime.timedelta(hours=1)

    visit = survey_visit_record(
        household=target, visitor=personas.grid_worker, visited_at=when, people_home=people, members_confirmed=True
    )

    target.refresh_from_db()
    assert visit.covers_household
    assert target.surveyed_at == when
    assert set(visit.people_home.all()) == set(people)


def test_visit_without_confirmed_members_leaves_household_unsurveyed(personas):
    target = household(personas)

    survey_visit_record(household=target, visitor=personas.grid_worker, members_confirmed=False)
    survey_visit_record(household=target, visitor=personas.grid_worker, anyone_home=False)

    target.refresh_from_db()
    assert target.surveyed_at is None
    assert SurveyVisit.objects.filter(household=target).count() == 2


def test_nobody_home_cannot_confirm_members_nor_tick_people(personas):
    target = household(personas)

    with pytest.raises(ValidationError) as exc:
        survey_visit_record(
            household=target,
            visitor=personas.grid_worker,
            anyone_home=False,
            members_confirmed=True,
            people_home=list(target.members.all()),
        )

    assert "家中无人时不能勾选在家人员" in exc.value.message_dict["people_home"]
    assert "members_confirmed" in exc.value.message_dict
    assert not SurveyVisit.objects.exists()


def test_people_of_another_household_are_refused(personas):
    target = household(personas)
    stranger = household(personas, room="102").members.get(relation="householder")

    with pytest.raises(ValidationError, match="只能勾选本户的成员"):
        survey_visit_record(household=target, visitor=personas.grid_worker, people_home=[stranger])


def test_visit_in_the_future_is_refused(personas):
    with pytest.raises(ValidationError, match="走访时间不能晚于当前时间"):
        survey_visit_record(
            household=household(personas),
            visitor=personas.grid_worker,
            visited_at=timezone.now() + datetime.timedelta(hours=2),
        )


def test_later_covering_visit_keeps_the_first_survey_time(personas):
    target = household(personas)
    first = timezone.now() - datetime.timedelta(days=2)
    survey_visit_record(household=target, visitor=personas.grid_worker, visited_at=first, members_confirmed=True)

    survey_visit_record(household=target, visitor=personas.grid_worker, members_confirmed=True)

    target.refresh_from_db()
    assert target.surveyed_at == first


def test_visit_and_the_survey_mark_are_audited(personas):
    target = household(personas)

    sick = target.members.get(relation="householder")
    visit = survey_visit_record(
        household=target, visitor=personas.grid_worker, members_confirmed=True, fever=True, fever_people=[sick]
    )

    created = AuditEvent.objects.get(model="survey.SurveyVisit", object_pk=str(visit.pk))
    assert created.action == "create"
    assert created.actor == personas.grid_worker
    assert created.changes["fever"] is True
    assert created.changes["fever_people"] == [sick.pk]
    assert created.community_id == personas.tree.c1.pk
    marked = AuditEvent.objects.get(model="registry.Household", object_pk=str(target.pk), action="update")
    assert marked.changes["surveyed_at"][0] is None


# --- the page -----------------------------------------------------------------------------------


def test_visit_form_lists_the_household_members_by_name(personas, client_for):
    target = household(personas)

    response = client_for(personas.grid_worker).get(visit_url(target))

    assert response.status_code == 200
    page = response.content.decode()
    for person in target.members.all():
        assert person.name in page
    assert "成员信息已核实" in page and "有发热等症状" in page


def test_saving_a_covering_visit_redirects_to_the_household_with_a_message(personas, client_for):
    target = household(personas)
    member_ids = [str(pk) for pk in target.members.values_list("pk", flat=True)]

    response = client_for(personas.grid_worker).post(
        visit_url(target),
        {
            "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "anyone_home": "1",
            "people_home": member_ids,
            "members_confirmed": "on",
            "note": "  全家在家  ",
        },
        follow=False,
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("registry:household", args=[target.pk])
    target.refresh_from_db()
    assert target.surveyed_at is not None
    visit = SurveyVisit.objects.get(household=target)
    assert visit.visitor == personas.grid_worker
    assert visit.note == "全家在家"
    assert visit.people_home.count() == 2


def test_fever_shows_the_report_warning_after_saving(personas, client_for):
    target = household(personas)
    client = client_for(personas.grid_worker)

    sick = target.members.get(relation="householder")

    response = client.post(
        visit_url(target),
        {
            "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "anyone_home": "1",
            "fever": "on",
            "fever_people": [sick.pk],
        },
    )

    assert response.status_code == 302
    shown = [str(message) for message in response.wsgi_request._messages]
    assert any("请立即上报社区" in text for text in shown)
    assert SurveyVisit.objects.get(household=target).fever


def test_bad_input_is_shown_in_chinese_and_nothing_is_saved(personas, client_for):
    target = household(personas)
    member_ids = [str(pk) for pk in target.members.values_list("pk", flat=True)]

    response = client_for(personas.grid_worker).post(
        visit_url(target),
        {
            "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "anyone_home": "0",
            "people_home": member_ids,
        },
    )

    assert response.status_code == 200
    assert "家中无人时不能勾选在家人员" in response.content.decode()
    assert not SurveyVisit.objects.exists()


def test_building_lead_records_visits_in_their_own_building_only(personas, client_for):
    client = client_for(personas.building_lead)
    own = household(personas)
    other = household(personas, building="b2")
    data = {"visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "anyone_home": "1"}

    assert client.post(visit_url(own), data).status_code == 302
    assert client.get(visit_url(other)).status_code == 404
    assert client.post(visit_url(other), data).status_code == 404
    assert not SurveyVisit.objects.filter(household=other).exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("outsider", 404), ("supplier", 403), ("resident", 403), ("gate_guard", 403), ("medic", 403)],
)
def test_visit_page_refuses_accounts_outside_its_scope_or_role(personas, client_for, persona, status):
    target = personas.resident_household
    client = client_for(getattr(personas, persona))
    data = {"visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "anyone_home": "1"}

    assert client.get(visit_url(target)).status_code == status
    assert client.post(visit_url(target), data).status_code == status
    assert not SurveyVisit.objects.exists()


def test_visits_for_household_are_scoped(personas):
    target = household(personas)
    survey_visit_record(household=target, visitor=personas.grid_worker, members_confirmed=True)

    assert visits_for_household(personas.community_worker, target).count() == 1
    assert visits_for_household(personas.resident, target).count() == 1
    assert visits_for_household(personas.outsider, target).count() == 0
    assert visits_for_household(personas.supplier, target).count() == 0
