"""Pages of the gate for the community and the street: rules and checkpoints of a compound (A1, A10),
the duty roster (A8), the live board of who is out and who is overdue (A3), the daily public board (A9).

Every page is for staff with a place in the tree; objects are read through ``linli.lib.scope`` (out of
scope is 404), and changes need the role (403) as well as the scope.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.accounts.models import User
from linli.gate import board, duty, rules, services
from linli.gate.forms_duty import AssignmentForm, CheckpointForm, RulesForm, ShiftForm
from linli.gate.models import Checkpoint, DutyAssignment, GateAlert, GateRules, QuotaViolation, Shift
from linli.lib import scope
from linli.lib.views import apply_errors, posted_pk
from linli.registry.models import Compound

# --- access -------------------------------------------------------------------------------------------


def _staff(user: Any) -> Any:
    """Gate management pages are for staff with a place in the tree; residents and suppliers are refused."""
    if scope.is_unrestricted(user):
        return user
    if user.is_resident or scope.user_level(user) is None:
        raise PermissionDenied(_("无权访问门岗管理页面"))
    return user


def _compound(user: Any, pk: int) -> Compound:
    return scope.get_visible_or_404(Compound.objects.select_related("community", "street"), user, pk=pk)


def _checkpoint(user: Any, pk: int) -> Checkpoint:
    checkpoint = scope.get_visible_or_404(Checkpoint.objects.select_related("compound"), user, pk=pk)
    # A guard bound to one checkpoint works only there (as on the checkpoint page).
    if getattr(user, "checkpoint_id", None) and user.checkpoint_id != checkpoint.pk and not user.is_superuser:
        raise Http404
    return checkpoint


def _may_set_rules(user: Any, compound: Compound) -> bool:
    return rules.can_set_rules(user) and scope.can_edit(compound, user)


def _date_param(value: str | None, default: datetime.date) -> datetime.date:
    try:
        parsed = parse_date(value or "")
    except ValueError:
        parsed = None
    return parsed if parsed is not None and duty.date_error(parsed) is None else default


# --- rules and checkpoints (A1, A10) ------------------------------------------------------------------


@login_required
def rules_index(request: HttpRequest) -> HttpResponse:
    """The compounds the account sees, with their risk level, mode, 六个一 and checkpoints (read only)."""
    user = _staff(request.user)
    compounds = list(scope.visible(Compound.objects.select_related("community"), user).order_by("community_id", "code"))
    ids = [compound.pk for compound in compounds]
    saved = {r.compound_id: r for r in GateRules.objects.filter(compound_id__in=ids)}
    checkpoints: dict[int, list[Checkpoint]] = {}
    for checkpoint in Checkpoint.objects.filter(compound_id__in=ids, is_active=True).order_by("code"):
        checkpoints.setdefault(checkpoint.compound_id, []).append(checkpoint)
    rows = [
        {
            "compound": compound,
            # Not saved yet: the defaults, shown without writing anything.
            "rules": saved.get(compound.pk) or GateRules(compound=compound),
            "checkpoints": checkpoints.get(compound.pk, []),
        }
        for compound in compounds
    ]
    return render(request, "gate/rules_index.html", {"rows": rows, "six_total": len(GateRules.SIX_FIELDS)})


def _rules_initial(gate_rules: GateRules) -> dict[str, Any]:
    return {name: getattr(gate_rules, name) for name in rules.RULE_FIELDS}


@login_required
def rules_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request.user)
    compound = _compound(user, pk)
    may_edit = _may_set_rules(user, compound)
    if request.method == "POST" and not may_edit:
        raise PermissionDenied(_("只有社区干部和街道指挥部可以修改出入规则"))
    gate_rules = services.rules_for(compound)
    form = RulesForm(request.POST if request.method == "POST" else None, initial=_rules_initial(gate_rules))
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.rules_update(rules=gate_rules, actor=user, request=request, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存出入规则"))
                return redirect("gate:rules", pk=compound.pk)
    if not may_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "compound": compound,
        "rules": gate_rules,
        "form": form,
        "may_edit": may_edit,
        "six_total": len(GateRules.SIX_FIELDS),
        "checkpoints": list(Checkpoint.objects.filter(compound=compound, is_active=True)),
    }
    return render(request, "gate/rules.html", context, status=400 if form.is_bound else 200)


@login_required
def checkpoint_admin(request: HttpRequest, pk: int) -> HttpResponse:
    """The compound's checkpoints: add, rename, deactivate and reactivate (POSTed ``action``)."""
    user = _staff(request.user)
    compound = _compound(user, pk)
    may_edit = _may_set_rules(user, compound)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not may_edit:
        raise PermissionDenied(_("只有社区干部和街道指挥部可以管理卡口"))
    form = CheckpointForm(request.POST if action == "create" else None, prefix="new")
    rename_errors: dict[int, list[str]] = {}
    if action:
        done = _checkpoint_action(request, compound, action, form, rename_errors)
        if done:
            return redirect("gate:checkpoint_admin", pk=compound.pk)
    checkpoints = list(Checkpoint.objects.filter(compound=compound).order_by("-is_active", "code"))
    context = {
        "compound": compound,
        "checkpoints": checkpoints,
        "form": form,
        "may_edit": may_edit,
        "rename_errors": rename_errors,
        "active_count": sum(1 for c in checkpoints if c.is_active),
    }
    return render(request, "gate/checkpoints.html", context, status=400 if action else 200)


def _checkpoint_action(
    request: HttpRequest, compound: Compound, action: str, form: CheckpointForm, rename_errors: dict[int, list[str]]
) -> bool:
    user = request.user
    if action == "create":
        if not form.is_valid():
            return False
        try:
            services.checkpoint_create(
                compound=compound, name=form.cleaned_data["name"], note=form.cleaned_data["note"], actor=user
            )
        except services.GateError as exc:
            form.add_error("name", str(exc))
            return False
        except ValidationError as exc:
            apply_errors(form, exc)
            return False
        messages.success(request, _("已添加卡口，并按默认班次建立了值班表"))
        return True
    if action not in ("rename", "deactivate", "activate"):
        return False
    checkpoint = scope.get_editable_or_404(
        Checkpoint.objects.filter(compound=compound), user, pk=posted_pk(request, "checkpoint")
    )
    try:
        if action == "rename":
            rules.checkpoint_update(
                checkpoint=checkpoint,
                actor=user,
                name=request.POST.get("name", ""),
                note=request.POST.get("note", ""),
                request=request,
            )
            messages.success(request, _("已保存卡口"))
        else:
            active = action == "activate"
            rules.checkpoint_update(checkpoint=checkpoint, actor=user, is_active=active, request=request)
            messages.success(request, _("已启用卡口") if active else _("已停用卡口"))
            if not active and not Checkpoint.objects.filter(compound=compound, is_active=True).exists():
                messages.warning(request, _("本小区已没有启用的卡口"))
    except ValidationError as exc:
        rename_errors[checkpoint.pk] = list(exc.messages)
        return False
    return True


# --- duty roster (A8) ---------------------------------------------------------------------------------


@login_required
def duty_roster(request: HttpRequest, pk: int) -> HttpResponse:
    """A week of the checkpoint's shifts with who is on them; gaps ahead flagged; arranging by POST."""
    user = _staff(request.user)
    checkpoint = _checkpoint(user, pk)
    may_arrange = duty.can_arrange(user) and scope.can_edit(checkpoint, user)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and not may_arrange:
        raise PermissionDenied(_("只有社区干部、网格员和街道指挥部可以排班"))
    today = timezone.localdate()
    shifts = duty.shifts_create_default(checkpoint) if may_arrange else list(checkpoint.shifts.order_by("order"))
    on_duty_day = duty.duty_day(shifts)  # yesterday while its night shift is still on
    start = _date_param(request.GET.get("start") or request.POST.get("start"), on_duty_day)
    candidates = list(duty.staff_candidates(checkpoint, user)) if may_arrange else []
    assign_form = AssignmentForm(
        request.POST if action == "assign" else None,
        shifts=shifts,
        candidates=candidates,
        prefix="assign",
        initial={"date": max(start, on_duty_day)},
    )
    shift_form = ShiftForm(request.POST if action == "shift_add" else None, prefix="shift")
    shift_errors: dict[int, list[str]] = {}
    if action:
        done = _duty_action(request, checkpoint, action, assign_form, shift_form, shift_errors, candidates)
        if done:
            return redirect(f"{request.path}?start={start.isoformat()}")
    week = duty.roster(checkpoint, start)
    context = {
        "checkpoint": checkpoint,
        "compound": checkpoint.compound,
        "week": week,
        "may_arrange": may_arrange,
        "assign_form": assign_form,
        "shift_form": shift_form,
        "shift_errors": shift_errors,
        "shifts": shifts,
        "start": start,
        "prev": start - datetime.timedelta(days=duty.WEEK_DAYS),
        "next": start + datetime.timedelta(days=duty.WEEK_DAYS),
        "today": today,
    }
    return render(request, "gate/duty.html", context, status=400 if action else 200)


def _duty_action(
    request: HttpRequest,
    checkpoint: Checkpoint,
    action: str,
    assign_form: AssignmentForm,
    shift_form: ShiftForm,
    shift_errors: dict[int, list[str]],
    candidates: list[User],
) -> bool:
    user = request.user
    try:
        if action == "assign":
            if not assign_form.is_valid():
                return False
            data = assign_form.cleaned_data
            shift = scope.get_editable_or_404(Shift.objects.filter(checkpoint=checkpoint), user, pk=data["shift"])
            person = next((u for u in candidates if u.pk == data["user"]), None) if data["user"] else None
            try:
                duty.assignment_add(
                    shift=shift,
                    date=data["date"],
                    actor=user,
                    user=person,
                    volunteer_name=data["volunteer_name"],
                    volunteer_phone=data["volunteer_phone"],
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(assign_form, exc)
                return False
            messages.success(request, _("已排班"))
            return True
        if action == "unassign":
            assignment = scope.get_editable_or_404(
                DutyAssignment.objects.filter(shift__checkpoint=checkpoint).select_related("shift"),
                user,
                pk=posted_pk(request, "assignment"),
            )
            duty.assignment_remove(assignment=assignment, actor=user, request=request)
            messages.success(request, _("已移除排班"))
            return True
        if action == "shift_add":
            if not shift_form.is_valid():
                return False
            try:
                duty.shift_create(checkpoint=checkpoint, actor=user, request=request, **shift_form.cleaned_data)
            except ValidationError as exc:
                apply_errors(shift_form, exc)
                return False
            messages.success(request, _("已添加班次"))
            return True
        if action in ("shift_save", "shift_delete"):
            shift = scope.get_editable_or_404(
                Shift.objects.filter(checkpoint=checkpoint), user, pk=posted_pk(request, "shift")
            )
            if action == "shift_delete":
                duty.shift_delete(shift=shift, actor=user, request=request)
                messages.success(request, _("已删除班次"))
                return True
            form = ShiftForm(request.POST, prefix=f"s{shift.pk}")
            if not form.is_valid():
                shift_errors[shift.pk] = [str(e) for errors in form.errors.values() for e in errors]
                return False
            try:
                duty.shift_update(shift=shift, actor=user, request=request, **form.cleaned_data)
            except ValidationError as exc:
                shift_errors[shift.pk] = list(exc.messages)
                return False
            messages.success(request, _("已保存班次"))
            return True
    except duty.DutyError as exc:
        messages.error(request, str(exc))
        return True
    return False


@login_required
def duty_mine(request: HttpRequest) -> HttpResponse:
    """The account's own shifts from yesterday on, with sign-in and sign-out buttons."""
    user = _staff(request.user)
    now = timezone.now()
    rows = [
        {
            "assignment": assignment,
            "bounds": duty.shift_bounds(assignment.shift, assignment.date),
            "can_sign_in": duty.can_sign_in(assignment, now),
            "can_sign_out": duty.can_sign_out(assignment, now),
        }
        for assignment in duty.my_assignments(user, now=now)
    ]
    return render(request, "gate/duty_mine.html", {"rows": rows})


@login_required
@require_POST
def duty_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign in (``action=in``) or out (``action=out``) of one's own shift; a clear refusal otherwise."""
    user = _staff(request.user)
    assignment = scope.get_visible_or_404(DutyAssignment.objects.select_related("shift"), user, pk=pk)
    action = request.POST.get("action", "")
    try:
        if action == "in":
            duty.sign_in(assignment=assignment, user=user)
            messages.success(request, _("签到成功"))
        elif action == "out":
            duty.sign_out(assignment=assignment, user=user)
            messages.success(request, _("签退成功"))
        else:
            messages.error(request, _("请选择签到或签退"))
    except duty.DutyError as exc:
        messages.error(request, str(exc))
    return redirect("gate:duty_mine")


# --- live board (A3) ----------------------------------------------------------------------------------


@login_required
def live_index(request: HttpRequest) -> HttpResponse:
    user = _staff(request.user)
    return render(request, "gate/live_index.html", {"rows": board.live_overview(user)})


def _live_context(user: Any, compound: Compound) -> dict[str, Any]:
    live = board.live_compound(compound)
    return {
        "compound": compound,
        "live": live,
        "alerts": [(alert, board.alert_person(alert)) for alert in live.alerts],
        "may_ack": rules.can_acknowledge(user) and scope.can_edit(compound, user),
    }


@login_required
def live(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request.user)
    compound = _compound(user, pk)
    return render(request, "gate/live.html", _live_context(user, compound))


@login_required
def live_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's lists alone: what the live page polls every few seconds (HTMX)."""
    user = _staff(request.user)
    compound = _compound(user, pk)
    return render(request, "gate/live_panel.html", _live_context(user, compound))


def _after_ack(request: HttpRequest, user: Any, compound_id: int) -> HttpResponse:
    compound = _compound(user, compound_id)
    if request.headers.get("HX-Request"):
        return render(request, "gate/live_panel.html", _live_context(user, compound))
    return redirect("gate:live", pk=compound.pk)


@login_required
@require_POST
def alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request.user)
    alert = scope.get_visible_or_404(GateAlert.objects.all(), user, pk=pk)
    if not (rules.can_acknowledge(user) and scope.can_edit(alert, user)):
        raise PermissionDenied(_("只有社区干部、网格员和街道指挥部可以处理预警"))
    if rules.alert_acknowledge(alert=alert, actor=user):
        messages.success(request, _("已标记为已处理"))
    return _after_ack(request, user, alert.compound_id)


@login_required
@require_POST
def violation_ack(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request.user)
    violation = scope.get_visible_or_404(QuotaViolation.objects.all(), user, pk=pk)
    if not (rules.can_acknowledge(user) and scope.can_edit(violation, user)):
        raise PermissionDenied(_("只有社区干部、网格员和街道指挥部可以处理超次外出"))
    if rules.violation_acknowledge(violation=violation, actor=user):
        messages.success(request, _("已标记为已处理"))
    return _after_ack(request, user, violation.compound_id)


# --- public board (A9) --------------------------------------------------------------------------------


@login_required
def board_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request.user)
    compound = _compound(user, pk)
    today = timezone.localdate()
    date = _date_param(request.GET.get("date"), today)
    day = board.board_day(compound, date)
    context = {
        "compound": compound,
        "day": day,
        "prev": date - datetime.timedelta(days=1),
        "next": date + datetime.timedelta(days=1) if date < today else None,
    }
    return render(request, "gate/board.html", context)


@login_required
def board_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request.user)
    compound = _compound(user, pk)
    date = _date_param(request.GET.get("date"), timezone.localdate())
    response = HttpResponse(board.render_board_pdf(board.board_day(compound, date)), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="board-{compound.code}-{date.isoformat()}.pdf"'
    return response


urlpatterns = [
    path("rules/", rules_index, name="rules_index"),
    path("compound/<int:pk>/rules/", rules_edit, name="rules"),
    path("compound/<int:pk>/checkpoints/", checkpoint_admin, name="checkpoint_admin"),
    path("checkpoint/<int:pk>/duty/", duty_roster, name="duty"),
    path("duty/", duty_mine, name="duty_mine"),
    path("duty/<int:pk>/sign/", duty_sign, name="duty_sign"),
    path("live/", live_index, name="live_index"),
    path("compound/<int:pk>/live/", live, name="live"),
    path("compound/<int:pk>/live/panel/", live_panel, name="live_panel"),
    path("alert/<int:pk>/ack/", alert_ack, name="alert_ack"),
    path("violation/<int:pk>/ack/", violation_ack, name="violation_ack"),
    path("compound/<int:pk>/board/", board_page, name="board"),
    path("compound/<int:pk>/board.pdf", board_pdf, name="board_pdf"),
]
