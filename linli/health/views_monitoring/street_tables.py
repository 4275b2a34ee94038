"""The street's tables (H2, H3, H9): rule table, risk areas, reporting clock, isolation sites.

The pages validate and render; every write is a function of ``rules`` or ``services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.health import rules, services
from linli.health.choices import Category, OrderStatus
from linli.health.forms_monitoring import (
    RiskAreaEndForm,
    RiskAreaForm,
    RuleForm,
    SettingsForm,
    SiteForm,
)
from linli.health.models import (
    IsolationSite,
    MeasureRule,
    QuarantineOrder,
    RiskArea,
)
from linli.health.permissions import (
    STREET_TABLE_ROLES,
    VIEW_ROLES,
    has_role,
)
from linli.health.views_monitoring.common import (
    _street_of,
    require,
)
from linli.lib import scope
from linli.lib.views import apply_errors
from linli.registry.models import Street

# --- the street's tables (H2, H3, H9) ---


def _tables_context(user: Any) -> dict[str, Any]:
    street = _street_of(user)
    can_edit = has_role(user, STREET_TABLE_ROLES) and scope.can_edit(street, user)
    return {"street": street, "can_edit": can_edit}


@login_required
def tables(request: HttpRequest) -> HttpResponse:
    """The street's rule table and reporting clock, with links to risk areas and isolation sites."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    context = _tables_context(user)
    street = context["street"]
    table = rules.rules_table(street)
    order = list(Category.values)
    context.update(
        rules=sorted(table.values(), key=lambda rule: order.index(rule.category) if rule.category in order else 99),
        clock=rules.settings_for(street),
        areas=rules.areas_active(street.pk, timezone.localdate()),
        sites=IsolationSite.objects.filter(street=street).count(),
    )
    return render(request, "health/tables.html", context)


def _require_table_editor(user: Any) -> Street:
    require(user, STREET_TABLE_ROLES)
    street = _street_of(user)
    if not scope.can_edit(street, user):
        raise Http404
    return street


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One row of the rule table; orders already started keep their copy."""
    user: Any = request.user
    _require_table_editor(user)
    rule = scope.get_editable_or_404(MeasureRule.objects.all(), user, pk=pk)
    initial = {
        "days": rule.days,
        "place": rule.place,
        "test_days": ",".join(str(d) for d in rule.test_days or []),
        "test_within_days": rule.test_within_days,
        "reports_per_day": rule.reports_per_day,
        "note": rule.note,
    }
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rules.rule_update(rule, actor=user, **form.cleaned_data)
        except ValueError as exc:  # the test days, from rules.validate_test_days
            form.add_error("test_days", str(exc))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("已更新“%(category)s”的管控措施；已开始的隔离仍按原规则执行。")
                % {"category": rule.get_category_display()},
            )
            return redirect("health:tables")
    status = 400 if request.method == "POST" else 200
    return render(request, "health/rule_edit.html", {"rule": rule, "form": form}, status=status)


@login_required
def risk_areas(request: HttpRequest) -> HttpResponse:
    """The street's risk areas (H9): add one, lift one."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    context = _tables_context(user)
    street = context["street"]
    add_form = RiskAreaForm()
    status = 200
    if request.method == "POST":
        _require_table_editor(user)
        action = request.POST.get("action", "")
        if action == "add":
            add_form = RiskAreaForm(request.POST)
            if add_form.is_valid():
                try:
                    area = rules.risk_area_add(street=street, actor=user, **add_form.cleaned_data)
                except ValidationError as exc:
                    apply_errors(add_form, exc)
                else:
                    messages.success(request, _("已添加风险地区：%(area)s。") % {"area": f"{area.county} {area.name}"})
                    return redirect("health:risk_areas")
        elif action == "end":
            end_form = RiskAreaEndForm(request.POST)
            if end_form.is_valid():
                area = scope.get_editable_or_404(RiskArea.objects.all(), user, pk=end_form.cleaned_data["area"])
                try:
                    rules.risk_area_end(area, ends_on=end_form.cleaned_data["ends_on"], actor=user)
                except ValidationError as exc:
                    for message in exc.messages:
                        messages.error(request, message)
                else:
                    messages.success(request, _("已解除风险地区：%(area)s。") % {"area": f"{area.county} {area.name}"})
                    return redirect("health:risk_areas")
            else:
                messages.error(request, _("请填写解除日期"))
        else:
            messages.error(request, _("未知的操作，请刷新页面后重试。"))
        status = 400
    today = timezone.localdate()
    areas = list(scope.visible(RiskArea.objects.filter(street=street), user)[:300])
    context.update(
        add_form=add_form,
        active=[a for a in areas if a.starts_on <= today and (a.ends_on is None or a.ends_on >= today)],
        upcoming=[a for a in areas if a.starts_on > today],
        ended=[a for a in areas if a.ends_on is not None and a.ends_on < today],
        today=today,
    )
    return render(request, "health/risk_areas.html", context, status=status)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The street's reporting clock, fever threshold and escalation step times (H3)."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    context = _tables_context(user)
    clock = rules.settings_for(context["street"])
    form = SettingsForm(request.POST or None, instance=clock)
    if request.method == "POST":
        _require_table_editor(user)
        if form.is_valid():
            try:
                rules.settings_update(context["street"], actor=user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存测温与处置时限设置。"))
                return redirect("health:settings")
    context.update(form=form, clock=clock)
    return render(request, "health/settings.html", context, status=400 if request.method == "POST" else 200)


@login_required
def sites(request: HttpRequest) -> HttpResponse:
    """The street's centralized isolation sites, with how many people are in each now."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    context = _tables_context(user)
    street = context["street"]
    form = SiteForm(request.POST or None)
    if request.method == "POST":
        _require_table_editor(user)
        if form.is_valid():
            try:
                site = services.isolation_site_add(street=street, actor=user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已添加集中隔离点：%(name)s。") % {"name": site.name})
                return redirect("health:sites")
    rows = list(IsolationSite.objects.filter(street=street).order_by("name"))
    occupied = {
        row["site_id"]: row["n"]
        for row in QuarantineOrder.objects.filter(site__street=street, status=OrderStatus.ACTIVE)
        .values("site_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    context.update(form=form, rows=[{"site": s, "occupied": occupied.get(s.pk, 0)} for s in rows])
    return render(request, "health/sites.html", context, status=400 if request.method == "POST" else 200)


@login_required
def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_table_editor(user)
    site = scope.get_editable_or_404(IsolationSite.objects.all(), user, pk=pk)
    form = SiteForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        try:
            site = services.isolation_site_update(site, actor=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存集中隔离点：%(name)s。") % {"name": site.name})
            return redirect("health:sites")
    return render(
        request, "health/site_edit.html", {"site": site, "form": form}, status=400 if request.method == "POST" else 200
    )
