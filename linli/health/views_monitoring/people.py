"""The health home, key persons and their quarantine orders (H1, H2, H4)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.health import rules, selectors, services
from linli.health.choices import EscalationStatus, OrderStatus, Place
from linli.health.forms_monitoring import (
    EndForm,
    ExtendForm,
    KeyPersonFilter,
    ProxyReportForm,
    RegisterForm,
    TestAddForm,
    TestResultForm,
)
from linli.health.models import (
    FeverEscalation,
    IsolationSite,
    KeyPerson,
    QuarantineOrder,
    TemperatureReport,
    TestTask,
)
from linli.health.permissions import (
    PROXY_REPORT_ROLES,
    REGISTER_ROLES,
    SIGN_ROLES,
    TEST_ROLES,
    VIEW_ROLES,
    has_role,
)
from linli.health.views_monitoring.common import (
    CONTROL_PAGES,
    LIST_PAGE,
    SEARCH_LIMIT,
    SLOT_LABELS,
    _clock,
    _is_htmx,
    _labelled,
    _report_message,
    current_slot,
    require,
)
from linli.lib import scope
from linli.lib.views import apply_errors, as_id
from linli.registry.models import Person
from linli.registry.search import parse_query, search_people

# --- the health home ---


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Today's numbers for the account's scope and a link to every health page."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    now = timezone.now()
    today = timezone.localdate(now)
    clock = _clock(user)
    slot = current_slot(clock, now)
    open_escalations = scope.visible(FeverEscalation.objects.filter(status=EscalationStatus.OPEN), user)
    control_links = []
    for name, label in CONTROL_PAGES:
        try:
            control_links.append((reverse(name), label))
        except NoReverseMatch:  # the control side's page is not there (yet)
            continue
    context = {
        "today": today,
        "slot": slot,
        "slot_label": SLOT_LABELS[slot],
        "clock": clock,
        "active_orders": selectors.active_orders(user).count(),
        "due": selectors.due(user, today, slot).values("person_id").distinct().count(),
        "missing": selectors.chase_list(user, today, slot).count(),
        "open_escalations": open_escalations.count(),
        "overdue_escalations": open_escalations.filter(steps__done_at__isnull=True, steps__due_at__lt=now)
        .distinct()
        .count(),
        "tests_due": scope.visible(TestTask.objects.filter(due_on__lte=today, result="pending"), user)
        .filter(order__status=OrderStatus.ACTIVE)
        .count(),
        "control_links": control_links,
        "can_register": has_role(user, REGISTER_ROLES),
    }
    return render(request, "health/index.html", context)


# --- key persons and orders ---


@login_required
def key_persons(request: HttpRequest) -> HttpResponse:
    """Key persons in scope, newest first, with their order; filter by category, status, name."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    form = KeyPersonFilter(request.GET or None)
    qs = scope.visible(KeyPerson.objects.all(), user).select_related(
        "person", "household__compound", "household__building", "household__unit"
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            qs = qs.filter(person__name__contains=data["q"].strip())
        if data["category"]:
            qs = qs.filter(category=data["category"])
        if data["status"] == "none":
            qs = qs.filter(~Exists(QuarantineOrder.objects.filter(key_person=OuterRef("pk"))))
        elif data["status"]:
            qs = qs.filter(Exists(QuarantineOrder.objects.filter(key_person=OuterRef("pk"), status=data["status"])))
    qs = qs.prefetch_related(Prefetch("orders", queryset=QuarantineOrder.objects.order_by("-pk"))).order_by(
        "-registered_at", "-pk"
    )
    page = Paginator(qs, LIST_PAGE).get_page(request.GET.get("page"))
    rows = [{"key_person": kp, "order": next(iter(kp.orders.all()), None)} for kp in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "can_register": has_role(user, REGISTER_ROLES),
    }
    return render(request, "health/key_persons.html", context)


def _person_results(user: Any, query: str) -> tuple[list[Person] | None, str]:
    if not query:
        return None, ""
    if parse_query(query) is None:
        return None, _("请至少输入一个汉字或两位数字。")
    return search_people(user, query, limit=SEARCH_LIMIT), ""


@login_required
def register(request: HttpRequest) -> HttpResponse:
    """Register a key person: find the person in scope, choose the category (or let the risk areas decide)."""
    user: Any = request.user
    require(user, REGISTER_ROLES)
    sites = scope.visible(IsolationSite.objects.all(), user)
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()
    results, hint = _person_results(user, query)
    if _is_htmx(request) and request.method == "GET":
        return render(request, "health/_person_pick.html", {"results": results, "hint": hint, "q": query})
    form = RegisterForm(request.POST or None, sites=sites, initial=request.GET.dict())
    chosen_pk = as_id(request.POST.get("person") or request.GET.get("person") or "")
    chosen = None
    if chosen_pk is not None:
        chosen = (
            scope.visible(
                Person.objects.select_related("household__compound", "household__building", "household__unit"), user
            )
            .filter(pk=chosen_pk)
            .first()
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = scope.get_editable_or_404(Person.objects.select_related("household"), user, pk=data["person"])
        try:
            registration = services.key_person_register(
                person,
                category=data["category"],
                actor=user,
                origin=data["origin"].strip(),
                arrived_on=data["arrived_on"],
                note=data["note"].strip(),
                site=data["site"],
                room=data["room"].strip(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            key_person, order = registration.key_person, registration.order
            text = _("已登记 %(name)s 为%(category)s。") % {
                "name": person.name,
                "category": key_person.get_category_display(),
            }
            if registration.finding is not None:
                text += registration.finding.reason + _("。")
            if order is not None:
                text += _("%(place)s至 %(end)s，已安排 %(n)s 次核酸检测。") % {
                    "place": order.get_place_display(),
                    "end": order.planned_end.isoformat(),
                    "n": order.tests.count(),
                }
                if order.holds_pass:
                    text += _("本户通行证已暂停。")
            elif registration.tests:
                text += _("无需隔离，请查验 %(n)s 日内核酸阴性证明。") % {
                    "n": rules.rule_for(person.household.street_id, key_person.category).test_within_days
                }
            messages.success(request, text)
            if order is not None:
                return redirect("health:order", pk=order.pk)
            return redirect("health:key_persons")
    context = {
        "form": form,
        "q": query,
        "results": results,
        "hint": hint,
        "chosen": chosen,
        "has_sites": sites.exists(),
    }
    return render(request, "health/register.html", context, status=400 if request.method == "POST" else 200)


def _order_queryset() -> QuerySet[QuarantineOrder]:
    return QuarantineOrder.objects.select_related(
        "person",
        "household__compound",
        "household__building",
        "household__unit",
        "site",
        "key_person",
        "started_by",
        "ended_by",
    )


def _order_context(order: QuarantineOrder, user: Any) -> dict[str, Any]:
    editable = scope.can_edit(order, user)
    today = timezone.localdate()
    signatures = list(order.signatures.select_related("signer").order_by("signed_at"))
    can_sign = editable and has_role(user, SIGN_ROLES) and services.signing_role(user) is not None
    return {
        "order": order,
        "person": order.person,
        "household": order.household,
        "tests": list(order.tests.select_related("recorded_by")),
        "extensions": list(order.extensions.select_related("created_by")),
        "signatures": signatures,
        "signed_by_me": any(s.signer_id == user.pk for s in signatures),
        "blockers": services.release_blockers(order) if order.is_active else [],
        "reports": _labelled(
            TemperatureReport.objects.filter(person_id=order.person_id, date__gte=order.starts_on)
            .select_related("reported_by")
            .order_by("-date", "-slot")[:28]
        ),
        "escalations": list(FeverEscalation.objects.filter(person_id=order.person_id).order_by("-opened_at")[:5]),
        "today": today,
        "can_test": editable and has_role(user, TEST_ROLES),
        "can_manage": editable and has_role(user, REGISTER_ROLES),
        "can_sign": can_sign,
        "can_report": editable and has_role(user, PROXY_REPORT_ROLES),
        "report_form": ProxyReportForm(),
        "test_add_form": TestAddForm(initial={"due_on": today}),
        "extend_form": ExtendForm(),
        "end_form": EndForm(),
        "has_notice": _notice_module() is not None,
        "is_centralized": order.place == Place.CENTRALIZED,
    }


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One order: its rule copy, tests, reports, extensions, end and the release panel (H2–H4)."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    order = scope.get_visible_or_404(_order_queryset(), user, pk=pk)
    if request.method != "POST":
        return render(request, "health/order.html", _order_context(order, user))
    if not scope.can_edit(order, user):
        raise Http404
    action = request.POST.get("action", "")
    form: Any = None
    form_key = ""
    try:
        if action == "report":
            require(user, PROXY_REPORT_ROLES)
            form, form_key = ProxyReportForm(request.POST), "report_form"
            if form.is_valid():
                outcome = services.temperature_report(
                    order.person,
                    temperature=form.cleaned_data["temperature"],
                    symptoms=form.cleaned_data["symptoms"],
                    slot=form.cleaned_data["slot"],
                    actor=user,
                )
                _report_message(request, outcome, order.person.name)
                return redirect("health:order", pk=order.pk)
        elif action == "test_result":
            require(user, TEST_ROLES)
            form = TestResultForm(request.POST)
            if form.is_valid():
                task = TestTask.objects.filter(order=order, pk=form.cleaned_data["task"]).first()
                if task is None:
                    raise Http404
                task = services.test_result_record(task, result=form.cleaned_data["result"], actor=user)
                messages.success(
                    request,
                    _("已录入第 %(n)s 次核酸检测结果：%(result)s。")
                    % {"n": task.sequence, "result": task.get_result_display()},
                )
                return redirect("health:order", pk=order.pk)
            messages.error(request, _("请选择阴性或阳性"))
        elif action == "test_add":
            require(user, REGISTER_ROLES)
            form, form_key = TestAddForm(request.POST), "test_add_form"
            if form.is_valid():
                task = services.test_add(order, due_on=form.cleaned_data["due_on"], actor=user)
                messages.success(request, _("已加做一次核酸检测（%(d)s）。") % {"d": task.due_on.isoformat()})
                return redirect("health:order", pk=order.pk)
        elif action == "extend":
            require(user, REGISTER_ROLES)
            form, form_key = ExtendForm(request.POST), "extend_form"
            if form.is_valid():
                extension = services.order_extend(
                    order, days=form.cleaned_data["days"], reason=form.cleaned_data["reason"], actor=user
                )
                messages.success(
                    request,
                    _("已延长 %(n)s 天，解除日期改为 %(d)s；此前的解除签字已作废。")
                    % {"n": extension.days, "d": extension.new_end.isoformat()},
                )
                return redirect("health:order", pk=order.pk)
        elif action == "end":
            require(user, REGISTER_ROLES)
            form, form_key = EndForm(request.POST), "end_form"
            if form.is_valid():
                ended = services.order_end(
                    order, status=form.cleaned_data["status"], note=form.cleaned_data["note"], actor=user
                )
                messages.success(request, _("已结束：%(s)s。") % {"s": ended.get_status_display()})
                return redirect("health:order", pk=order.pk)
        elif action == "sign":
            require(user, SIGN_ROLES)
            signed = services.release_sign(order, actor=user)
            if signed.released:
                messages.success(request, _("两人签字已齐，已解除隔离；本户通行证按其他人员情况自动恢复。"))
            else:
                messages.success(
                    request,
                    _("您已签字（%(role)s），还需要另一方签字。")
                    % {"role": _("责任干部") if signed.signature.role == services.SIGN_CADRE else _("医务人员")},
                )
            return redirect("health:order", pk=order.pk)
        else:
            messages.error(request, _("未知的操作，请刷新页面后重试。"))
    except ValidationError as exc:
        if form is not None and form_key:
            apply_errors(form, exc)
        else:
            for message in exc.messages:
                messages.error(request, message)
    order.refresh_from_db()
    context = _order_context(order, user)
    if form_key:
        context[form_key] = form
    return render(request, "health/order.html", context, status=400)


def _notice_module() -> Any:
    try:
        from linli.health import notice
    except ImportError:  # the notice is another part's work; the link shows once it is there
        return None
    return notice if hasattr(notice, "order_notice_pdf") else None


@login_required
def order_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The order's printable notice 隔离医学观察告知书 (one A4 page)."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    order = scope.get_visible_or_404(_order_queryset(), user, pk=pk)
    notice = _notice_module()
    if notice is None:
        raise Http404
    response = HttpResponse(notice.order_notice_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="order-{order.pk}.pdf"'
    return response
