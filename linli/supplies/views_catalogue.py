"""Supplies pages: the index, suppliers and their catalogues, order windows and schedules (S1, S2).

Who may do what is ``linli.supplies.permissions`` (403 outside the role sets); which records is
``linli.lib.scope`` (out of scope is 404, like missing). Supplier staff see their own supplier only.
Writes go through ``linli.supplies.services.catalogue``; a refusal is the service's Chinese message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.models import User
from linli.lib import scope
from linli.lib.views import apply_errors, as_id, posted_pk
from linli.lib.wording import listed
from linli.registry.models import Community, Street
from linli.supplies.choices import WindowStatus
from linli.supplies.forms_catalogue import (
    WEEKDAYS,
    ItemForm,
    OfferForm,
    OfferQuantityForm,
    PartsForm,
    ScheduleForm,
    StaffLinkForm,
    SupplierForm,
    WindowForm,
)
from linli.supplies.models import Item, Offer, OrderWindow, Supplier, WindowSchedule
from linli.supplies.permissions import (
    CATALOGUE_ROLES,
    DELIVERY_ROLES,
    MONEY_ROLES,
    PACKING_ROLES,
    PROXY_ORDER_ROLES,
    STREET_ROLES,
    VIEW_ROLES,
    WINDOW_ROLES,
    has_role,
)
from linli.supplies.services import catalogue

WINDOW_VIEW_ROLES = WINDOW_ROLES | CATALOGUE_ROLES
WINDOW_LIMIT = 200

# The index's sections: (URL name, label, roles). Sections whose page does not exist yet are left out.
SECTIONS = (
    ("supplies:suppliers", gettext_lazy("商超与商品目录"), VIEW_ROLES),
    ("supplies:windows", gettext_lazy("订购窗口"), WINDOW_VIEW_ROLES),
    ("supplies:schedules", gettext_lazy("订购周期"), WINDOW_ROLES),
    ("supplies:stock", gettext_lazy("库存、价格与员工健康"), CATALOGUE_ROLES),
    ("supplies:purchase_list", gettext_lazy("采购汇总、拣货单与标签"), PACKING_ROLES),
    ("supplies:delivery_index", gettext_lazy("投放点与配送"), DELIVERY_ROLES),
    ("supplies:money_index", gettext_lazy("收款、记账与结算"), MONEY_ROLES),
    ("supplies:proxy", gettext_lazy("代下单"), PROXY_ORDER_ROLES),
    ("supplies:settings", gettext_lazy("保供设置"), CATALOGUE_ROLES),
)


def require(user: Any, roles: frozenset[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("您的角色不能使用本页面"))


def require_edit(record: Any, user: Any, roles: frozenset[str]) -> None:
    """A write on a record the account sees: the role must allow it and the record be editable (else 403)."""
    require(user, roles)
    if not scope.can_edit(record, user):
        raise PermissionDenied(_("您只能查看，不能修改本记录"))


def street_of(user: Any) -> Street:
    """The street the account works in (a supplier's staff: their supplier's; a superuser: the first)."""
    if getattr(user, "street_id", None):
        return Street.objects.get(pk=user.street_id)
    if getattr(user, "supplier_id", None):
        return Street.objects.get(pk=Supplier.objects.values_list("street_id", flat=True).get(pk=user.supplier_id))
    street = Street.objects.order_by("pk").first() if scope.is_unrestricted(user) else None
    if street is None:
        raise Http404
    return street


def form_status(request: HttpRequest) -> int:
    """A page answering a POST that did not redirect shows errors: 400."""
    return 400 if request.method == "POST" else 200


def posted_data(request: HttpRequest) -> Any:
    """The posted data to bind a form to (an empty POST too: it must show "required"), else None."""
    return request.POST if request.method == "POST" else None


def section_links(user: Any) -> list[tuple[str, Any]]:
    """The supplies sections the account's role may use, as (URL, label)."""
    links = []
    for name, label, roles in SECTIONS:
        if not has_role(user, roles):
            continue
        try:
            links.append((reverse(name), label))
        except NoReverseMatch:
            continue
    return links


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """物资保供: the sections of the supplies back office this account may use."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    now = timezone.now()
    windows = scope.visible(OrderWindow.objects.select_related("supplier", "community"), user)
    open_now = list(
        windows.filter(status=WindowStatus.PUBLISHED, opens_at__lte=now, cutoff_at__gt=now).order_by("cutoff_at")[:20]
    )
    context = {
        "links": section_links(user),
        "open_windows": open_now,
        "drafts": windows.filter(status=WindowStatus.DRAFT).count() if has_role(user, WINDOW_ROLES) else 0,
        "supplier": Supplier.objects.filter(pk=user.supplier_id).first() if user.supplier_id else None,
    }
    return render(request, "supplies/catalogue/index.html", context)


# --- suppliers and catalogues (S1) ---


def _served(user: Any) -> Prefetch:
    """The served communities an account may be shown: those of its part of the tree (a supplier's
    C1 staff never read the name of C2), or, for a supplier's own staff, all their supplier serves."""
    communities = Community.objects.order_by("code")
    if scope.user_level(user) is not None:
        communities = scope.visible(communities, user)
    return Prefetch("communities", queryset=communities)


@login_required
def suppliers(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require(user, VIEW_ROLES)
    found = list(
        scope.visible(Supplier.objects.prefetch_related(_served(user)), user)
        .annotate(items_n=Count("items", filter=Q(items__is_active=True)))
        .order_by("-is_active", "name")
    )
    context = {"suppliers": found, "can_create": has_role(user, STREET_ROLES) and bool(user.street_id)}
    return render(request, "supplies/catalogue/suppliers.html", context)


def _street_communities(user: Any, street_id: int) -> QuerySet[Community]:
    return scope.editable(Community.objects.filter(street_id=street_id), user).order_by("code")


@login_required
def supplier_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require(user, STREET_ROLES)
    street = street_of(user)
    if not scope.can_edit(street, user):
        raise PermissionDenied(_("您只能查看，不能修改本记录"))
    form = SupplierForm(posted_data(request), communities=_street_communities(user, street.pk))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        communities = data.pop("communities")
        try:
            supplier = catalogue.supplier_create(
                street=street, name=data.pop("name"), communities=communities, actor=user, **data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已指定保供商超：%(name)s。") % {"name": supplier.name})
            return redirect("supplies:supplier", pk=supplier.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "supplies/catalogue/supplier_form.html", {"form": form, "supplier": None}, status=status)


def _supplier_or_404(user: Any, pk: int) -> Supplier:
    return scope.get_visible_or_404(
        Supplier.objects.select_related("street").prefetch_related(_served(user)), user, pk=pk
    )


@login_required
def supplier_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A supplier: who it serves, its staff accounts and its catalogue (bundles with their parts)."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    supplier = _supplier_or_404(user, pk)
    items = list(
        scope.visible(Item.objects.filter(supplier=supplier), user)
        .prefetch_related("parts__part")
        .order_by("-is_active", "category", "name")
    )
    can_edit = scope.can_edit(supplier, user)
    context = {
        "supplier": supplier,
        "communities": list(supplier.communities.all()),
        "staff": list(User.objects.filter(supplier=supplier).order_by("pk")),
        "items": items,
        "can_edit_supplier": has_role(user, STREET_ROLES) and can_edit,
        "can_edit_catalogue": has_role(user, CATALOGUE_ROLES) and can_edit,
    }
    return render(request, "supplies/catalogue/supplier.html", context)


@login_required
def supplier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The street command changes a supplier, and links or unlinks its staff accounts."""
    user: Any = request.user
    require(user, STREET_ROLES)
    supplier = _supplier_or_404(user, pk)
    require_edit(supplier, user, STREET_ROLES)
    communities = _street_communities(user, supplier.street_id)
    initial = {
        **{f: getattr(supplier, f) for f in catalogue.SUPPLIER_FIELDS},
        "communities": [c.pk for c in supplier.communities.all()],
    }
    action = request.POST.get("action", "supplier")
    # Bound only to a POST of its own action: a GET (whose empty POST is not None) shows the values.
    posted = posted_data(request)
    form = SupplierForm(posted if action == "supplier" else None, communities=communities, initial=initial, prefix="s")
    staff_form = StaffLinkForm(posted if action == "link" else None, prefix="staff")
    if request.method == "POST":
        if action == "supplier" and form.is_valid():
            data = dict(form.cleaned_data)
            chosen = data.pop("communities")
            # Communities of the street outside the account's part stay as they were.
            keep = [c for c in supplier.communities.all() if c not in list(communities)]
            try:
                catalogue.supplier_update(supplier, actor=user, communities=[*keep, *chosen], **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("supplies:supplier", pk=supplier.pk)
        elif action == "link" and staff_form.is_valid():
            account = User.objects.filter(username=staff_form.cleaned_data["username"].strip()).first()
            if account is None:
                staff_form.add_error("username", _("没有这个账号"))
            else:
                try:
                    catalogue.supplier_staff_link(supplier, account, actor=user)
                except ValidationError as exc:
                    apply_errors(staff_form, exc, {"user": "username"})
                else:
                    messages.success(request, _("已关联员工账号：%(name)s。") % {"name": account})
                    return redirect("supplies:supplier_edit", pk=supplier.pk)
        elif action == "unlink":
            account = User.objects.filter(pk=posted_pk(request, "user"), supplier=supplier).first()
            if account is None:
                raise Http404
            catalogue.supplier_staff_unlink(supplier, account, actor=user)
            messages.success(request, _("已解除关联：%(name)s。") % {"name": account})
            return redirect("supplies:supplier_edit", pk=supplier.pk)
    context = {
        "form": form,
        "staff_form": staff_form,
        "supplier": supplier,
        "staff": list(User.objects.filter(supplier=supplier).order_by("pk")),
    }
    return render(
        request, "supplies/catalogue/supplier_form.html", context, status=400 if request.method == "POST" else 200
    )


def _item_data(form: ItemForm) -> dict[str, Any]:
    return dict(form.cleaned_data)


@login_required
def item_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    require(user, CATALOGUE_ROLES)
    supplier = _supplier_or_404(user, pk)
    require_edit(supplier, user, CATALOGUE_ROLES)
    form = ItemForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            item = catalogue.item_create(supplier=supplier, actor=user, **_item_data(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新增商品：%(name)s。") % {"name": item.name})
            if item.is_bundle:
                return redirect("supplies:item", pk=item.pk)
            return redirect("supplies:supplier", pk=supplier.pk)
    context = {"form": form, "supplier": supplier, "item": None}
    return render(
        request, "supplies/catalogue/item_form.html", context, status=400 if request.method == "POST" else 200
    )


@login_required
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an item; a bundle's parts are set on the same page."""
    user: Any = request.user
    require(user, VIEW_ROLES)
    item = scope.get_visible_or_404(Item.objects.select_related("supplier"), user, pk=pk)
    can_edit = has_role(user, CATALOGUE_ROLES) and scope.can_edit(item, user)
    initial = {f: getattr(item, f) for f in ("name", "category", "unit", "price", "per_household_limit")}
    initial.update(is_bundle=item.is_bundle, description=item.description, is_active=item.is_active)
    action = request.POST.get("action", "item")
    posted = posted_data(request)  # a GET shows the item's values, not an empty bound form
    form = ItemForm(posted if action == "item" else None, initial=initial)
    singles = Item.objects.filter(supplier_id=item.supplier_id, is_bundle=False).exclude(pk=item.pk).order_by("name")
    current = {p.part_id: p.quantity for p in item.parts.all()}
    parts_form = PartsForm(posted if action == "parts" else None, items=singles, current=current)
    if request.method == "POST":
        require_edit(item, user, CATALOGUE_ROLES)
        try:
            if action == "item" and form.is_valid():
                catalogue.item_update(item, actor=user, **_item_data(form))
                messages.success(request, _("已保存。"))
                return redirect("supplies:item", pk=item.pk)
            if action == "parts" and parts_form.is_valid():
                catalogue.bundle_set_parts(item, parts_form.parts(), actor=user)
                messages.success(request, _("已保存套餐内容。"))
                return redirect("supplies:item", pk=item.pk)
        except ValidationError as exc:
            apply_errors(form if action == "item" else parts_form, exc)
    context = {"form": form, "parts_form": parts_form, "supplier": item.supplier, "item": item, "can_edit": can_edit}
    return render(
        request, "supplies/catalogue/item_form.html", context, status=400 if request.method == "POST" else 200
    )


# --- order windows (S2) ---


def _windows(user: Any) -> QuerySet[OrderWindow]:
    return scope.visible(OrderWindow.objects.select_related("supplier", "community"), user)


@login_required
def windows(request: HttpRequest) -> HttpResponse:
    """Order windows in scope: open and upcoming first, then the recent past."""
    user: Any = request.user
    require(user, WINDOW_VIEW_ROLES)
    status = request.GET.get("status", "")
    qs = _windows(user).annotate(offers_n=Count("offers"))
    if status in WindowStatus.values:
        qs = qs.filter(status=status)
    found = list(qs.order_by("-opens_at", "-pk")[:WINDOW_LIMIT])
    now = timezone.now()
    context = {
        "windows": found,
        "now": now,
        "status": status,
        "statuses": WindowStatus.choices,
        "can_create": has_role(user, WINDOW_ROLES) and scope.editable(Community.objects.all(), user).exists(),
        "truncated": len(found) >= WINDOW_LIMIT,
    }
    return render(request, "supplies/catalogue/windows.html", context)


@login_required
def window_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    require(user, WINDOW_ROLES)
    communities = scope.editable(Community.objects.all(), user).order_by("code")
    suppliers_qs = scope.visible(Supplier.objects.filter(is_active=True), user).order_by("name")
    initial: dict[str, Any] = {}
    if (supplier_id := as_id(request.GET.get("supplier"))) is not None:
        initial["supplier"] = supplier_id
    form = WindowForm(posted_data(request), suppliers=suppliers_qs, communities=communities, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        supplier = data["supplier"]
        chosen = form.chosen_communities()
        if chosen is None:
            chosen = list(communities.filter(pk__in=supplier.communities.values("pk")))
            if not chosen:
                form.add_error("community", _("该商超不服务您辖区内的社区"))
        if not form.errors:
            try:
                made = catalogue.windows_create_for_street(
                    supplier=supplier,
                    communities=chosen,
                    opens_at=data["opens_at"],
                    cutoff_at=data["cutoff_at"],
                    delivery_on=data["delivery_on"],
                    title=data["title"].strip(),
                    actor=user,
                )
            except ValidationError as exc:
                apply_errors(form, exc, {"communities": "community"})
            else:
                messages.success(request, _("已创建 %(n)s 个订购窗口（草稿），请上架商品后发布。") % {"n": len(made)})
                if len(made) == 1:
                    return redirect("supplies:window", pk=made[0].pk)
                return redirect("supplies:windows")
    status = 400 if request.method == "POST" else 200
    return render(request, "supplies/catalogue/window_form.html", {"form": form}, status=status)


def _offer_rows(window: OrderWindow) -> list[dict[str, Any]]:
    offers = list(window.offers.order_by("category", "name"))
    left = catalogue.remaining_by_offer(offers)
    rows = []
    for offer in offers:
        general, reserved = left.get(offer.pk, (0, 0))
        sold = offer.quantity - general - reserved
        rows.append(
            {
                "offer": offer,
                "general": general,
                "reserved": reserved,
                "sold": sold,
                "percent": int(100 * sold / offer.quantity) if offer.quantity else 0,
                "form": OfferQuantityForm(
                    prefix=f"o{offer.pk}",
                    initial={
                        "quantity": offer.quantity,
                        "price": offer.price,
                        "per_household_limit": offer.per_household_limit,
                    },
                ),
            }
        )
    return rows


@login_required
def window_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A window: its offers with what is left (bucket sums), adding and changing offers, publishing."""
    user: Any = request.user
    require(user, WINDOW_VIEW_ROLES)
    window = scope.get_visible_or_404(_windows(user), user, pk=pk)
    can_edit = has_role(user, WINDOW_ROLES) and scope.can_edit(window, user)
    editable_state = window.status in (WindowStatus.DRAFT, WindowStatus.PUBLISHED)
    offered = window.offers.values("item_id")
    items = Item.objects.filter(supplier_id=window.supplier_id, is_active=True).exclude(pk__in=offered).order_by("name")
    offer_form = OfferForm(request.POST if request.POST.get("action") == "offer" else None, items=items)
    rows = _offer_rows(window)
    if request.method == "POST":
        require_edit(window, user, WINDOW_ROLES)
        action = request.POST.get("action", "")
        try:
            if action == "offer":
                if offer_form.is_valid():
                    data = offer_form.cleaned_data
                    quantity = data["quantity"]
                    catalogue.offer_add(
                        window,
                        data["item"],
                        quantity,
                        price=data["price"],
                        per_household_limit=data["per_household_limit"],
                        reserved=catalogue.default_reserved(window, quantity)
                        if data["reserved"] is None
                        else data["reserved"],
                        buckets=data["buckets"] or catalogue.default_buckets(quantity),
                    )
                    messages.success(request, _("已上架：%(name)s。") % {"name": data["item"].name})
                    return redirect("supplies:window", pk=window.pk)
            elif action == "quantity":
                offer = Offer.objects.filter(window=window, pk=posted_pk(request, "offer")).first()
                if offer is None:
                    raise Http404
                form = OfferQuantityForm(request.POST, prefix=f"o{offer.pk}")
                for row in rows:
                    if row["offer"].pk == offer.pk:
                        row["form"] = form
                if form.is_valid():
                    data = form.cleaned_data
                    draft = window.status == WindowStatus.DRAFT
                    catalogue.offer_update(
                        offer,
                        quantity=data["quantity"],
                        price=data["price"] if draft and data["price"] != offer.price else None,
                        per_household_limit=(data["per_household_limit"] or None)
                        if draft and data["per_household_limit"] != offer.per_household_limit
                        else "",
                        actor=user,
                    )
                    messages.success(request, _("已修改：%(name)s。") % {"name": offer.name})
                    return redirect("supplies:window", pk=window.pk)
            elif action == "remove":
                offer = Offer.objects.filter(window=window, pk=posted_pk(request, "offer")).first()
                if offer is None:
                    raise Http404
                catalogue.offer_remove(offer, actor=user)
                messages.success(request, _("已下架：%(name)s。") % {"name": offer.name})
                return redirect("supplies:window", pk=window.pk)
            elif action == "publish":
                catalogue.window_publish(window, actor=user)
                messages.success(request, _("已发布，本社区居民现在可以看到这个窗口。"))
                return redirect("supplies:window", pk=window.pk)
            else:
                messages.error(request, _("未知的操作，请刷新页面后重试。"))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
    context = {
        "window": window,
        "rows": rows,
        "offer_form": offer_form,
        "can_edit": can_edit and editable_state,
        "is_draft": window.status == WindowStatus.DRAFT,
        "now": timezone.now(),
    }
    return render(request, "supplies/catalogue/window.html", context, status=form_status(request))


# --- schedules (S2) ---


@login_required
def schedules(request: HttpRequest) -> HttpResponse:
    """Recurring windows: create one, and make its coming windows (already made ones are not made again)."""
    user: Any = request.user
    require(user, WINDOW_VIEW_ROLES)
    found = list(
        scope.visible(WindowSchedule.objects.select_related("supplier", "community"), user).order_by(
            "supplier__name", "community__code", "pk"
        )
    )
    can_create = has_role(user, WINDOW_ROLES)
    communities = scope.editable(Community.objects.all(), user).order_by("code")
    suppliers_qs = scope.visible(Supplier.objects.filter(is_active=True), user).order_by("name")
    action = request.POST.get("action", "")
    form = ScheduleForm(request.POST if action == "create" else None, suppliers=suppliers_qs, communities=communities)
    if request.method == "POST":
        require(user, WINDOW_ROLES)
        try:
            if action == "create":
                if form.is_valid():
                    catalogue.schedule_create(actor=user, **form.cleaned_data)
                    messages.success(request, _("已创建订购周期。"))
                    return redirect("supplies:schedules")
            elif action in ("generate", "toggle"):
                schedule = scope.get_visible_or_404(
                    WindowSchedule.objects.all(), user, pk=posted_pk(request, "schedule")
                )
                require_edit(schedule, user, WINDOW_ROLES)
                if action == "generate":
                    made = catalogue.schedule_generate(schedule, actor=user)
                    if made:
                        messages.success(
                            request, _("已生成 %(n)s 个窗口（草稿），请检查上架数量后发布。") % {"n": len(made)}
                        )
                    else:
                        messages.info(request, _("今后两周的窗口都已生成，没有新窗口。"))
                else:
                    catalogue.schedule_update(schedule, is_active=not schedule.is_active, actor=user)
                    messages.success(request, _("已保存。"))
                return redirect("supplies:schedules")
            else:
                messages.error(request, _("未知的操作，请刷新页面后重试。"))
        except ValidationError as exc:
            apply_errors(form, exc)
    weekday_names = dict(WEEKDAYS)
    rows = [
        {
            "schedule": s,
            "days": listed(weekday_names.get(d, d) for d in s.order_weekdays),
            "can_edit": scope.can_edit(s, user),
        }
        for s in found
    ]
    context = {"rows": rows, "form": form, "can_create": can_create and communities.exists()}
    return render(
        request, "supplies/catalogue/schedules.html", context, status=400 if request.method == "POST" else 200
    )


urlpatterns: list[URLPattern] = [
    path("", index, name="index"),
    path("suppliers/", suppliers, name="suppliers"),
    path("suppliers/new/", supplier_create, name="supplier_create"),
    path("suppliers/<int:pk>/", supplier_detail, name="supplier"),
    path("suppliers/<int:pk>/edit/", supplier_edit, name="supplier_edit"),
    path("suppliers/<int:pk>/items/new/", item_create, name="item_create"),
    path("items/<int:pk>/", item_edit, name="item"),
    path("windows/", windows, name="windows"),
    path("windows/new/", window_create, name="window_create"),
    path("windows/<int:pk>/", window_detail, name="window"),
    path("schedules/", schedules, name="schedules"),
]
