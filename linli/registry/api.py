"""The registry API under /api/v1/registry (SPEC R1, R3, R4, O6).

Same rules as the pages: every read goes through ``linli.lib.scope`` (out of scope is 404, like
missing), writes need a registry-editing role (403) and go through the services (422 with the
service's Chinese message), ID numbers and phones are masked unless revealed, and every reveal is
audited.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from linli.audit.services import audit_reveal
from linli.lib import scope
from linli.lib.apiutil import ErrorOut
from linli.lib.wording import listed
from linli.registry import selectors, services
from linli.registry.choices import VULNERABLE_FLAGS, HealthCode, Relation, Residency
from linli.registry.models import Household, Person
from linli.registry.search import parse_query, search_people
from linli.registry.selectors import is_resident

router = Router(tags=["registry"])

VULNERABLE_FIELDS = [field for field, _label in VULNERABLE_FLAGS]
CHOICE_FIELDS: dict[str, Any] = {"relation": Relation, "residency": Residency, "health_code": HealthCode}


# --- schemas ---


class NodeOut(Schema):
    id: int
    level: str
    code: str
    name: str
    parent_id: int | None


class PersonOut(Schema):
    id: int
    household_id: int
    name: str
    id_number_masked: str
    phone_masked: str
    gender: str
    birth_date: date | None
    relation: str
    relation_label: str
    residency: str
    residency_label: str
    health_code: str
    health_code_label: str
    vulnerable: list[str]
    vulnerable_labels: list[str]
    helper_name: str
    helper_phone: str

    @staticmethod
    def resolve_id_number_masked(obj: Person) -> str:
        return obj.masked_id_number

    @staticmethod
    def resolve_phone_masked(obj: Person) -> str:
        return obj.masked_phone

    @staticmethod
    def resolve_relation_label(obj: Person) -> str:
        return str(obj.get_relation_display())

    @staticmethod
    def resolve_residency_label(obj: Person) -> str:
        return str(obj.get_residency_display())

    @staticmethod
    def resolve_health_code_label(obj: Person) -> str:
        return str(obj.get_health_code_display())

    @staticmethod
    def resolve_vulnerable(obj: Person) -> list[str]:
        return [field for field in VULNERABLE_FIELDS if getattr(obj, field)]


class PersonFound(PersonOut):
    address: str

    @staticmethod
    def resolve_address(obj: Person) -> str:
        return obj.household.full_address


class HouseholdOut(Schema):
    id: int
    code: str
    compound: str
    building: str
    unit: str
    room: str
    address: str
    is_rented: bool
    surveyed: bool
    member_count: int

    @staticmethod
    def resolve_compound(obj: Household) -> str:
        return obj.compound.name

    @staticmethod
    def resolve_building(obj: Household) -> str:
        return obj.building.name

    @staticmethod
    def resolve_unit(obj: Household) -> str:
        return obj.unit.name

    @staticmethod
    def resolve_address(obj: Household) -> str:
        return obj.full_address

    @staticmethod
    def resolve_surveyed(obj: Household) -> bool:
        return obj.surveyed_at is not None


class HouseholdDetail(HouseholdOut):
    landlord_name: str
    landlord_phone_masked: str
    note: str
    members: list[PersonOut]

    @staticmethod
    def resolve_landlord_phone_masked(obj: Household) -> str:
        return obj.masked_landlord_phone

    @staticmethod
    def resolve_members(obj: Household) -> list[Person]:
        return list(obj.members.all())


class PersonIn(Schema):
    """A new person. ID number and phone are normalised by the service (full-width digits, lower-case x)."""

    name: str = Field("", max_length=50)  # the column's: longer was a 500 on PostgreSQL
    id_number: str = ""
    phone: str = ""
    relation: str = Relation.OTHER.value
    residency: str = Residency.RESIDENT.value
    health_code: str = HealthCode.GREEN.value
    lives_alone: bool = False
    empty_nest: bool = False
    left_behind: bool = False
    disabled: bool = False
    chronic_illness: bool = False
    infant: bool = False
    pregnant: bool = False
    no_smartphone: bool = False
    hardship: bool = False
    helper_name: str = Field("", max_length=50)
    helper_phone: str = ""
    note: str = ""


class PersonPatch(Schema):
    """Only the fields sent are changed; an empty ``id_number`` removes the number."""

    name: str | None = Field(None, max_length=50)
    id_number: str | None = None
    phone: str | None = None
    relation: str | None = None
    residency: str | None = None
    health_code: str | None = None
    lives_alone: bool | None = None
    empty_nest: bool | None = None
    left_behind: bool | None = None
    disabled: bool | None = None
    chronic_illness: bool | None = None
    infant: bool | None = None
    pregnant: bool | None = None
    no_smartphone: bool | None = None
    hardship: bool | None = None
    helper_name: str | None = Field(None, max_length=50)
    helper_phone: str | None = None
    note: str | None = None


class RevealOut(Schema):
    person_id: int
    field: str
    value: str


# --- helpers ---


def _require_staff(user: Any) -> None:
    """Tree-wide reads are for staff with a tree scope; residents and suppliers are refused."""
    if scope.is_unrestricted(user):
        return
    if is_resident(user) or scope.user_level(user) is None:
        raise HttpError(403, _("您的账号无权查看台账"))


def _require_editor(user: Any) -> None:
    if not getattr(user, "can_edit_registry", False):
        raise HttpError(403, _("您的角色无权修改台账"))


def _not_found() -> HttpError:
    return HttpError(404, _("未找到该记录，或不在您的负责范围内"))


def _get(qs: QuerySet[Any], user: Any, pk: int, *, edit: bool = False) -> Any:
    scoped = scope.editable(qs, user) if edit else scope.visible(qs, user)
    try:
        return scoped.get(pk=pk)
    except qs.model.DoesNotExist as exc:
        raise _not_found() from exc


def _check_choices(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for field, choices in CHOICE_FIELDS.items():
        if field in data and data[field] not in choices.values:
            allowed = listed(choices.values)
            errors[field] = [_("无效的选项，可选：%(allowed)s") % {"allowed": allowed}]
    if errors:
        raise ValidationError(errors)


def _invalid(exc: ValidationError) -> Status[dict[str, Any]]:
    """A service's ValidationError as a 422 body: one sentence plus the messages per field."""
    errors = (
        {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": [str(m) for m in exc.messages]}
    )
    first = next(iter(errors.values()))[0]
    return Status(422, {"detail": first, "errors": errors})


# --- tree ---


@router.get("/nodes", response=list[NodeOut], summary="按层级列出树节点（可按上级筛选）")
def nodes(request: HttpRequest, level: str, parent: int | None = None) -> Any:
    _require_staff(request.user)
    if level not in selectors.BROWSABLE_LEVELS:
        allowed = listed(selectors.BROWSABLE_LEVELS)
        raise HttpError(422, _("层级无效，可选：%(allowed)s") % {"allowed": allowed})
    qs: QuerySet[Model] = scope.visible(selectors.NODE_MODELS[level].objects.all(), request.user)
    index = scope.LEVELS.index(level)
    parent_level = scope.LEVELS[index - 1] if index else None
    if parent is not None:
        if parent_level is None:
            raise HttpError(422, _("街道没有上级"))
        qs = qs.filter(**{f"{parent_level}_id": parent})
    return [
        {
            "id": node.pk,
            "level": level,
            "code": node.code,  # type: ignore[attr-defined]
            "name": node.name,  # type: ignore[attr-defined]
            "parent_id": getattr(node, f"{parent_level}_id") if parent_level else None,
        }
        for node in qs
    ]


# --- households ---


@router.get("/households", response=list[HouseholdOut], summary="住户列表（分页，可按楼栋、单元筛选）")
@paginate(PageNumberPagination, page_size=50)
def households(
    request: HttpRequest, compound: int | None = None, building: int | None = None, unit: int | None = None
) -> Any:
    _require_staff(request.user)
    qs = selectors.households_visible(request.user).annotate(member_count=Count("members"))
    for field, value in (("compound_id", compound), ("building_id", building), ("unit_id", unit)):
        if value is not None:
            qs = qs.filter(**{field: value})
    return qs.order_by("building_id", "unit_id", "room", "id")


@router.get("/households/{household_id}", response=HouseholdDetail, summary="住户详情及成员")
def household_detail(request: HttpRequest, household_id: int) -> Any:
    qs = Household.objects.select_related("compound", "building", "unit").annotate(member_count=Count("members"))
    household = _get(qs.prefetch_related("members"), request.user, household_id)
    if is_resident(request.user):
        household.note = ""  # the note is the workers' own record
    return household


@router.post(
    "/households/{household_id}/people",
    response={201: PersonOut, 422: ErrorOut},
    summary="在住户中新增人员",
)
def person_create(request: HttpRequest, household_id: int, payload: PersonIn) -> Any:
    _require_editor(request.user)
    household = _get(Household.objects.all(), request.user, household_id, edit=True)
    data = payload.model_dump()
    try:
        _check_choices(data)
        person = services.person_create(household=household, actor=request.user, request=request, **data)
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, person)


# --- people ---


@router.get("/people", response=list[PersonFound], summary="查找人员（姓名、手机号、身份证号、房号）")
def people_search(request: HttpRequest, q: str = "") -> Any:
    _require_staff(request.user)
    if parse_query(q) is None:
        raise HttpError(422, _("请输入姓名、手机号、身份证号（或后四位）或房号，至少一个汉字或两位数字"))
    return search_people(request.user, q, limit=50)


@router.get("/people/{person_id}", response=PersonOut, summary="人员详情")
def person_detail(request: HttpRequest, person_id: int) -> Any:
    return _get(Person.objects.all(), request.user, person_id)


@router.patch("/people/{person_id}", response={200: PersonOut, 422: ErrorOut}, summary="修改人员信息")
def person_update(request: HttpRequest, person_id: int, payload: PersonPatch) -> Any:
    _require_editor(request.user)
    person = _get(Person.objects.all(), request.user, person_id, edit=True)
    data = payload.model_dump(exclude_unset=True)
    for field, value in list(data.items()):
        if value is None and field != "id_number":
            raise HttpError(422, _("字段 %(field)s 不能为空值") % {"field": field})
    try:
        _check_choices(data)
        person = services.person_update(person=person, actor=request.user, request=request, **data)
    except ValidationError as exc:
        return _invalid(exc)
    return Status(200, person)


@router.post("/people/{person_id}/reveal/{field}", response=RevealOut, summary="查看完整身份证号或手机号（留审计记录）")
def person_reveal(request: HttpRequest, person_id: int, field: str) -> Any:
    user: Any = request.user
    if field not in ("id_number", "phone"):
        raise HttpError(404, _("只能查看身份证号（id_number）或手机号（phone）"))
    if not getattr(user, "can_reveal", False):
        raise HttpError(403, _("您的角色无权查看完整信息"))
    person = _get(Person.objects.select_related("household"), user, person_id)
    audit_reveal(actor=user, obj=person, field=field, request=request)
    return {"person_id": person.pk, "field": field, "value": getattr(person, field) or ""}
