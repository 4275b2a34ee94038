"""Pages of the gate: household passes, holds, printable cards, tickets and the resident's own pass (A2).

Staff pages are for the roles that edit the registry (``user.can_edit_registry``) and only for
households and compounds in their editable scope (404 otherwise, like missing). The resident sees
their own household's pass on ``my-pass/``. Writes go through ``linli.gate.services`` (one household)
and ``linli.gate.pass_admin`` (a compound in bulk).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.gate import cards, pass_admin, passes, services
from linli.gate.choices import HoldReason
from linli.gate.forms_passes import HoldForm, IssueForm, ReleaseForm, RevokeForm
from linli.gate.models import HouseholdHold, HouseholdPass, OutingTicket
from linli.lib import scope
from linli.lib.views import as_id
from linli.lib.wording import listed
from linli.registry.models import Building, Compound, Household

INDEX_LIMIT = 500  # compounds on the overview; a street has a few hundred


def require_pass_admin(user: Any) -> None:
    """Passes are issued by the roles that edit the registry (community, grid, street staff)."""
    if not getattr(user, "can_edit_registry", False) or getattr(user, "is_resident", False):
        raise PermissionDenied(_("只有社区干部、网格员和街道指挥部可以办理通行证"))


# --- one household ---


def _household_context(household: Household, user: Any) -> dict[str, Any]:
    today = timezone.localdate()
    members = list(household.members.order_by("pk"))
    history = list(
        HouseholdPass.objects.filter(household=household)
        .prefetch_related("members")
        .select_related("issued_by")
        .order_by("-issue_no")[:20]
    )
    current = next((item for item in history if item.is_active), None)
    holds = list(HouseholdHold.objects.filter(household=household).select_related("started_by", "released_by")[:20])
    open_holds = [hold for hold in holds if hold.released_at is None]
    hold = pass_admin.strongest_hold(hold.reason for hold in open_holds)
    status = pass_admin.pass_status(current, hold, today)
    current_members = {person.pk for person in current.members.all()} if current else set()
    default_members = current_members or {m.pk for m in [pass_admin.householder_choice(members)] if m is not None}
    return {
        "household": household,
        "members": members,
        "current": current,
        "current_members": [m for m in members if m.pk in current_members],
        "number": passes.format_number(current.number) if current else "",
        "qr": pass_admin.qr_svg(current.token) if current else "",
        "status": status,
        "status_label": pass_admin.STATUS_LABELS[status],
        "hold": hold,
        "hold_label": HoldReason(hold).label if hold else "",
        "open_holds": open_holds,
        "holds": holds,
        "history": history,
        "issue_form": IssueForm(household_members=members, initial={"members": sorted(default_members)}),
        "revoke_form": RevokeForm(),
        "hold_form": HoldForm(),
        "release_form": ReleaseForm(),
        "max_members": passes.MAX_MEMBERS,
    }


@login_required
def household_pass(request: HttpRequest, pk: int) -> HttpResponse:
    """A household's pass: the current one with its QR, the history, issue/reissue, revoke, holds."""
    user: Any = request.user
    require_pass_admin(user)
    household = scope.get_editable_or_404(Household.objects.select_related("compound", "building", "unit"), user, pk=pk)
    context = _household_context(household, user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        form: Any = None
        try:
            if action == "issue":
                form = IssueForm(request.POST, household_members=context["members"])
                if form.is_valid():
                    issued = services.pass_issue(household=household, members=form.cleaned_data["members"], actor=user)
                    messages.success(
                        request,
                        _("已发放第 %(n)s 次通行证，号码 %(number)s；此前的通行证已作废。")
                        % {"n": issued.issue_no, "number": passes.format_number(issued.number)},
                    )
                    return redirect("gate:household_pass", pk=household.pk)
                context["issue_form"] = form
            elif action == "revoke":
                form = RevokeForm(request.POST)
                # Before the reason: without a pass the page has no revoke form to show the reason's error on.
                current = HouseholdPass.objects.filter(household=household, is_active=True).first()
                if current is None:
                    raise services.GateError(_("本户没有有效的通行证，无需作废"))
                if form.is_valid():
                    services.pass_revoke(household_pass=current, actor=user, reason=form.cleaned_data["reason"])
                    messages.success(request, _("通行证已作废，卡口将拒绝这张卡。"))
                    return redirect("gate:household_pass", pk=household.pk)
                context["revoke_form"] = form
            elif action == "hold_set":
                form = HoldForm(request.POST)
                if form.is_valid():
                    hold = services.hold_set(
                        household=household,
                        reason=form.cleaned_data["reason"],
                        note=form.cleaned_data["note"],
                        source="gate",
                        actor=user,
                    )
                    messages.success(
                        request,
                        _("已暂停本户通行（%(reason)s），解除前卡口不放行外出。")
                        % {"reason": hold.get_reason_display()},
                    )
                    return redirect("gate:household_pass", pk=household.pk)
                context["hold_form"] = form
            elif action == "hold_release":
                form = ReleaseForm(request.POST)
                if form.is_valid():
                    released = services.hold_release(
                        household=household, reason=form.cleaned_data["reason"] or None, actor=user
                    )
                    if released:
                        messages.success(request, _("已解除 %(n)s 项暂停。") % {"n": released})
                    else:
                        messages.warning(request, _("本户没有需要解除的暂停。"))
                    return redirect("gate:household_pass", pk=household.pk)
                context["release_form"] = form
            else:
                messages.error(request, _("未知的操作，请刷新页面后重试。"))
        except services.GateError as exc:
            messages.error(request, str(exc))
        return render(request, "gate/pass_household.html", context, status=400)
    return render(request, "gate/pass_household.html", context)


# --- compounds ---


@login_required
def passes_index(request: HttpRequest) -> HttpResponse:
    """The compounds in the account's scope with their households, valid passes and holds."""
    user: Any = request.user
    require_pass_admin(user)
    compounds = list(
        scope.editable(Compound.objects.select_related("community"), user).order_by("code")[: INDEX_LIMIT + 1]
    )
    truncated = len(compounds) > INDEX_LIMIT
    compounds = compounds[:INDEX_LIMIT]
    counts = pass_admin.compound_counts([c.pk for c in compounds])
    rows: list[dict[str, Any]] = []
    for compound in compounds:
        count = counts[compound.pk]
        missing = count["households"] - count["valid"] - count["held"]
        rows.append({"compound": compound, **count, "missing": missing})
    return render(request, "gate/passes_index.html", {"rows": rows, "truncated": truncated, "limit": INDEX_LIMIT})


@login_required
def compound_passes(request: HttpRequest, pk: int) -> HttpResponse:
    """Every household of a compound with its pass status; issue the missing passes in bulk."""
    user: Any = request.user
    require_pass_admin(user)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=pk)
    if request.method == "POST":
        if request.POST.get("action") != "issue_missing":
            messages.error(request, _("未知的操作，请刷新页面后重试。"))
            return redirect("gate:compound_passes", pk=compound.pk)
        outcome = pass_admin.passes_issue_missing(compound, user)
        text = _("已为 %(n)s 户发放通行证（指定户主外出）。") % {"n": outcome.issued}
        if outcome.held:
            text += _("%(n)s 户处于封控或居家观察，解除后再发。") % {"n": outcome.held}
        if outcome.no_members:
            text += _("%(n)s 户尚未登记人员，未能发证：%(rooms)s。") % {
                "n": outcome.no_members,
                "rooms": listed(outcome.skipped_rooms[:10]),
            }
        messages.success(request, text)
        return redirect("gate:compound_passes", pk=compound.pk)
    rows = pass_admin.compound_rows(compound)
    buildings = list(Building.objects.filter(compound_id=compound.pk).order_by("number", "name"))
    show = request.GET.get("show", "")
    building_id = as_id(request.GET.get("building"))
    shown = rows
    if building_id is not None:
        shown = [row for row in shown if row.building_id == building_id]
    if show in ("valid", "held", "none", "expired"):
        shown = [row for row in shown if row.status == show or (show == "none" and row.status == "pending")]
    totals = {key: sum(1 for row in rows if row.status == key) for key in pass_admin.STATUS_LABELS}
    context = {
        "compound": compound,
        "rules": services.rules_for(compound),
        "rows": shown,
        "total": len(rows),
        "totals": totals,
        "missing": totals["none"] + totals["expired"],
        "buildings": buildings,
        "show": show,
        "building_id": building_id,
    }
    return render(request, "gate/passes_compound.html", context)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
def cards_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The compound's valid pass cards (or one building's, or one household's), eight per A4 sheet."""
    user: Any = request.user
    require_pass_admin(user)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=pk)
    today = timezone.localdate()
    held = pass_admin.active_holds(compound.pk)
    items = (
        HouseholdPass.objects.filter(compound_id=compound.pk, is_active=True, valid_until__gte=today)
        .select_related("household__building", "household__unit")
        .prefetch_related("members")
        .order_by("household_id")
    )
    building, household = request.GET.get("building", ""), request.GET.get("household", "")
    if not all(as_id(value) is not None for value in (building, household) if value):
        # A mistyped link must not print the whole compound's cards instead of the one asked for.
        raise BadRequest
    if building:
        items = items.filter(household__building_id=int(building))
    if household:
        items = items.filter(household_id=int(household))
    chosen = [
        cards.pass_card(
            item,
            compound=compound.name,
            address=item.household.address,
            members=[person.name for person in item.members.all()],
        )
        for item in sorted(items, key=lambda item: pass_admin.room_order(item.household))
        if item.household_id not in held
    ]
    content = cards.render_cards(
        chosen,
        title=_("%(compound)s 出入通行证") % {"compound": compound.name},
        empty_text=_("没有可打印的有效通行证（暂停中的户不打印）"),
    )
    return _pdf(content, f"passes-{compound.code}.pdf")


def _ticket_period(request: HttpRequest, rules: Any) -> tuple[Any, Any, bool]:
    following = request.GET.get("period") == "next" or request.POST.get("period") == "next"
    start = pass_admin.period_of(rules, following=following)
    return start, pass_admin.period_end(rules, start), following


@login_required
def tickets(request: HttpRequest, pk: int) -> HttpResponse:
    """出入券: the tickets of the current (or next) period of a compound in ticket mode; issue them."""
    user: Any = request.user
    require_pass_admin(user)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=pk)
    rules = services.rules_for(compound)
    start, end, following = _ticket_period(request, rules)
    if request.method == "POST":
        try:
            if request.POST.get("action") != "issue":
                raise services.GateError(_("未知的操作，请刷新页面后重试。"))
            outcome = pass_admin.tickets_issue_period(compound, user, period_start=start)
        except services.GateError as exc:
            messages.error(request, str(exc))
        else:
            text = _("已发放 %(n)s 张出入券（%(start)s 至 %(end)s）。") % {
                "n": outcome.issued,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
            if outcome.held:
                text += _("%(n)s 户处于封控或居家观察，不发券。") % {"n": outcome.held}
            messages.success(request, text)
        url = redirect("gate:tickets", pk=compound.pk)
        if following:
            url["Location"] += "?period=next"
        return url
    issued = OutingTicket.objects.filter(compound_id=compound.pk, period_start=start)
    context = {
        "compound": compound,
        "rules": rules,
        "ticket_mode": pass_admin.ticket_mode(rules),
        "start": start,
        "end": end,
        "following": following,
        "households": Household.objects.filter(compound_id=compound.pk).count(),
        "issued": issued.count(),
        "collected": issued.filter(collected_at__isnull=False).count(),
        "held": len(pass_admin.active_holds(compound.pk)),
    }
    return render(request, "gate/tickets.html", context)


@login_required
def tickets_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The period's tickets not yet collected, eight per A4 sheet, to hand out door to door."""
    user: Any = request.user
    require_pass_admin(user)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=pk)
    rules = services.rules_for(compound)
    start, end, _following = _ticket_period(request, rules)
    items = (
        OutingTicket.objects.filter(compound_id=compound.pk, period_start=start, collected_at__isnull=True)
        .select_related("household__building", "household__unit")
        .order_by("household_id")
    )
    chosen = [
        cards.ticket_card(
            item, compound=compound.name, address=item.household.address, period_start=start, period_end=end
        )
        for item in sorted(items, key=lambda item: pass_admin.room_order(item.household))
    ]
    content = cards.render_cards(
        chosen,
        title=_("%(compound)s 出入券") % {"compound": compound.name},
        empty_text=_("本期还没有发放出入券，请先在出入券页面发放"),
    )
    return _pdf(content, f"tickets-{compound.code}-{start.isoformat()}.pdf")


# --- the resident ---


def resident_pass_context(household: Household) -> dict[str, Any]:
    """What the resident's phone shows: the pass (or why there is none) and, in ticket mode, the ticket."""
    today = timezone.localdate()
    current = HouseholdPass.objects.filter(household=household, is_active=True).prefetch_related("members").first()
    hold = services.active_hold(household.pk)
    status = pass_admin.pass_status(current, hold, today)
    rules = services.rules_for(household.compound)
    context: dict[str, Any] = {
        "household": household,
        "current": current,
        "status": status,
        "status_label": pass_admin.STATUS_LABELS[status],
        "hold": hold,
        "hold_label": HoldReason(hold).label if hold else "",
        "hold_explanation": pass_admin.HOLD_EXPLANATIONS[HoldReason(hold)] if hold else "",
        "rules": rules,
        "closed": rules.is_closed,
        "ticket_mode": pass_admin.ticket_mode(rules) and rules.is_closed,
        "qr": "",
        "number": "",
        "members": [],
        "ticket": None,
    }
    if current is not None and status in ("valid", "pending"):
        context.update(
            qr=pass_admin.qr_svg(current.token),
            number=passes.format_number(current.number),
            members=[person.name for person in current.members.all()],
        )
    if context["ticket_mode"] and hold is None:
        start = pass_admin.period_of(rules)
        ticket = OutingTicket.objects.filter(household=household, period_start=start).first()
        context.update(
            ticket=ticket,
            ticket_start=start,
            ticket_end=pass_admin.period_end(rules, start),
            ticket_qr=pass_admin.qr_svg(ticket.token) if ticket and ticket.collected_at is None else "",
            ticket_number=passes.format_number(ticket.number) if ticket else "",
        )
    return context


@login_required
def my_pass(request: HttpRequest) -> HttpResponse:
    """The resident's household pass, big on the phone, to show at the gate."""
    user: Any = request.user
    if not getattr(user, "is_resident", False):
        raise PermissionDenied(_("本页面供居民出示本户通行证；工作人员请在户页面查看通行证"))
    if not user.household_id:
        return render(request, "home_resident_unlinked.html")
    household = scope.get_visible_or_404(
        Household.objects.select_related("compound", "building", "unit"), user, pk=user.household_id
    )
    return render(request, "gate/my_pass.html", resident_pass_context(household))


urlpatterns: list[URLPattern] = [
    path("passes/", passes_index, name="passes"),
    path("households/<int:pk>/pass/", household_pass, name="household_pass"),
    path("compounds/<int:pk>/passes/", compound_passes, name="compound_passes"),
    path("compounds/<int:pk>/cards.pdf", cards_pdf, name="cards_pdf"),
    path("compounds/<int:pk>/tickets/", tickets, name="tickets"),
    path("compounds/<int:pk>/tickets.pdf", tickets_pdf, name="tickets_pdf"),
    path("my-pass/", my_pass, name="my_pass"),
]
