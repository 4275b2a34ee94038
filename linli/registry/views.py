"""Registry pages: the tree browser, search, the household page, reveal and the edit forms (SPEC R1, R3, R4, O6).

Every read goes through ``linli.lib.scope`` (via the selectors); a record outside the account's
scope answers 404 exactly like a missing one. Writes go through ``linli.registry.services``, which
validate, save and audit in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.audit.services import audit_reveal
from linli.lib import scope
from linli.registry import selectors, services
from linli.registry.forms import HouseholdForm, PersonForm, TravelForm, add_service_errors
from linli.registry.models import Household, Person
from linli.registry.search import parse_query, search_people
from linli.registry.selectors import is_resident

REVEALABLE_FIELDS = ("id_number", "phone")
LEVEL_LABELS = {
    "street": gettext_lazy("街道"),
    "community": gettext_lazy("社区"),
    "grid": gettext_lazy("网格"),
    "compound": gettext_lazy("小区"),
    "building": gettext_lazy("楼栋"),
    "unit": gettext_lazy("单元"),
    "household": gettext_lazy("户"),
}


def require_staff(user: Any) -> None:
    """The tree and search are staff tools: residents and accounts without a tree scope (suppliers) are refused."""
    if scope.is_unrestricted(user):
        return
    if is_resident(user) or scope.user_level(user) is None:
        raise PermissionDenied


def require_registry_editor(user: Any) -> None:
    if not getattr(user, "can_edit_registry", False):
        raise PermissionDenied


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _crumbs(current: Any) -> list[dict[str, Any]]:
    return [
        {"level": level, "label": LEVEL_LABELS[level], "node": ancestor}
        for level, ancestor in selectors.ancestors(current)
    ]


# --- reading ---


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    """The tree starts at the account's own node; a superuser starts above the streets."""
    user = request.user
    require_staff(user)
    if not scope.is_unrestricted(user):
        level = scope.user_level(user)
        assert level is not None  # require_staff refused accounts without a tree scope
        if level == "household":  # not reached by staff today, but a household has its own page
            return redirect("registry:household", pk=user.household_id)  # type: ignore[union-attr]
        return redirect("registry:node", level=level, pk=getattr(user, f"{level}_id"))
    context = {"node": None, "crumbs": [], "rows": selectors.node_children(user), "child_label": LEVEL_LABELS["street"]}
    return render(request, "registry/node.html", context)


@login_required
def node(request: HttpRequest, level: str, pk: int) -> HttpResponse:
    """One node of the tree: breadcrumbs up, its children (or, at a unit, its households) with counts."""
    user = request.user
    require_staff(user)
    if level not in selectors.BROWSABLE_LEVELS:
        raise Http404
    current = selectors.node_with_ancestors(level, user, pk)
    context: dict[str, Any] = {"node": current, "level_label": LEVEL_LABELS[level], "crumbs": _crumbs(current)}
    if level == "unit":
        households = list(selectors.unit_households(user, pk))
        context["households"] = [
            {
                "household": household,
                "householder": selectors.householder(household),
                "vulnerable": selectors.household_vulnerable_labels(household),
            }
            for household in households
        ]
    else:
        context["rows"] = selectors.node_children(user, level, pk)
        context["child_label"] = LEVEL_LABELS[selectors.child_level(level)]
    return render(request, "registry/node.html", context)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """One box: name, phone or ID number (full or last four), or room number."""
    user = request.user
    require_staff(user)
    query = (request.GET.get("q") or "").strip()
    context: dict[str, Any] = {"q": query, "results": None, "hint": ""}
    if not query:
        context["hint"] = _("请输入姓名、手机号（或后四位）、身份证号（或后四位）或房号。")
    elif parse_query(query) is None:
        context["hint"] = _("请至少输入一个汉字或两位数字。")
    else:
        context["results"] = [
            {"person": person, "household": person.household} for person in search_people(user, query, limit=50)
        ]
    template = "registry/_search_results.html" if _is_htmx(request) else "registry/search.html"
    return render(request, template, context)


@login_required
def household(request: HttpRequest, pk: int) -> HttpResponse:
    """Address, landlord, members, 14-day travel and the latest survey visits of one household."""
    from linli.survey.models import SurveyVisit

    user = request.user
    current = selectors.household_page(user, pk)
    resident = is_resident(user)
    can_edit = not resident and getattr(user, "can_edit_registry", False) and scope.can_edit(current, user)
    visits = []
    if not resident:  # the survey notes are the workers' own record
        visits = list(scope.visible(SurveyVisit.objects.filter(household=current), user).select_related("visitor")[:5])
    members = list(current.members.all())
    context = {
        "household": current,
        "members": members,
        "travel": list(selectors.household_travel(user, current)),
        "visits": visits,
        "can_edit": can_edit,
        "can_reveal": not resident and getattr(user, "can_reveal", False),
        "is_resident": resident,
        "crumbs": [] if resident else _crumbs(current),
    }
    return render(request, "registry/household.html", context)


@login_required
@require_POST
def person_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """The full ID number or phone of one person, for the roles whose work needs it; always audited."""
    user = request.user
    if field not in REVEALABLE_FIELDS:
        raise Http404
    if not getattr(user, "can_reveal", False):
        raise PermissionDenied
    person = scope.get_visible_or_404(Person.objects.select_related("household"), user, pk=pk)
    value = getattr(person, field) or ""
    audit_reveal(actor=user, obj=person, field=field, request=request)
    if field == "phone" and value:
        return HttpResponse(format_html('<a class="masked" href="tel:{0}">{0}</a>', value))
    return HttpResponse(format_html('<span class="masked">{}</span>', value))


# --- editing ---


def _editable_household(request: HttpRequest, pk: int) -> Household:
    require_registry_editor(request.user)
    qs = Household.objects.select_related("compound", "building", "unit")
    return scope.get_editable_or_404(qs, request.user, pk=pk)


def _editable_person(request: HttpRequest, pk: int) -> Person:
    require_registry_editor(request.user)
    qs = Person.objects.select_related("household__compound", "household__building", "household__unit")
    return scope.get_editable_or_404(qs, request.user, pk=pk)


@login_required
def person_add(request: HttpRequest, pk: int) -> HttpResponse:
    current = _editable_household(request, pk)
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(
                household=current, actor=request.user, request=request, **form.service_fields()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已添加 %(name)s。") % {"name": person.name})
            return redirect("registry:household", pk=current.pk)
    return render(request, "registry/person_form.html", {"form": form, "household": current, "person": None})


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = _editable_person(request, pk)
    form = PersonForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(person=person, actor=request.user, request=request, **form.service_fields())
        except ValidationError as exc:
            add_service_errors(form, exc)
            person.refresh_from_db()  # the service may have set attributes before refusing
        else:
            messages.success(request, _("已保存 %(name)s 的信息。") % {"name": person.name})
            return redirect("registry:household", pk=person.household_id)
    return render(request, "registry/person_form.html", {"form": form, "household": person.household, "person": person})


@login_required
def person_delete(request: HttpRequest, pk: int) -> HttpResponse:
    person = _editable_person(request, pk)
    household_id = person.household_id
    if request.method == "POST":
        name = person.name
        services.person_delete(person=person, actor=request.user, request=request)
        messages.success(request, _("已从本户移除 %(name)s。") % {"name": name})
        return redirect("registry:household", pk=household_id)
    return render(request, "registry/person_delete.html", {"person": person, "household": person.household})


@login_required
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    current = _editable_household(request, pk)
    form = HouseholdForm(request.POST or None, household=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.household_update(household=current, actor=request.user, request=request, **form.service_fields())
        except ValidationError as exc:
            add_service_errors(form, exc, default_field="landlord_phone")
            current.refresh_from_db()
        else:
            messages.success(request, _("已保存本户信息。"))
            return redirect("registry:household", pk=current.pk)
    return render(request, "registry/household_form.html", {"form": form, "household": current})


@login_required
def travel_add(request: HttpRequest, pk: int) -> HttpResponse:
    current = _editable_household(request, pk)
    people = list(current.members.all())
    if not people:
        messages.warning(request, _("本户还没有登记人员，请先添加人员。"))
        return redirect("registry:household", pk=current.pk)
    form = TravelForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.travel_record_create(
                person=data["person"],
                date=data["date"],
                place=data["place"],
                note=data["note"],
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已添加行程记录。"))
            return redirect("registry:household", pk=current.pk)
    return render(request, "registry/travel_form.html", {"form": form, "household": current})
