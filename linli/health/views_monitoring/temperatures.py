"""Temperatures (H3): the resident's own page, the report on someone's behalf, the chase list, the summary."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.health import rules, selectors, services
from linli.health.choices import OrderStatus, Symptom
from linli.health.forms_monitoring import (
    DayForm,
    DaySlotForm,
    ProxyReportForm,
    TemperatureForm,
)
from linli.health.models import (
    HealthSettings,
    Monitoring,
    QuarantineOrder,
    TemperatureReport,
)
from linli.health.permissions import (
    PROXY_REPORT_ROLES,
    VIEW_ROLES,
    has_role,
)
from linli.health.views_monitoring.common import (
    SLOT_LABELS,
    _clock,
    _labelled,
    _report_message,
    _safe_next,
    current_slot,
    require,
)
from linli.lib import scope
from linli.lib.views import apply_errors, as_id
from linli.registry.models import Community, Person

# --- temperatures: the resident, the chase list, the summary ---


@login_required
def me(request: HttpRequest) -> HttpResponse:
    """The resident's own page: each monitored member of the household, today's slots, a big simple form."""
    user: Any = request.user
    if not getattr(user, "is_resident", False):
        raise PermissionDenied(_("本页面供居民上报本户体温；工作人员请在人员页面代报"))
    if not user.household_id:
        return render(request, "home_resident_unlinked.html")
    today = timezone.localdate()
    clock = rules.settings_for(user.street_id) if user.street_id else HealthSettings()
    monitorings = list(
        Monitoring.objects.filter(selectors.monitored_on(today), household_id=user.household_id).select_related(
            "person"
        )
    )
    per_day: dict[int, int] = {}
    people: dict[int, Person] = {}
    for monitoring in monitorings:
        per_day[monitoring.person_id] = max(per_day.get(monitoring.person_id, 0), monitoring.reports_per_day)
        people[monitoring.person_id] = monitoring.person
    forms: dict[int, TemperatureForm] = {}
    status = 200
    if request.method == "POST":
        posted = as_id(request.POST.get("person", ""))
        person = people.get(posted) if posted is not None else None
        if person is None:
            # A member not under monitoring today, or someone else's: nothing to report here.
            raise Http404
        form = TemperatureForm(request.POST, prefix=f"p{person.pk}")
        if form.is_valid():
            try:
                outcome = services.temperature_report(
                    person,
                    temperature=form.cleaned_data["temperature"],
                    symptoms=form.cleaned_data["symptoms"],
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                _report_message(request, outcome, person.name)
                return redirect("health:me")
        forms[person.pk] = form
        status = 400
    reports: dict[int, dict[int, TemperatureReport]] = {}
    for report in TemperatureReport.objects.filter(person_id__in=list(people), date=today):
        reports.setdefault(report.person_id, {})[report.slot] = report
    slot_times = {1: clock.morning_slot, 2: clock.afternoon_slot}
    now_slot = current_slot(clock)
    members = []
    for person_pk, person in sorted(people.items()):
        slots = [
            {
                "slot": slot,
                "label": SLOT_LABELS[slot],
                "time": slot_times[slot],
                "report": reports.get(person_pk, {}).get(slot),
            }
            for slot in (1, 2)[: per_day[person_pk]]
        ]
        members.append(
            {
                "person": person,
                "slots": slots,
                # Reported for the slot now open (or for every slot of the day): the page folds the form away.
                "reported_now": all(s["report"] for s in slots)
                or any(s["report"] and s["slot"] == now_slot for s in slots),
                "form": forms.get(person_pk) or TemperatureForm(prefix=f"p{person_pk}"),
            }
        )
    context = {
        "members": members,
        "clock": clock,
        "today": today,
        "slot": now_slot,
        "slot_label": SLOT_LABELS[now_slot],
        "symptoms": Symptom.choices,
    }
    return render(request, "health/me.html", context, status=status)


@login_required
def chase(request: HttpRequest) -> HttpResponse:
    """Who has not reported for a day's slot (the 16:00 chase list), with a phone to call."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    clock = _clock(user)
    form = DaySlotForm(request.GET or None)
    today = timezone.localdate()
    date, slot = today, current_slot(clock)
    if form.is_valid():
        date = form.cleaned_data["date"] or today
        slot = form.cleaned_data["slot"] or slot
    if date > today:
        date = today
    found = selectors.chase(user, date, slot)
    context = {
        "form": DaySlotForm(initial={"date": date, "slot": slot}),
        "date": date,
        "slot": slot,
        "slot_label": SLOT_LABELS[slot],
        "clock": clock,
        "rows": found.rows,
        "truncated": found.truncated,
        "limit": selectors.CHASE_LIMIT,
        "due": found.due,
        "reported": found.reported,
        "missing_count": found.missing,
        "can_reveal": getattr(user, "can_reveal", False),
        "can_report": has_role(user, PROXY_REPORT_ROLES),
        "here": request.get_full_path(),
    }
    return render(request, "health/chase.html", context)


@login_required
def summary(request: HttpRequest) -> HttpResponse:
    """The day's summary per community (reports, missing, fevers), due to the street by 17:00."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    clock = _clock(user)
    form = DayForm(request.GET or None)
    today = timezone.localdate()
    date = form.cleaned_data["date"] or today if form.is_valid() else today
    rows: list[dict[str, Any]] = []
    totals = {"monitored": 0, "reported_morning": 0, "missing_morning": 0, "reported_afternoon": 0}
    totals.update({"missing_afternoon": 0, "fever": 0, "symptoms": 0, "open_escalations": 0})
    for row in selectors.daily_summary(user, date):
        afternoon_due = row.reported_afternoon + row.missing_afternoon
        rows.append(
            {
                "row": row,
                "morning_pct": round(100 * row.reported_morning / row.monitored) if row.monitored else 0,
                "afternoon_due": afternoon_due,
                "afternoon_pct": round(100 * row.reported_afternoon / afternoon_due) if afternoon_due else 0,
            }
        )
        for key in totals:
            totals[key] += getattr(row, key)
    # Zero reports (O1): a community with nobody to monitor still appears, so the street sees it reported.
    listed = {item["row"].community_id for item in rows}
    for community_id, name in scope.visible(Community.objects.order_by("name"), user).values_list("pk", "name"):
        if community_id not in listed:
            empty = selectors.CommunitySummary(community_id, name, 0, 0, 0, 0, 0, 0, 0, 0)
            rows.append({"row": empty, "morning_pct": 0, "afternoon_due": 0, "afternoon_pct": 0, "zero": True})
    monitored, afternoon_due = totals["monitored"], totals["reported_afternoon"] + totals["missing_afternoon"]
    context = {
        "form": DayForm(initial={"date": date}),
        "date": date,
        "clock": clock,
        "rows": rows,
        "totals": totals,
        "totals_afternoon_due": afternoon_due,
        "totals_morning_pct": round(100 * totals["reported_morning"] / monitored) if monitored else 0,
        "totals_afternoon_pct": round(100 * totals["reported_afternoon"] / afternoon_due) if afternoon_due else 0,
        "is_today": date == today,
        # Before the afternoon slot of today nobody is late for it yet: the chart says so instead of "未报".
        "afternoon_open": date < today or current_slot(clock) == 2,
    }
    return render(request, "health/summary.html", context)


@login_required
def person_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Report a person's temperature on their behalf (代报), from the chase list or a household visit."""
    user: Any = request.user
    require(user, PROXY_REPORT_ROLES)
    person = scope.get_visible_or_404(
        Person.objects.select_related("household__compound", "household__building", "household__unit"), user, pk=pk
    )
    form = ProxyReportForm(request.POST or None)
    if request.method == "POST":
        if not scope.can_edit(person, user):
            raise Http404
        if form.is_valid():
            try:
                outcome = services.temperature_report(
                    person,
                    temperature=form.cleaned_data["temperature"],
                    symptoms=form.cleaned_data["symptoms"],
                    slot=form.cleaned_data["slot"],
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                _report_message(request, outcome, person.name)
                return redirect(_safe_next(request) or reverse("health:person_report", kwargs={"pk": person.pk}))
    today = timezone.localdate()
    context = {
        "person": person,
        "household": person.household,
        "form": form,
        "next": _safe_next(request),
        "today_reports": {r.slot: r for r in TemperatureReport.objects.filter(person=person, date=today)},
        "monitorings": list(
            Monitoring.objects.filter(selectors.monitored_on(today), person=person).select_related("order")
        ),
        "order": QuarantineOrder.objects.filter(person=person, status=OrderStatus.ACTIVE).first(),
        "reports": _labelled(
            TemperatureReport.objects.filter(person=person)
            .select_related("reported_by")
            .order_by("-date", "-slot")[:10]
        ),
        "can_reveal": getattr(user, "can_reveal", False),
    }
    return render(request, "health/person_report.html", context, status=400 if request.method == "POST" else 200)
