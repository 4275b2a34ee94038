"""Pages of the health module's control side (SPEC H5–H8): cases with their close contacts and epidemic
points, the community epidemic status, the contact graph, seals, and property emergency levels.

Who may do what is ``linli.health.permissions`` (403 outside the role sets); which records is
``linli.lib.scope`` (a record outside the account's part of the tree is 404, like a missing one). Cases
and statuses belong to a community: a grid worker or building lead sees those of their community,
read-only (scope makes the community visible to them, never editable). Writes go through
``linli.health.services``; a refusal is the service's Chinese message, put on the form or above it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.health import emergency as checklists
from linli.health import graph, services
from linli.health.choices import CommunityStatus, ContactKind, EmergencyLevel, SealLevel, TestResult
from linli.health.forms_control import (
    CaseForm,
    ContactForm,
    EmergencyForm,
    PointForm,
    SealTargetForm,
    SealTestForm,
    TickForm,
    UnsealForm,
)
from linli.health.models import (
    Case,
    CloseContact,
    EpidemicPoint,
    Monitoring,
    PropertyEmergency,
    QuarantineOrder,
    Seal,
    SealedHousehold,
    StatusRecord,
    TemperatureReport,
    TestTask,
)
from linli.health.permissions import CASE_ROLES, SEAL_ROLES, TEST_ROLES, VIEW_ROLES, has_role
from linli.lib import scope
from linli.lib.views import apply_errors, as_id, posted_pk
from linli.registry.models import Building, Community, Compound, Household, Person, Unit
from linli.registry.search import parse_query, search_people

CASE_LIMIT = 500  # cases on the list; a street has a few dozen in a bad month
GRAPH_CASES = 200  # cases on one picture: more is unreadable anyway
HISTORY_LIMIT = 50
SEARCH_LIMIT = 20
# The colour of each status on the street's table (the template's classes).
STATUS_CLASS = {
    CommunityStatus.NO_CASE: "ok",
    CommunityStatus.CASE: "warn",
    CommunityStatus.OUTBREAK: "high",
    CommunityStatus.TRANSMISSION: "bad",
}


def require(user: Any, roles: frozenset[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("您的角色不能使用本页面"))


def _require_edit(record: Any, user: Any, roles: frozenset[str]) -> None:
    """A write on a record the account sees: its role must allow it, and the record be in its editable scope.

    Seeing is already checked (404 otherwise); a grid worker who sees his community's cases but may not
    change them gets 403, like any role outside the set.
    """
    require(user, roles)
    if not scope.can_edit(record, user):
        raise PermissionDenied(_("您只能查看，不能修改本记录"))


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _digits(value: Any) -> int | None:
    return as_id(value)


def _communities(user: Any) -> list[Community]:
    return list(scope.visible(Community.objects.all(), user).order_by("code"))


def _chosen(request: HttpRequest, communities: list[Community]) -> Community | None:
    """The community named by ``?community=`` — 404 when it is not one the account sees."""
    raw = request.GET.get("community", "")
    if not raw:
        return None
    found = next((c for c in communities if str(c.pk) == raw), None)
    if found is None:
        raise Http404
    return found


def _person_results(user: Any, query: str) -> tuple[list[Person] | None, str]:
    if not query:
        return None, ""
    if parse_query(query) is None:
        return None, _("请至少输入一个汉字或两位数字。")
    return search_people(user, query, limit=SEARCH_LIMIT), ""


def _editable_person(user: Any, pk: int | None) -> Person | None:
    if pk is None:
        return None
    return scope.editable(Person.objects.select_related("household"), user).filter(pk=pk).first()


# --- cases (H5, H6) ---


@login_required
def cases(request: HttpRequest) -> HttpResponse:
    """The cases of each community in scope, newest first."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    communities = _communities(user)
    chosen = _chosen(request, communities)
    qs = scope.visible(Case.objects.select_related("community"), user).annotate(
        contacts_n=Count("contacts", distinct=True), points_n=Count("points", distinct=True)
    )
    if chosen is not None:
        qs = qs.filter(community=chosen)
    found = list(qs.order_by("-confirmed_on", "-pk")[: CASE_LIMIT + 1])
    by_community: dict[int, list[Case]] = defaultdict(list)
    for case in found[:CASE_LIMIT]:
        by_community[case.community_id].append(case)
    shown = [chosen] if chosen else communities
    context = {
        "groups": [(community, by_community.get(community.pk, [])) for community in shown],
        "communities": communities,
        "chosen": chosen,
        "truncated": len(found) > CASE_LIMIT,
        "limit": CASE_LIMIT,
        "can_record": has_role(user, CASE_ROLES) and scope.editable(Community.objects.all(), user).exists(),
    }
    return render(request, "health/control/cases.html", context)


@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    """Record a case; the community's status is recomputed at once (H5)."""
    user: Any = request.user
    require(user, CASE_ROLES)
    communities = scope.editable(Community.objects.all(), user).order_by("code")
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()
    results, hint = _person_results(user, query)
    if _is_htmx(request) and request.method == "GET":
        picks = {"results": results, "hint": hint, "q": query, "field_name": "person", "required": False}
        return render(request, "health/control/_person_pick.html", picks)
    initial: dict[str, Any] = {"confirmed_on": timezone.localdate()}
    only = list(communities[:2])
    if len(only) == 1:
        initial["community"] = only[0].pk
    initial.update(request.GET.dict())  # a search (GET) keeps what was typed
    form = CaseForm(request.POST or None, communities=communities, initial=initial)
    chosen = _editable_person(user, _digits(request.POST.get("person") or request.GET.get("person")))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = _editable_person(user, data["person"])
        if data["person"] and person is None:
            form.add_error(None, _("所选人员不存在或不在您的管辖范围内，请重新查找"))
        else:
            try:
                case = services.case_record(
                    community=data["community"],
                    person=person,
                    name=data["name"],
                    kind=data["kind"],
                    onset_date=data["onset_date"],
                    confirmed_on=data["confirmed_on"],
                    isolated_on=data["isolated_on"],
                    source=data["source"],
                    source_note=data["source_note"].strip(),
                    cluster=data["cluster"],
                    address=data["address"].strip(),
                    note=data["note"].strip(),
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                finding = services.status_of(case.community)
                messages.success(
                    request,
                    _("已登记病例 %(name)s。%(community)s当前疫情状态：%(status)s，防控策略：%(strategy)s。")
                    % {
                        "name": case.name,
                        "community": case.community.name,
                        "status": CommunityStatus(finding.status).label,
                        "strategy": finding.strategy,
                    },
                )
                if services.seal_suggestions(case.community):
                    messages.warning(request, _("有待确认的封控建议，请到封控页面确认。"))
                return redirect("health:case", pk=case.pk)
    context: dict[str, Any] = {"form": form, "q": query, "results": results, "hint": hint, "chosen": chosen}
    return render(request, "health/control/case_form.html", context, status=400 if request.method == "POST" else 200)


def _contact_rows(case: Case, user: Any) -> list[dict[str, Any]]:
    """The case's close contacts, each with the quarantine order it led to (when the account sees it)."""
    contacts = list(
        CloseContact.objects.filter(case=case)
        .select_related("person__household__compound", "person__household__building", "person__household__unit")
        .order_by("pk")
    )
    person_ids = [c.person_id for c in contacts if c.person_id]
    orders: dict[int, QuarantineOrder] = {}
    for order in scope.visible(QuarantineOrder.objects.filter(person_id__in=person_ids), user).order_by("-pk"):
        current = orders.get(order.person_id)
        if current is None or (order.is_active and not current.is_active):
            orders[order.person_id] = order
    return [{"contact": c, "order": orders.get(c.person_id) if c.person_id else None} for c in contacts]


def _case_context(case: Case, user: Any, can_edit: bool) -> dict[str, Any]:
    window = services.point_window(case)
    return {
        "case": case,
        "contacts": _contact_rows(case, user),
        "points": list(EpidemicPoint.objects.filter(case=case).order_by("visited_on", "pk")),
        "window": window,
        "seals": list(scope.visible(Seal.objects.filter(case=case), user).order_by("-sealed_at")),
        "can_edit": can_edit,
        "contact_form": ContactForm(prefix="contact"),
        "point_form": PointForm(prefix="point", initial={"visited_on": window[0] if window else None}),
        "q": "",
        "results": None,
        "hint": "",
    }


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One case: its close contacts (each registered as a key person with an order) and epidemic points."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    case = scope.get_visible_or_404(
        Case.objects.select_related(
            "community", "person", "household__compound", "household__building", "household__unit", "created_by"
        ),
        user,
        pk=pk,
    )
    can_edit = has_role(user, CASE_ROLES) and scope.can_edit(case, user)
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()
    if can_edit and _is_htmx(request) and request.method == "GET":
        results, hint = _person_results(user, query)
        picks = {"results": results, "hint": hint, "q": query, "field_name": "contact-person", "required": True}
        return render(request, "health/control/_person_pick.html", picks)
    context = _case_context(case, user, can_edit)
    if can_edit and query:
        context["q"] = query
        context["results"], context["hint"] = _person_results(user, query)
    if request.method != "POST":
        return render(request, "health/control/case.html", context)
    _require_edit(case, user, CASE_ROLES)
    action = request.POST.get("action", "")
    if action == "contact":
        contact_form = ContactForm(request.POST, prefix="contact")
        context["contact_form"] = contact_form
        if contact_form.is_valid():
            person = _editable_person(user, contact_form.cleaned_data["person"])
            if person is None:
                contact_form.add_error(None, _("所选人员不存在或不在您的管辖范围内，请重新查找"))
            else:
                try:
                    contact = services.contact_add(
                        case,
                        person=person,
                        kind=contact_form.cleaned_data["kind"],
                        last_contact_on=contact_form.cleaned_data["last_contact_on"],
                        actor=user,
                    )
                except ValidationError as exc:
                    apply_errors(contact_form, exc)
                else:
                    messages.success(request, _contact_message(contact))
                    return redirect("health:case", pk=case.pk)
    elif action == "point":
        form = PointForm(request.POST, prefix="point")
        context["point_form"] = form
        if form.is_valid():
            data = form.cleaned_data
            try:
                point = services.point_add(
                    case,
                    kind=data["kind"],
                    place=data["place"],
                    visited_on=data["visited_on"],
                    hours=data["hours"],
                    note=data["note"].strip(),
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已登记疫点：%(place)s。") % {"place": point.place})
                return redirect("health:case", pk=case.pk)
    else:
        messages.error(request, _("未知的操作，请刷新页面后重试。"))
    return render(request, "health/control/case.html", context, status=400)


def _contact_message(contact: CloseContact) -> str:
    text = _("已登记 %(name)s 为密切接触者（%(kind)s）。") % {
        "name": contact.name,
        "kind": ContactKind(contact.kind).label,
    }
    order = (
        QuarantineOrder.objects.filter(key_person_id=contact.key_person_id).first() if contact.key_person_id else None
    )
    if order is not None:
        text += _("已登记为重点人员并开始%(place)s，至 %(end)s。") % {
            "place": order.get_place_display(),
            "end": order.planned_end.isoformat(),
        }
    elif contact.key_person_id is None:
        text += _("此人已是在管的密切接触者，沿用原有的管控措施。")
    return text


# --- community epidemic status (H5) ---


def _status_row(community: Community) -> dict[str, Any]:
    finding = services.status_refresh(community)
    last = StatusRecord.objects.filter(community=community).order_by("-since", "-pk").first()
    return {
        "community": community,
        "finding": finding,
        "label": CommunityStatus(finding.status).label,
        "css": STATUS_CLASS[CommunityStatus(finding.status)],
        "since": last.since if last is not None and last.status == finding.status else None,
    }


@login_required
def status(request: HttpRequest) -> HttpResponse:
    """Every community in scope with its status computed now, in one table with colours."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    rows = [_status_row(community) for community in _communities(user)]
    counts = {value: sum(1 for row in rows if row["finding"].status == value) for value in CommunityStatus.values}
    legend = [(CommunityStatus(value).label, STATUS_CLASS[CommunityStatus(value)], counts[value]) for value in counts]
    return render(request, "health/control/status.html", {"rows": rows, "legend": legend})


@login_required
def status_community(request: HttpRequest, pk: int) -> HttpResponse:
    """One community: the status now, its strategy and measures, the cases that made it, the history."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    community = scope.get_visible_or_404(Community.objects.all(), user, pk=pk)
    row = _status_row(community)
    finding = row["finding"]
    required = services.STRATEGY[CommunityStatus(finding.status)][1]
    history = list(StatusRecord.objects.filter(community=community).order_by("-since", "-pk")[:HISTORY_LIMIT])
    ids = {pk for record in history for pk in record.case_ids}
    names = dict(Case.objects.filter(pk__in=ids, community=community).values_list("pk", "name"))
    context = {
        **row,
        "measures": [(n, services.MEASURES[n], n <= required) for n in sorted(services.MEASURES)],
        "required": required,
        "history": [
            {
                "record": record,
                "label": CommunityStatus(record.status).label,
                "css": STATUS_CLASS[CommunityStatus(record.status)],
                "cases": [(pk, names.get(pk, "")) for pk in record.case_ids],
            }
            for record in history
        ],
    }
    return render(request, "health/control/status_community.html", context)


# --- contact graph (H6) ---


@login_required
def graph_page(request: HttpRequest) -> HttpResponse:
    """The contact graph of a community (``?community=``, by default the first in scope) or of one case."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    communities = _communities(user)
    focus: Case | None = None
    if "case" in request.GET:
        case_pk = _digits(request.GET["case"])
        if case_pk is None:
            raise Http404
        focus = scope.get_visible_or_404(Case.objects.select_related("community"), user, pk=case_pk)
        community: Community | None = focus.community
        contacts = list(CloseContact.objects.filter(case=focus).order_by("pk"))
        later = {c.person_id for c in contacts if c.person_id}
        shown = [focus, *scope.visible(Case.objects.filter(person_id__in=later).exclude(pk=focus.pk), user)]
        truncated = False
    else:
        community = _chosen(request, communities) or (communities[0] if communities else None)
        found = (
            list(
                scope.visible(Case.objects.filter(community=community), user).order_by("-confirmed_on", "-pk")[
                    : GRAPH_CASES + 1
                ]
            )
            if community
            else []
        )
        truncated = len(found) > GRAPH_CASES
        shown = found[:GRAPH_CASES]
        contacts = list(CloseContact.objects.filter(case__in=[c.pk for c in shown]).order_by("pk"))
    # graph.py builds the SVG with ElementTree, which escapes every name: only its output is marked safe.
    svg = mark_safe(graph.contact_graph_svg(shown, contacts))
    # The drawn width (the viewBox's third number) lets the page scale the picture up to a legible size.
    drawn = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ', svg)
    context = {
        "svg": svg,
        "graph_width": round(float(drawn.group(1))) if drawn else 400,
        "focus": focus,
        "community": community,
        "communities": communities,
        "cases_n": len(shown),
        "contacts_n": len(contacts),
        "truncated": truncated,
        "limit": GRAPH_CASES,
        "kinds": [(graph.SHORT_KIND[kind], kind.label) for kind in ContactKind],
        "case_colour": graph.CASE_COLOUR,
        "contact_colour": graph.CONTACT_COLOUR,
        "edge_colour": graph.EDGE_COLOUR,
    }
    return render(request, "health/control/graph.html", context)


# --- seals (H7) ---


def _active_seals(user: Any) -> QuerySet[Seal]:
    return (
        scope.visible(Seal.objects.all(), user)
        .select_related("community", "compound", "building", "unit", "household__building", "household__unit", "case")
        .annotate(
            households_n=Count("households", distinct=True),
            pending_n=Count("tests", filter=Q(tests__result=TestResult.PENDING), distinct=True),
        )
    )


@login_required
def seals(request: HttpRequest) -> HttpResponse:
    """Suggested seals to confirm, the seals in force, and the ones recently lifted."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    communities = _communities(user)
    editable = set(scope.editable(Community.objects.all(), user).values_list("pk", flat=True))
    can_seal = has_role(user, SEAL_ROLES)
    suggestions = [
        {
            "community": community,
            "suggestion": suggestion,
            "level_label": SealLevel(suggestion.level).label,
            "can_confirm": can_seal and community.pk in editable,
        }
        for community in communities
        for suggestion in services.seal_suggestions(community)
    ]
    context = {
        "suggestions": suggestions,
        "active": list(_active_seals(user).filter(unsealed_at__isnull=True).order_by("-sealed_at")),
        "ended": list(_active_seals(user).filter(unsealed_at__isnull=False).order_by("-unsealed_at")[:20]),
        "can_seal": can_seal and bool(editable),
    }
    return render(request, "health/control/seals.html", context)


def _suggested(suggestion: services.SealSuggestion) -> Unit | Building | None:
    """What a suggestion would seal: its unit, or its building."""
    return suggestion.unit if suggestion.level == SealLevel.UNIT else suggestion.building


def _pk(record: Any) -> int | None:
    return record.pk if record is not None else None


@require_POST
@login_required
def seal_confirm(request: HttpRequest) -> HttpResponse:
    """Confirm a suggested seal: a person decides (H7); the suggestion is computed again, not trusted."""
    user: Any = request.user
    require(user, SEAL_ROLES)
    community = scope.get_editable_or_404(Community.objects.all(), user, pk=posted_pk(request, "community"))
    level, target_pk = request.POST.get("level", ""), posted_pk(request, "target")
    suggestion = next(
        (s for s in services.seal_suggestions(community) if s.level == level and _pk(_suggested(s)) == target_pk),
        None,
    )
    if suggestion is None:
        messages.error(request, _("该封控建议已处理或已失效，请刷新页面。"))
        return redirect("health:seals")
    target = _suggested(suggestion)
    if target is None or not scope.can_edit(target, user):
        raise Http404
    try:
        seal = services.seal_create(
            level=level, target=target, actor=user, case=suggestion.cases[0], reason=suggestion.reason
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("health:seals")
    messages.success(request, _seal_message(seal))
    return redirect("health:seal", pk=seal.pk)


def _seal_message(seal: Seal) -> str:
    return _(
        "已封控 %(n)s 户。本范围住户通行证已暂停，今日 %(m)s 人核酸检测，每日测温 %(r)s 次，生活物资定点无接触配送。"
    ) % {
        "n": seal.households.count(),
        "m": TestTask.objects.filter(seal=seal).count(),
        "r": seal.reports_per_day,
    }


@login_required
def seal_create(request: HttpRequest) -> HttpResponse:
    """Seal a household, unit or building by hand; the target is chosen compound → building → unit → household."""
    user: Any = request.user
    require(user, SEAL_ROLES)
    data = request.POST if request.method == "POST" else request.GET
    compound_pk, building_pk, unit_pk = (_digits(data.get(name)) for name in ("compound", "building", "unit"))
    compounds = scope.editable(Compound.objects.all(), user).order_by("code")
    compound = compounds.filter(pk=compound_pk).first() if compound_pk else None
    buildings = (
        scope.editable(Building.objects.filter(compound=compound), user) if compound else Building.objects.none()
    )
    units = (
        scope.editable(Unit.objects.filter(building_id=building_pk, compound=compound), user)
        if compound and building_pk
        else Unit.objects.none()
    )
    households = (
        scope.editable(Household.objects.filter(unit_id=unit_pk, compound=compound), user).select_related(
            "building", "unit"
        )
        if compound and unit_pk
        else Household.objects.none()
    )
    cases_qs = (
        scope.editable(Case.objects.filter(community_id=compound.community_id), user).order_by("-confirmed_on")[:50]
        if compound
        else Case.objects.none()
    )
    form = SealTargetForm(
        request.POST or None,
        initial=request.GET.dict(),
        compounds=compounds,
        buildings=buildings.order_by("number", "code"),
        units=units.order_by("number", "code"),
        households=households.order_by("room"),
        cases=Case.objects.filter(pk__in=[c.pk for c in cases_qs]).order_by("-confirmed_on"),
    )
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            seal = services.seal_create(
                level=cleaned["level"],
                target=form.target(),
                actor=user,
                case=cleaned["case"],
                reason=cleaned["reason"].strip(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _seal_message(seal))
            return redirect("health:seal", pk=seal.pk)
    status_code = 400 if request.method == "POST" else 200
    return render(request, "health/control/seal_form.html", {"form": form}, status=status_code)


def _seal_context(seal: Seal, user: Any) -> dict[str, Any]:
    today = timezone.localdate()
    sealed = list(
        SealedHousehold.objects.filter(seal=seal)
        .select_related("household__compound", "household__building", "household__unit")
        .order_by("household__unit_id", "household__room")
    )
    household_ids = [row.household_id for row in sealed]
    members: dict[int, list[Person]] = defaultdict(list)
    for person in Person.objects.filter(household_id__in=household_ids).order_by("pk"):
        members[person.household_id].append(person)
    tests: dict[int, list[TestTask]] = defaultdict(list)
    for task in TestTask.objects.filter(seal=seal).order_by("due_on", "sequence", "pk"):
        tests[task.person_id].append(task)
    monitored = {m.person_id: m for m in Monitoring.objects.filter(seal=seal)}
    # The cases among the members are in hospital: the seal neither tests nor chases them.
    member_ids = [person.pk for people in members.values() for person in people]
    case_people = set(Case.objects.filter(person_id__in=member_ids).values_list("person_id", flat=True))
    reports = {
        r.person_id: r
        for r in TemperatureReport.objects.filter(person_id__in=list(monitored), date=today).order_by("slot")
    }
    editable = scope.can_edit(seal, user)
    rows = [
        {
            "household": row.household,
            "active": row.active,
            "members": [
                {
                    "person": person,
                    "tests": tests.get(person.pk, []),
                    "monitoring": monitored.get(person.pk),
                    "report": reports.get(person.pk),
                    "is_case": person.pk in case_people,
                }
                for person in members.get(row.household_id, [])
            ],
        }
        for row in sealed
    ]
    all_tests = [task for tasks in tests.values() for task in tasks]
    return {
        "seal": seal,
        "rows": rows,
        "today": today,
        "people_n": sum(len(members.get(row.household_id, [])) for row in sealed),
        "tests_n": len(all_tests),
        "negative_n": sum(1 for task in all_tests if task.result == TestResult.NEGATIVE),
        "positive_n": sum(1 for task in all_tests if task.result == TestResult.POSITIVE),
        "reported_n": sum(1 for pk in monitored if pk in reports),
        "monitored_n": len(monitored),
        "reports_per_day": seal.reports_per_day,
        "blockers": services.unseal_blockers(seal) if seal.is_active else [],
        "can_test": editable and has_role(user, TEST_ROLES) and seal.is_active,
        "can_unseal": editable and has_role(user, SEAL_ROLES) and seal.is_active,
        "can_report": editable and seal.is_active,
        "unseal_form": UnsealForm(),
        "conditions": [
            (str(label), bool((seal.unseal_conditions or {}).get(key)))
            for key, label in services.UNSEAL_CONDITIONS.items()
        ],
    }


@login_required
def seal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A seal: its households with all members, their tests and today's temperature, and the unseal panel."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    seal = scope.get_visible_or_404(
        Seal.objects.select_related(
            "community",
            "compound",
            "building",
            "unit",
            "household__building",
            "household__unit",
            "case",
            "sealed_by",
            "unsealed_by",
        ),
        user,
        pk=pk,
    )
    if request.method != "POST":
        return render(request, "health/control/seal.html", _seal_context(seal, user))
    _require_edit(seal, user, VIEW_ROLES)
    action = request.POST.get("action", "")
    unseal_form: UnsealForm | None = None
    if action == "test_result":
        require(user, TEST_ROLES)
        form = SealTestForm(request.POST)
        if form.is_valid():
            task = TestTask.objects.filter(seal=seal, pk=form.cleaned_data["task"]).first()
            if task is None:
                raise Http404
            try:
                task = services.test_result_record(task, result=form.cleaned_data["result"], actor=user)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("已录入 %(name)s 的核酸检测结果：%(result)s。")
                    % {"name": task.person.name, "result": task.get_result_display()},
                )
                return redirect("health:seal", pk=seal.pk)
        else:
            messages.error(request, _("请选择阴性或阳性"))
    elif action == "unseal":
        require(user, SEAL_ROLES)
        unseal_form = UnsealForm(request.POST)
        if unseal_form.is_valid():
            try:
                services.seal_release(
                    seal, conditions=unseal_form.conditions(), note=unseal_form.cleaned_data["note"], actor=user
                )
            except ValidationError as exc:
                for message in exc.messages:
                    unseal_form.add_error(None, message)
            else:
                messages.success(request, _("已解封：本范围住户通行证按其他人员情况自动恢复，每日测温结束。"))
                return redirect("health:seal", pk=seal.pk)
    else:
        messages.error(request, _("未知的操作，请刷新页面后重试。"))
    seal.refresh_from_db()
    context = _seal_context(seal, user)
    if unseal_form is not None:
        context["unseal_form"] = unseal_form
    return render(request, "health/control/seal.html", context, status=400)


# --- property emergency levels (H8) ---


def _companies(communities: list[Community], user: Any) -> dict[int, list[dict[str, Any]]]:
    """Each community's property companies: those of its compounds, and any with an emergency level in force."""
    managed: dict[tuple[int, str], list[str]] = defaultdict(list)
    for community_id, company, name in (
        Compound.objects.filter(community__in=communities)
        .exclude(property_company="")
        .order_by("code")
        .values_list("community_id", "property_company", "name")
    ):
        managed[(community_id, company.strip())].append(name)
    active: dict[tuple[int, str], PropertyEmergency] = {}
    for emergency in scope.visible(
        PropertyEmergency.objects.filter(community__in=communities, ended_at__isnull=True), user
    ).order_by("set_at"):
        active[(emergency.community_id, emergency.company)] = emergency
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for key in sorted(set(managed) | set(active), key=lambda k: (k[0], k[1])):
        current = active.get(key)
        done, total = checklists.progress(current) if current else (0, 0)
        rows[key[0]].append(
            {"company": key[1], "compounds": managed.get(key, []), "emergency": current, "done": done, "total": total}
        )
    return rows


@login_required
def emergencies(request: HttpRequest) -> HttpResponse:
    """Per community, the property companies and their emergency level; set a level (3 warning … 1 emergency)."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    communities = _communities(user)
    chosen = _chosen(request, communities)
    shown = [chosen] if chosen else communities
    editable = set(scope.editable(Community.objects.all(), user).values_list("pk", flat=True))
    bound: EmergencyForm | None = None
    if request.method == "POST":
        require(user, SEAL_ROLES)
        bound = EmergencyForm(request.POST)
        if bound.is_valid():
            community = scope.get_editable_or_404(Community.objects.all(), user, pk=bound.cleaned_data["community"])
            try:
                emergency = services.emergency_set(
                    community=community,
                    company=bound.cleaned_data["company"],
                    level=bound.cleaned_data["level"],
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(bound, exc)
            else:
                messages.success(
                    request,
                    _("%(company)s 已启动%(level)s应急响应，请按清单逐项落实。")
                    % {"company": emergency.company, "level": emergency.get_level_display()},
                )
                return redirect("health:emergency", pk=emergency.pk)
        if bound.errors and "community" in bound.errors:
            messages.error(request, _("请刷新页面后重试。"))
    companies = _companies(shown, user)
    can_set = has_role(user, SEAL_ROLES)
    sections = []
    for community in shown:
        is_bound = bound is not None and str(bound.data.get("community")) == str(community.pk)
        sections.append(
            {
                "community": community,
                "companies": companies.get(community.pk, []),
                "can_set": can_set and community.pk in editable,
                "form": bound if is_bound else EmergencyForm(initial={"community": community.pk}),
            }
        )
    context = {"sections": sections, "communities": communities, "chosen": chosen, "levels": EmergencyLevel.choices}
    return render(request, "health/control/emergencies.html", context, status=400 if request.method == "POST" else 200)


@login_required
def emergency_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A company's emergency level with its procedure checklist: tick items as they are done."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    emergency = scope.get_visible_or_404(PropertyEmergency.objects.select_related("community", "set_by"), user, pk=pk)
    can_tick = has_role(user, SEAL_ROLES) and scope.can_edit(emergency, user) and emergency.ended_at is None
    if request.method == "POST":
        _require_edit(emergency, user, SEAL_ROLES)
        form = TickForm(request.POST)
        if emergency.ended_at is not None:
            messages.error(request, _("该应急等级已解除，清单不能再修改。"))
        elif form.is_valid():
            try:
                emergency = services.emergency_tick(
                    emergency, item=form.cleaned_data["item"], done=form.cleaned_data["done"], actor=user
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                return redirect("health:emergency", pk=emergency.pk)
        else:
            messages.error(request, _("请刷新页面后重试。"))
    done, total = checklists.progress(emergency)
    history = list(
        PropertyEmergency.objects.filter(community=emergency.community, company=emergency.company)
        .select_related("set_by")
        .order_by("-set_at")[:20]
    )
    items = checklists.checklist(emergency)
    context = {
        "emergency": emergency,
        "items": items,
        "has_derived": any(item.derived for item, _ok in items),
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "history": history,
        "can_tick": can_tick,
    }
    return render(request, "health/control/emergency.html", context, status=400 if request.method == "POST" else 200)


urlpatterns: list[URLPattern] = [
    path("cases/", cases, name="cases"),
    path("cases/new/", case_create, name="case_create"),
    path("cases/<int:pk>/", case_detail, name="case"),
    path("status/", status, name="status"),
    path("status/<int:pk>/", status_community, name="status_community"),
    path("graph/", graph_page, name="graph"),
    path("seals/", seals, name="seals"),
    path("seals/confirm/", seal_confirm, name="seal_confirm"),
    path("seals/new/", seal_create, name="seal_create"),
    path("seals/<int:pk>/", seal_detail, name="seal"),
    path("property-emergencies/", emergencies, name="emergencies"),
    path("property-emergencies/<int:pk>/", emergency_detail, name="emergency"),
]
