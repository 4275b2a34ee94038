"""Pages of the gate desk: exempt passes (A4), visitors (A5), vehicles (A6) and parcels (A7).

The guard's pages hang off a checkpoint (``checkpoints/<pk>/…``); the checkpoint must be in the
account's scope and, for a guard bound to one checkpoint, be theirs (404 otherwise, like missing).
Exempt and vehicle passes are issued by community staff. Writes go through ``linli.gate.visitors``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.audit.services import audit_reveal
from linli.gate import passes, visitors
from linli.gate.choices import Verdict
from linli.gate.forms_visitors import (
    ExemptForm,
    ParcelForm,
    PickupForm,
    VehicleEntryForm,
    VehiclePassForm,
    VisitForm,
)
from linli.gate.models import ExemptPass, Parcel, VehiclePass, Visit
from linli.lib import scope
from linli.lib.idnumbers import normalise_id_number
from linli.lib.views import apply_errors, as_id
from linli.lib.wording import labelled, listed, sentences
from linli.registry.models import Compound, Household, Person

# Service error fields that the forms show under another field.
FIELD_ALIASES = {"host_household": "host_person", "person": "person_id_number", "visit": None}


def _checkpoint_nav(checkpoint: Any) -> dict[str, Any]:
    return {"checkpoint": checkpoint}


# --- exempt passes (A4) ---


@login_required
def exempt_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    visitors.require_staff(user)
    items = list(
        scope.visible(ExemptPass.objects.select_related("compound"), user).order_by("-created_at", "-id")[:200]
    )
    compounds = (
        list(scope.editable(Compound.objects.order_by("code"), user)[:200]) if visitors.can_manage_passes(user) else []
    )
    rows = [
        {"exempt": item, "status": visitors.exempt_status(item), "valid": visitors.exempt_is_valid(item)}
        for item in items
    ]
    return render(request, "gate/exempt_list.html", {"rows": rows, "compounds": compounds})


@login_required
def exempt_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visitors.require_pass_manager(user)
    compound = scope.get_editable_or_404(Compound.objects.all(), user, pk=pk)
    form = ExemptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = None
        number = normalise_id_number(data["person_id_number"])
        if number:
            person = (
                scope.visible(Person.objects.select_related("household"), user)
                .filter(id_number=number, household__compound_id=compound.pk)
                .first()
            )
            if person is None:
                form.add_error("person_id_number", _("本小区没有登记这个身份证号"))
        if not form.errors:
            try:
                exempt = visitors.exempt_create(
                    compound=compound,
                    actor=user,
                    kind=data["kind"],
                    name=data["name"],
                    organisation=data["organisation"],
                    proof=data["proof"],
                    valid_from=data["valid_from"],
                    valid_until=data["valid_until"],
                    person=person,
                )
            except ValidationError as exc:
                apply_errors(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("已办理免检通行证，可打印卡片。"))
                return redirect("gate:exempt_detail", pk=exempt.pk)
    return render(request, "gate/exempt_form.html", {"form": form, "compound": compound})


@login_required
def exempt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visitors.require_staff(user)
    exempt = scope.get_visible_or_404(ExemptPass.objects.select_related("compound", "person"), user, pk=pk)
    can_manage = visitors.can_manage_passes(user) and scope.can_edit(exempt, user)
    context = {
        "exempt": exempt,
        "status": visitors.exempt_status(exempt),
        "valid": visitors.exempt_is_valid(exempt),
        # The number, typed at the gate, is as good as the QR: likewise only for those who issue it.
        "number": passes.format_number(exempt.number) if can_manage else "",
        # The QR is a copy of the pass: only for those who issue it (the API withholds the token alike).
        "qr": visitors.qr_svg(exempt.token) if exempt.token and can_manage else "",
        "can_manage": can_manage,
    }
    return render(request, "gate/exempt_detail.html", context)


@login_required
@require_POST
def exempt_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visitors.require_pass_manager(user)
    exempt = scope.get_editable_or_404(ExemptPass.objects.all(), user, pk=pk)
    visitors.exempt_revoke(exempt=exempt, actor=user)
    messages.success(request, _("已作废该免检通行证。"))
    return redirect("gate:exempt_detail", pk=exempt.pk)


@login_required
def exempt_card(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visitors.require_pass_manager(user)
    exempt = scope.get_editable_or_404(ExemptPass.objects.select_related("compound"), user, pk=pk)
    response = HttpResponse(visitors.exempt_card_pdf(exempt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="exempt-{exempt.number}.pdf"'
    return response


# --- visitors (A5) ---


@login_required
def visits(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    checkpoint = visitors.desk_checkpoint(user, pk)
    context = {
        **_checkpoint_nav(checkpoint),
        "open_visits": list(visitors.visits_open(checkpoint)[:200]),
        "recent": list(visitors.visits_recent(checkpoint)[:100]),
        "can_reveal": getattr(user, "can_reveal", False),
    }
    return render(request, "gate/visit_list.html", context)


@login_required
def visit_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    checkpoint = visitors.desk_checkpoint(user, pk)
    form = VisitForm(request.POST or None, compound_id=checkpoint.compound_id)
    if request.method == "POST" and request.POST.get("action") != "find" and form.is_valid():
        data = form.cleaned_data
        person_id = data["host_person"]
        household_id = None
        if person_id is not None:
            household_id = Person.objects.filter(pk=person_id).values_list("household_id", flat=True).first()
        try:
            visit = visitors.visit_register(
                checkpoint=checkpoint,
                actor=user,
                data=visitors.VisitInput(
                    name=data["name"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    temperature=data["temperature"],
                    health_code=data["health_code"],
                    coming_from=data["coming_from"],
                    from_key_area=data["from_key_area"],
                    itinerary_checked=data["itinerary_checked"],
                    purpose=data["purpose"],
                    client_uuid=data.get("client_uuid"),
                    host_household_id=household_id,
                    host_person_id=person_id,
                ),
            )
        except ValidationError as exc:
            apply_errors(form, exc, FIELD_ALIASES)
        else:
            if visit.verdict == Verdict.ALLOWED:
                messages.success(request, _("已登记，请接访住户陪同进入。离开时请销号。"))
            else:
                messages.error(request, _("拒绝进入：%(reason)s") % {"reason": visit.refusal})
            return redirect("gate:visits", pk=checkpoint.pk)
    return render(request, "gate/visit_form.html", {**_checkpoint_nav(checkpoint), "form": form})


@login_required
def visit_hosts(request: HttpRequest, pk: int) -> HttpResponse:
    """The households a room number matches, with their members to pick the escort (HTMX fragment)."""
    checkpoint = visitors.desk_checkpoint(request.user, pk)
    form = VisitForm(initial={"room": request.GET.get("room", "")}, compound_id=checkpoint.compound_id)
    return render(request, "gate/visit_hosts.html", {"form": form, "searched": bool(request.GET.get("room"))})


@login_required
@require_POST
def visit_checkout(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visit = visitors.desk_record(user, Visit.objects.all(), pk)
    try:
        visitors.visit_checkout(visit=visit, actor=user)
    except ValidationError as exc:
        messages.error(request, sentences(exc.messages))
    else:
        messages.success(request, _("%(name)s 已销号。") % {"name": visit.name})
    return redirect("gate:visits", pk=visit.checkpoint_id)


@login_required
@require_POST
def visit_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """A visitor's full ID number, for the roles whose work needs it; always audited."""
    user: Any = request.user
    if not getattr(user, "can_reveal", False):
        raise PermissionDenied(_("您的角色无权查看完整身份证号"))
    visit = scope.get_visible_or_404(Visit.objects.all(), user, pk=pk)
    audit_reveal(actor=user, obj=visit, field="id_number", request=request)
    return HttpResponse(format_html('<span class="masked">{}</span>', visit.id_number))


# --- vehicles (A6) ---


@login_required
def vehicles(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    checkpoint = visitors.desk_checkpoint(user, pk)
    form = VehicleEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = visitors.vehicle_entry_record(
                checkpoint=checkpoint,
                actor=user,
                plate=data["plate"],
                direction=data["direction"],
                emergency=data["emergency"],
                occupants=data["occupants"],
                max_temperature=data["max_temperature"],
                uuid=data.get("client_uuid"),
            )
        except ValidationError as exc:
            apply_errors(form, exc, FIELD_ALIASES)
        else:
            level = messages.SUCCESS if entry.verdict == Verdict.ALLOWED else messages.ERROR
            verdict = _("放行") if entry.verdict == Verdict.ALLOWED else _("拒绝")
            messages.add_message(request, level, labelled(f"{entry.plate} {verdict}", entry.message))
            return redirect("gate:vehicles", pk=checkpoint.pk)
    context = {
        **_checkpoint_nav(checkpoint),
        "form": form,
        "entries": list(visitors.vehicle_entries_recent(checkpoint)),
    }
    return render(request, "gate/vehicle_desk.html", context)


@login_required
def vehicle_passes(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    visitors.require_staff(user)
    items = list(
        scope.visible(
            VehiclePass.objects.select_related("household__building", "household__unit", "compound"), user
        ).order_by("compound_id", "plate")[:300]
    )
    can_manage = visitors.can_manage_passes(user)
    compounds = list(scope.editable(Compound.objects.order_by("code"), user)[:200]) if can_manage else []
    found: list[dict[str, Any]] = []
    compound_id = as_id(request.GET.get("compound"))
    room = request.GET.get("room", "").strip()
    if can_manage and compound_id is not None and room:
        if any(compound.pk == compound_id for compound in compounds):
            found = visitors.hosts_by_room(compound_id, room)
    context = {
        "items": items,
        "can_manage": can_manage,
        "compounds": compounds,
        "found": found,
        "room": room,
        "compound_id": compound_id,
    }
    return render(request, "gate/vehicle_passes.html", context)


@login_required
def vehicle_pass_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visitors.require_pass_manager(user)
    household = scope.get_editable_or_404(Household.objects.select_related("compound", "building", "unit"), user, pk=pk)
    form = VehiclePassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle_pass = visitors.vehicle_pass_create(
                household=household, actor=user, plate=form.cleaned_data["plate"]
            )
        except ValidationError as exc:
            apply_errors(form, exc, FIELD_ALIASES)
        else:
            messages.success(
                request,
                _("已为 %(room)s 登记车辆 %(plate)s。") % {"room": household.address, "plate": vehicle_pass.plate},
            )
            return redirect("gate:vehicle_passes")
    existing = list(VehiclePass.objects.filter(household=household, is_active=True))
    return render(request, "gate/vehicle_pass_form.html", {"form": form, "household": household, "existing": existing})


@login_required
@require_POST
def vehicle_pass_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    visitors.require_pass_manager(user)
    vehicle_pass = scope.get_editable_or_404(VehiclePass.objects.all(), user, pk=pk)
    visitors.vehicle_pass_revoke(vehicle_pass=vehicle_pass, actor=user)
    messages.success(request, _("已注销车辆 %(plate)s 的通行证。") % {"plate": vehicle_pass.plate})
    return redirect("gate:vehicle_passes")


# --- parcels (A7) ---


@login_required
def parcels(request: HttpRequest, pk: int) -> HttpResponse:
    """Waiting parcels and the pickup box: a code typed or a household pass scanned hands them over."""
    user: Any = request.user
    checkpoint = visitors.desk_checkpoint(user, pk)
    form = PickupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = visitors.parcels_pick_up(checkpoint=checkpoint, actor=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            apply_errors(form, exc, FIELD_ALIASES)
        else:
            rooms = listed(f"{p.household.address} {p.carrier or _('快递')}" for p in done)
            messages.success(request, _("已取件 %(n)s 件：%(rooms)s") % {"n": len(done), "rooms": rooms})
            return redirect("gate:parcels", pk=checkpoint.pk)
    waiting = list(visitors.parcels_waiting(checkpoint.compound_id)[:300])
    context = {
        **_checkpoint_nav(checkpoint),
        "form": form,
        "at_gate": [p for p in waiting if not p.contactless],
        "contactless": [p for p in waiting if p.contactless],
    }
    return render(request, "gate/parcel_list.html", context)


@login_required
def parcel_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    checkpoint = visitors.desk_checkpoint(user, pk)
    form = ParcelForm(request.POST or None, compound_id=checkpoint.compound_id)
    if request.method == "POST" and request.POST.get("action") != "find" and form.is_valid():
        household_id = form.cleaned_data["household"]
        household = (
            Household.objects.select_related("compound", "building", "unit")
            .filter(pk=household_id, compound_id=checkpoint.compound_id)
            .first()
            if household_id
            else None
        )
        if household is None:
            form.add_error("household", _("请先输入房号查找，再选择收件户"))
        else:
            try:
                logged = visitors.parcel_log(
                    checkpoint=checkpoint,
                    actor=user,
                    household=household,
                    carrier=form.cleaned_data["carrier"],
                    tracking=form.cleaned_data["tracking"],
                    client_uuid=form.cleaned_data.get("client_uuid"),
                )
            except ValidationError as exc:
                apply_errors(form, exc, FIELD_ALIASES)
            else:
                if logged.parcel.contactless:
                    messages.warning(
                        request,
                        _("%(room)s 暂停通行：已标记为无接触配送，请交志愿者送到门口。") % {"room": household.address},
                    )
                elif logged.notified is not None:
                    messages.success(
                        request, _("已登记，取件码已短信通知 %(phone)s。") % {"phone": logged.notified.masked_phone}
                    )
                else:
                    messages.warning(request, _("已登记，但本户没有登记手机号，未能发送短信，请电话通知。"))
                return redirect("gate:parcels", pk=checkpoint.pk)
    return render(request, "gate/parcel_form.html", {**_checkpoint_nav(checkpoint), "form": form})


@login_required
@require_POST
def parcel_delivered(request: HttpRequest, pk: int) -> HttpResponse:
    """A held household's parcel (sealed, home observation) left at its door by a volunteer."""
    user: Any = request.user
    parcel = visitors.desk_record(user, Parcel.objects.select_related("household__building", "household__unit"), pk)
    if not parcel.contactless:
        messages.error(request, _("该快递需凭取件码或通行证在卡口领取"))
    else:
        try:
            visitors.parcel_hand_over(parcel=parcel, actor=user)
        except ValidationError as exc:
            messages.error(request, sentences(exc.messages))
        else:
            messages.success(request, _("已确认送达 %(room)s。") % {"room": parcel.household.address})
    return redirect("gate:parcels", pk=parcel.checkpoint_id)


urlpatterns: list[URLPattern] = [
    path("exempt/", exempt_list, name="exempt_list"),
    path("compounds/<int:pk>/exempt/new/", exempt_create, name="exempt_create"),
    path("exempt/<int:pk>/", exempt_detail, name="exempt_detail"),
    path("exempt/<int:pk>/revoke/", exempt_revoke, name="exempt_revoke"),
    path("exempt/<int:pk>/card.pdf", exempt_card, name="exempt_card"),
    path("checkpoints/<int:pk>/visits/", visits, name="visits"),
    path("checkpoints/<int:pk>/visits/new/", visit_create, name="visit_create"),
    path("checkpoints/<int:pk>/visits/hosts/", visit_hosts, name="visit_hosts"),
    path("visits/<int:pk>/checkout/", visit_checkout, name="visit_checkout"),
    path("visits/<int:pk>/reveal/", visit_reveal, name="visit_reveal"),
    path("checkpoints/<int:pk>/vehicles/", vehicles, name="vehicles"),
    path("vehicle-passes/", vehicle_passes, name="vehicle_passes"),
    path("households/<int:pk>/vehicle-passes/new/", vehicle_pass_create, name="vehicle_pass_create"),
    path("vehicle-passes/<int:pk>/revoke/", vehicle_pass_revoke, name="vehicle_pass_revoke"),
    path("checkpoints/<int:pk>/parcels/", parcels, name="parcels"),
    path("checkpoints/<int:pk>/parcels/new/", parcel_create, name="parcel_create"),
    path("parcels/<int:pk>/delivered/", parcel_delivered, name="parcel_delivered"),
]
