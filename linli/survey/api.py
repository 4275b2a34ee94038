"""Survey API: record and list a household's visits, survey progress per node. Staff only, scoped."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.lib import scope
from linli.lib.apiutil import ErrorOut, bad_request, tree_staff
from linli.registry.models import Household
from linli.survey import selectors, services
from linli.survey.models import SurveyVisit

router = Router(tags=["survey"])


class VisitIn(Schema):
    visited_at: datetime.datetime | None = None
    anyone_home: bool = True
    people_home: list[int] = []
    members_confirmed: bool = False
    fever: bool = False
    fever_people: list[int] = Field(default=[], description="有发热等症状的本户成员；勾选 fever 时必填")
    temperature: float | str | None = Field(
        default=None, description="发热人员的体温（℃），如 38.5；可不填，未勾选 fever 时不记录"
    )
    travel_14d: bool = False
    visitors_present: bool = False
    note: str = ""


class VisitOut(Schema):
    id: int
    household_id: int
    visited_at: datetime.datetime
    visitor: str
    anyone_home: bool
    people_home: list[int]
    members_confirmed: bool
    fever: bool
    fever_people: list[int]
    temperature: Decimal | None
    travel_14d: bool
    visitors_present: bool
    note: str
    covers_household: bool
    household_surveyed_at: datetime.datetime | None
    warning: str | None = None


class VisitCreatedOut(VisitOut):
    escalations: list[int] = Field(description="本次发热启动（或沿用已开启）的发热处置，每名发热人员一条")


class ProgressRowOut(Schema):
    level: str
    id: int | None
    name: str
    households: int
    surveyed: int
    unsurveyed: int
    percent: int
    people: int
    people_unsurveyed: int


class UncoveredOut(Schema):
    household_id: int
    address: str
    householder: str
    members: int
    people: list[str]


class ProgressOut(Schema):
    level: str
    id: int | None
    name: str
    total: ProgressRowOut
    children: list[ProgressRowOut]
    uncovered: list[UncoveredOut]


def _staff(request: HttpRequest) -> Any:
    return tree_staff(request, _("无权访问摸排数据"))


def _visit_out(visit: SurveyVisit, household: Household) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "household_id": visit.household_id,
        "visited_at": visit.visited_at,
        "visitor": str(visit.visitor) if visit.visitor else "",
        "anyone_home": visit.anyone_home,
        "people_home": [person.pk for person in visit.people_home.all()],
        "members_confirmed": visit.members_confirmed,
        "fever": visit.fever,
        "fever_people": [person.pk for person in visit.fever_people.all()],
        "temperature": visit.temperature,
        "travel_14d": visit.travel_14d,
        "visitors_present": visit.visitors_present,
        "note": visit.note,
        "covers_household": visit.covers_household,
        "household_surveyed_at": household.surveyed_at,
        "warning": str(services.FEVER_WARNING) if visit.fever else None,
    }


@router.get("/households/{household_id}/visits", response=list[VisitOut], summary="某户的走访记录")
def visit_list(request: HttpRequest, household_id: int) -> Any:
    user = _staff(request)
    try:
        household = scope.get_visible_or_404(Household.objects.all(), user, pk=household_id)
    except Http404 as exc:
        raise HttpError(404, _("未找到该户，或不在您的负责范围内")) from exc
    return [_visit_out(visit, household) for visit in selectors.visits_for_household(user, household)]


@router.post(
    "/households/{household_id}/visits",
    response={201: VisitCreatedOut, 400: ErrorOut},
    summary="登记一次入户走访",
)
def visit_create(request: HttpRequest, household_id: int, payload: VisitIn) -> Any:
    user = _staff(request)
    if not services.can_record_visits(user):
        raise HttpError(403, _("您的角色不能登记入户摸排"))
    try:
        household = scope.get_editable_or_404(Household.objects.all(), user, pk=household_id)
    except Http404 as exc:
        raise HttpError(404, _("未找到该户，或不在您的负责范围内")) from exc
    errors: dict[str, list[str]] = {}
    people = _members(household, payload.people_home, "people_home", errors)
    fever_people = _members(household, payload.fever_people, "fever_people", errors)
    temperature = _temperature(payload.temperature, errors)
    if errors:
        return bad_request(errors)
    try:
        visit = services.survey_visit_record(
            household=household,
            visitor=user,
            people_home=people,
            fever_people=fever_people,
            temperature=temperature,
            request=request,
            **payload.dict(exclude={"people_home", "fever_people", "temperature"}),
        )
    except ValidationError as exc:
        return bad_request(exc.message_dict)
    escalations = [escalation.pk for escalation in selectors.visit_escalations(user, visit)] if visit.fever else []
    return Status(201, {**_visit_out(visit, household), "escalations": escalations})


def _members(household: Household, ids: list[int], field: str, errors: dict[str, list[str]]) -> list[Any]:
    """The household's members with these ids; an id that is not one of them is an error on ``field``."""
    wanted = set(ids)
    people = list(household.members.filter(pk__in=wanted))
    if len(people) != len(wanted):
        errors[field] = [_("只能勾选本户的成员")]
    return people


def _temperature(value: float | str | None, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
        if number.is_finite():
            return number.quantize(Decimal("0.1"))
    except (ArithmeticError, ValueError):
        pass
    errors["temperature"] = [_("请填写体温，如 38.5")]
    return None


@router.get("/progress", response=ProgressOut, summary="摸排进度（按社区、网格、小区、楼栋逐级）")
def progress(request: HttpRequest, level: str = "", id: int | None = None) -> Any:
    user = _staff(request)
    if level and id is None:
        raise HttpError(400, _("请同时提供 level 和 id"))
    try:
        data = selectors.survey_progress(user, level, id)
    except Http404 as exc:
        raise HttpError(404, _("未找到该节点，或不在您的负责范围内")) from exc
    return {
        "level": data.level,
        "id": data.total.id,
        "name": data.total.name,
        "total": data.total.as_dict(),
        "children": [row.as_dict() for row in data.rows],
        "uncovered": [
            {
                "household_id": item.household.pk,
                "address": item.household.address,
                "householder": item.householder.name if item.householder else "",
                "members": len(item.people),
                "people": [person.name for person in item.people],
            }
            for item in data.uncovered
        ],
    }
