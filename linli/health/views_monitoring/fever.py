"""Fever escalations (H3): the list, open first, and one escalation's six timed steps."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.health import services
from linli.health.choices import EscalationStatus, EscalationStep
from linli.health.forms_monitoring import (
    StepDoneForm,
)
from linli.health.models import (
    FeverEscalation,
    QuarantineOrder,
)
from linli.health.permissions import (
    ESCALATION_ROLES,
    VIEW_ROLES,
    has_role,
)
from linli.health.views_monitoring.common import (
    ESCALATION_LIMIT,
    _is_htmx,
    require,
)
from linli.lib import scope

# --- fever escalations ---


def _with_overdue(escalation: FeverEscalation, now: datetime.datetime) -> dict[str, Any]:
    steps = list(escalation.steps.all())
    overdue = [s for s in steps if s.done_at is None and s.due_at < now]
    return {
        "escalation": escalation,
        "steps": steps,
        "done": sum(1 for s in steps if s.done_at is not None),
        "overdue": overdue,
        "next": next((s for s in steps if s.done_at is None), None),
    }


@login_required
def escalations(request: HttpRequest) -> HttpResponse:
    """Fever escalations in scope: open ones first, overdue steps flagged."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    now = timezone.now()
    qs = (
        scope.visible(FeverEscalation.objects.all(), user)
        .select_related("person", "household__compound", "household__building", "household__unit")
        .prefetch_related("steps")
        .annotate(
            open_first=Case(
                When(status=EscalationStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("open_first", "-opened_at", "-pk")
    )
    rows = [_with_overdue(escalation, now) for escalation in qs[:ESCALATION_LIMIT]]
    template = "health/_escalation_rows.html" if _is_htmx(request) else "health/escalations.html"
    return render(request, template, {"rows": rows, "now": now, "limit": ESCALATION_LIMIT})


@login_required
def escalation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One escalation's six timed steps, each done with the time and the person (H3)."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    escalation = scope.get_visible_or_404(
        FeverEscalation.objects.select_related(
            "person", "household__compound", "household__building", "household__unit", "opened_by", "report"
        ),
        user,
        pk=pk,
    )
    status = 200
    if request.method == "POST":
        require(user, ESCALATION_ROLES)
        if not scope.can_edit(escalation, user):
            raise Http404
        form = StepDoneForm(request.POST)
        if form.is_valid():
            try:
                record = services.escalation_step_done(
                    escalation, step=form.cleaned_data["step"], note=form.cleaned_data["note"], actor=user
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                status = 400
            else:
                messages.success(
                    request,
                    _("已完成“%(step)s”（%(t)s）。")
                    % {"step": record.get_step_display(), "t": timezone.localtime(record.done_at).strftime("%H:%M")},
                )
                escalation.refresh_from_db()
                if escalation.status == EscalationStatus.CLOSED:
                    messages.success(request, _("六个环节均已完成，本次发热处置结束。"))
                return redirect("health:escalation", pk=escalation.pk)
        else:
            messages.error(request, _("未知的处置环节，请刷新页面后重试。"))
            status = 400
    now = timezone.now()
    steps = list(escalation.steps.select_related("done_by"))
    can_act = (
        has_role(user, ESCALATION_ROLES)
        and escalation.status == EscalationStatus.OPEN
        and scope.can_edit(escalation, user)
    )
    ready = {s.step for s in steps if s.done_at is None} - {
        str(step)
        for step, needed in services.STEP_NEEDS.items()
        if any(s.step == needed and s.done_at is None for s in steps)
    }
    context = {
        "escalation": escalation,
        "person": escalation.person,
        "household": escalation.household,
        "steps": [
            {"record": s, "overdue": s.done_at is None and s.due_at < now, "ready": s.step in ready} for s in steps
        ],
        "can_act": can_act,
        "now": now,
        "order": QuarantineOrder.objects.filter(person_id=escalation.person_id).order_by("-pk").first(),
        "step_labels": dict(EscalationStep.choices),
    }
    template = "health/_escalation_steps.html" if _is_htmx(request) else "health/escalation.html"
    return render(request, template, context, status=status)
