"""Supplies pages: ordering (S3) on a phone — the resident's own page and the grid worker's proxy orders.

A resident orders for their household at ``supplies:me``; staff in ``PROXY_ORDER_ROLES`` find a
household in their scope at ``supplies:proxy`` and order for it (recorded as a proxy order with who
placed it). Both forms carry an idempotency key made when the page is rendered: a double tap or a
reload that posts again gets the first answer back (``services.ordering.submit_order``), never a
second order. Every refusal is shown in plain words with the form kept, under a fresh key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.lib import scope
from linli.lib.views import as_id
from linli.lib.wording import listed
from linli.registry import selectors as registry_selectors
from linli.registry.models import Household
from linli.registry.search import search_people
from linli.supplies import selectors
from linli.supplies.choices import DELIVERED_STATES, OrderStatus, PaymentMode, Priority
from linli.supplies.forms_orders import HouseholdSearchForm, OrderForm, new_key, quantity_field
from linli.supplies.models import BundlePart, Offer, Order, OrderLine, OrderWindow, Package, SupplyNotice
from linli.supplies.permissions import PROXY_ORDER_ROLES, has_role
from linli.supplies.services import delivery, ordering

# What a resident may choose; community credit (社区记账) is granted by staff, so only a proxy sets it.
RESIDENT_PAYMENT_MODES = (PaymentMode.ON_DELIVERY, PaymentMode.PREPAID)
HOUSEHOLD_SELECT = ("compound", "building", "unit")


def _is_resident(user: Any) -> bool:
    return bool(getattr(user, "is_resident", False)) and not scope.is_unrestricted(user)


def _require_proxy(user: Any) -> None:
    if _is_resident(user) or not has_role(user, PROXY_ORDER_ROLES):
        raise PermissionDenied(_("只有社区干部、网格员可以代居民下单"))
    if not scope.is_unrestricted(user) and scope.user_level(user) is None:
        raise PermissionDenied(_("您的账号未分配负责范围，不能代下单"))


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


# --- what a household can order now ---


@dataclass
class OfferRow:
    offer: Offer
    left: int
    field_name: str
    value: int = 0
    errors: list[str] = field(default_factory=list)
    contents: str = ""  # what a bundle holds: 大白菜 2 斤、土豆 1 斤

    @property
    def sold_out(self) -> bool:
        return self.left <= 0


@dataclass
class WindowBlock:
    """One open window on the page: its offers with what is left for this household, and its form."""

    window: OrderWindow
    rows: list[OfferRow]
    form: OrderForm
    live_order: Order | None = None
    total: Decimal = Decimal("0.00")
    refusal: str = ""
    errors: list[str] = field(default_factory=list)


def _left_for(windows: Sequence[OrderWindow], priority: int) -> dict[int, int]:
    """Units left per offer for a household of ``priority``: reserved units count only for sealed/isolated."""
    left: dict[int, int] = {}
    for window in windows:
        for offer_id, (general, reserved) in selectors.remaining(window).items():
            left[offer_id] = general + (reserved if priority != Priority.NORMAL else 0)
    return left


def _payment_modes(proxy: bool) -> list[tuple[str, Any]]:
    if proxy:
        return list(PaymentMode.choices)
    return [(value, label) for value, label in PaymentMode.choices if value in RESIDENT_PAYMENT_MODES]


def _quantity(value: Decimal) -> str:
    """2.00 → 2, 1.50 → 1.5: a bundle part's quantity as people write it."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bundle_contents(offers: Sequence[Offer]) -> dict[int, str]:
    """Item id → what the bundle holds, for the offers that are bundles (one query)."""
    contents: dict[int, list[str]] = {}
    parts = BundlePart.objects.filter(bundle_id__in={offer.item_id for offer in offers}).select_related("part")
    for row in parts.order_by("bundle_id", "pk"):
        contents.setdefault(row.bundle_id, []).append(f"{row.part.name} {_quantity(row.quantity)} {row.part.unit}")
    return {item_id: listed(names) for item_id, names in contents.items()}


def _blocks(
    user: Any,
    household: Household,
    priority: int,
    *,
    proxy: bool,
    outcome: Outcome | None = None,
) -> list[WindowBlock]:
    """The household's open windows, each with its offers, a fresh form and its live order if any."""
    windows = list(
        scope.visible(selectors.open_windows(household), user)
        .select_related("supplier")
        .prefetch_related(Prefetch("offers", queryset=Offer.objects.order_by("category", "name")))
    )
    left = _left_for(windows, priority)
    live = {
        order.window_id: order
        for order in Order.objects.filter(
            household=household, window__in=[w.pk for w in windows], status=OrderStatus.PLACED
        ).prefetch_related("lines")
    }
    blocks = []
    modes = _payment_modes(proxy)
    contents = _bundle_contents([offer for window in windows for offer in window.offers.all()])
    for window in windows:
        offers = list(window.offers.all())
        # Ids unique per window: a household may see two windows (two suppliers) on one page.
        auto_id = f"id-{window.pk}-%s"
        posted = outcome.form if outcome is not None else None
        if posted is not None and posted.data.get("window") == str(window.pk):
            # The same quantities under a fresh key: the refused key keeps its answer for a reload.
            data = {name: posted.data.get(name) for name in posted.data}
            form = OrderForm({**data, "key": new_key()}, offers=offers, payment_modes=modes, auto_id=auto_id)
            form.is_valid()
        else:
            initial = {"key": new_key(), "window": window.pk}
            form = OrderForm(initial=initial, offers=offers, payment_modes=modes, auto_id=auto_id)
        rows = []
        for offer in offers:
            name = quantity_field(offer)
            raw = form[name].value() if form.is_bound else 0
            value = as_id(raw) or 0  # ASCII digits only, not past a bigint ("²" is a digit to isdigit())
            errors = [str(e) for e in form.errors.get(name, [])] if form.is_bound else []
            if outcome is not None and posted is not None and outcome.offer_id == offer.pk:
                errors.append(outcome.refusal)
            rows.append(
                OfferRow(
                    offer=offer,
                    left=left.get(offer.pk, 0),
                    field_name=name,
                    value=value,
                    errors=errors,
                    contents=contents.get(offer.item_id, ""),
                )
            )
        total = sum((row.offer.price * row.value for row in rows), Decimal("0.00"))
        block = WindowBlock(window=window, rows=rows, form=form, live_order=live.get(window.pk), total=total)
        if form.is_bound and outcome is not None:
            block.refusal = outcome.refusal
            block.errors = [str(e) for e in form.non_field_errors()]
            # the posted key's own error (a forged or damaged form): the form above carries a fresh key
            if posted is not None and posted.data.get("window") == str(window.pk):
                block.errors += [str(e) for e in posted.errors.get("key", [])]
        blocks.append(block)
    return blocks


@dataclass
class Outcome:
    """What became of a posted order form: the order, or the form kept with the reason it was refused."""

    status: int
    order: Order | None = None
    form: OrderForm | None = None
    refusal: str = ""
    offer_id: int | None = None


def _submit(request: HttpRequest, household: Household, *, proxy: bool) -> Outcome:
    """Post one window's form through the idempotent service (``ordering.submit_order``)."""
    user: Any = request.user
    window_id = as_id(request.POST.get("window", ""))
    window = (
        scope.visible(selectors.open_windows(household), user).filter(pk=window_id).first()
        if window_id is not None
        else None
    )
    if window is None:
        # Closed since the page was drawn, or never this household's: say so plainly.
        return Outcome(409, refusal=_("这一期订购已经截单或不存在，请看下面还能订购的物资。"))
    offers = list(window.offers.order_by("category", "name"))
    form = OrderForm(request.POST, offers=offers, payment_modes=_payment_modes(proxy))
    if not form.is_valid():
        return Outcome(400, form=form)
    body = {
        "window": window.pk,
        "household": household.pk,
        "lines": [{"offer": offer_id, "quantity": quantity} for offer_id, quantity in form.lines()],
        "payment_mode": form.cleaned_data["payment_mode"],
        "note": form.cleaned_data["note"],
    }
    status, answer = ordering.submit_order(actor=user, key=form.cleaned_data["key"], body=body)
    if status < 300:
        order = scope.visible(Order.objects.select_related("window"), user).filter(pk=int(answer["id"])).first()
        if order is not None:
            return Outcome(status, order=order)
    refusal = str(answer.get("detail") or _("下单没有成功，请稍后再试。"))
    offer_id = answer.get("offer")
    return Outcome(status, form=form, refusal=refusal, offer_id=offer_id if isinstance(offer_id, int) else None)


def _orders_of(user: Any, household: Household, limit: int = 20) -> list[Order]:
    """The household's recent orders with lines, package and notices, newest first."""
    return list(
        scope.visible(Order.objects.filter(household=household), user)
        .select_related("window", "window__supplier", "placed_by", "package", "package__drop_off")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("offer__category", "offer__name")))
        .prefetch_related("lines__offer")
        .order_by("-created_at")[:limit]
    )


def _answer(request: HttpRequest, order: Order, household: Household, *, proxy: bool) -> HttpResponse:
    package = Package.objects.filter(order=order).select_related("drop_off").first()
    sealed = order.priority == Priority.SEALED
    point = package.drop_off if package is not None else None
    if point is None and not sealed:
        point = delivery.drop_off_for(household)  # where aggregation will send the bag
    context = {
        "point": point,
        "order": order,
        "lines": order.lines.select_related("offer").order_by("offer__category", "offer__name"),
        "household": household,
        "package": package,
        "sealed": sealed,
        "proxy": proxy,
        "back": reverse("supplies:proxy_household", args=[household.pk]) if proxy else reverse("supplies:me"),
    }
    return render(request, "supplies/orders/answer.html", context)


# --- the resident's page ---


@login_required
def me(request: HttpRequest) -> HttpResponse:
    """The resident's page: what can be ordered now, the household's orders and notices."""
    user: Any = request.user
    if not _is_resident(user):
        raise PermissionDenied(_("本页面供居民为本户订购；工作人员请用“代居民下单”页面"))
    if not user.household_id:
        return render(request, "home_resident_unlinked.html")
    household = Household.objects.select_related(*HOUSEHOLD_SELECT).get(pk=user.household_id)
    priority = ordering.household_priority(household)
    outcome: Outcome | None = None
    if request.method == "POST":
        outcome = _submit(request, household, proxy=False)
        if outcome.order is not None:
            return _answer(request, outcome.order, household, proxy=False)
        if outcome.form is None:
            messages.error(request, outcome.refusal)
    notices = list(scope.visible(SupplyNotice.objects.filter(household=household), user).order_by("-created_at")[:10])
    context = {
        "household": household,
        "priority": priority,
        "sealed": priority == Priority.SEALED,
        "blocks": _blocks(user, household, priority, proxy=False, outcome=outcome),
        "orders": _orders_of(user, household),
        "notices": notices,
        "now": timezone.now(),
        "proxy": False,
        "here": reverse("supplies:me"),
        "delivered_states": DELIVERED_STATES,
    }
    return render(request, "supplies/orders/me.html", context, status=outcome.status if outcome else 200)


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel an order before cut-off: the resident their own, staff one in scope."""
    user: Any = request.user
    if not _is_resident(user):
        _require_proxy(user)
    order = scope.get_editable_or_404(Order.objects.select_related("window"), user, pk=pk)
    fallback = (
        reverse("supplies:me") if _is_resident(user) else reverse("supplies:proxy_household", args=[order.household_id])
    )
    try:
        ordering.cancel_order(order, actor=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("订单 %(number)s 已取消，钱款不会收取。") % {"number": order.pk})
    return redirect(_safe_next(request, fallback))


@login_required
@require_POST
def package_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The resident confirms a bag left at the door (contactless hand-over) has been taken in."""
    user: Any = request.user
    if not _is_resident(user):
        raise PermissionDenied(_("只有本户居民可以确认收货"))
    package = scope.get_editable_or_404(Package.objects.all(), user, pk=pk)
    try:
        delivery.package_confirm(package, actor=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已确认收货，谢谢！"))
    return redirect("supplies:me")


# --- proxy orders by staff ---


@dataclass
class FoundHousehold:
    household: Household
    householder: Any
    priority: int
    vulnerable: list[str]


@login_required
def proxy(request: HttpRequest) -> HttpResponse:
    """Find a household in scope to order for; the proxy orders this account placed."""
    user: Any = request.user
    _require_proxy(user)
    form = HouseholdSearchForm(request.GET or None)
    found: list[FoundHousehold] | None = None
    if form.is_valid():
        people = search_people(user, form.cleaned_data["q"], limit=40)
        order_of: dict[int, int] = {}
        for person in people:
            order_of.setdefault(person.household_id, len(order_of))
        households = scope.editable(
            Household.objects.filter(pk__in=list(order_of)).select_related(*HOUSEHOLD_SELECT), user
        ).prefetch_related("members")
        found = [
            FoundHousehold(
                household=household,
                householder=registry_selectors.householder(household),
                priority=ordering.household_priority(household),
                vulnerable=registry_selectors.household_vulnerable_labels(household),
            )
            for household in households
        ]
        # Sealed and isolated households first: they are served first (S4), then as the search ranked them.
        found.sort(key=lambda entry: (entry.priority, order_of[entry.household.pk]))
    placed = list(
        scope.visible(Order.objects.filter(placed_by=user, is_proxy=True), user)
        .select_related("window", "window__supplier", "compound", "building", "unit", "household", "package")
        .order_by("-created_at")[:50]
    )
    context = {"form": form, "found": found, "placed": placed}
    return render(request, "supplies/orders/proxy.html", context)


@login_required
def proxy_household(request: HttpRequest, pk: int) -> HttpResponse:
    """Order on behalf of one household in scope: the same form, recorded as a proxy order."""
    user: Any = request.user
    _require_proxy(user)
    households = Household.objects.select_related(*HOUSEHOLD_SELECT).prefetch_related("members")
    household = scope.get_editable_or_404(households, user, pk=pk)
    priority = ordering.household_priority(household)
    outcome: Outcome | None = None
    if request.method == "POST":
        outcome = _submit(request, household, proxy=True)
        if outcome.order is not None:
            return _answer(request, outcome.order, household, proxy=True)
        if outcome.form is None:
            messages.error(request, outcome.refusal)
    context = {
        "household": household,
        "householder": registry_selectors.householder(household),
        "vulnerable": registry_selectors.household_vulnerable_labels(household),
        "priority": priority,
        "sealed": priority == Priority.SEALED,
        "blocks": _blocks(user, household, priority, proxy=True, outcome=outcome),
        "orders": _orders_of(user, household),
        "now": timezone.now(),
        "proxy": True,
        "here": reverse("supplies:proxy_household", args=[household.pk]),
        "delivered_states": DELIVERED_STATES,
    }
    return render(request, "supplies/orders/proxy_household.html", context, status=outcome.status if outcome else 200)


urlpatterns: list[URLPattern] = [
    path("me/", me, name="me"),
    path("orders/<int:pk>/cancel/", order_cancel, name="order_cancel"),
    path("packages/<int:pk>/confirm/", package_confirm, name="package_confirm"),
    path("proxy/", proxy, name="proxy"),
    path("proxy/<int:pk>/", proxy_household, name="proxy_household"),
]
