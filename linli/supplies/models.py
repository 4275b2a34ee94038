"""Supplies guarantee 物资保供 (SPEC S1–S10).

A designated supplier (S1) keeps a catalogue of items. An order window (S2) is one supplier serving
one community between ``opens_at`` and ``cutoff_at``; it offers items, each with the quantity the
supplier can sell split into bucket rows (a hot item's stock in several rows keeps a rush fast, and
some buckets are reserved for sealed and isolated households, S4/H7). A household places at most one
live order per window (S3), by itself or by proxy; every submission carries an idempotency key. At
cut-off the window is aggregated into one purchase order per supplier, by drop-off point and
household (S4); each order becomes one package with a label (S5), carried on a delivery run and
handed over, contactless for sealed households (S6). Payments, community credit and the supplier's
settlement make the money reconcile (S7). Stock, price and staff-check reports are S8–S10.

Records that belong to a household carry copies of its ancestors' ids, as ``linli.health`` does, so
a scoped query is one indexed equality (``linli.lib.scope``). Supplier staff have no place in the
tree: records that declare ``SUPPLIER_LOOKUP`` are visible to the staff of that supplier.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# One household placement for both apps (the abstract model and its create() fields), re-exported here.
from linli.health.models import InHousehold as InHousehold
from linli.health.models import household_kwargs as household_kwargs
from linli.registry.models import Building, Community, Compound, Grid, Street
from linli.supplies.choices import (
    Category,
    OrderStatus,
    PackageStatus,
    PaymentMode,
    Priority,
    StaffCheckKind,
    WindowStatus,
)

STREET_LOOKUPS: dict[str, str] = {"street": "street_id"}
COMMUNITY_LOOKUPS: dict[str, str] = {"street": "street_id", "community": "community_id"}
COMPOUND_LOOKUPS: dict[str, str] = {**COMMUNITY_LOOKUPS, "grid": "grid_id", "compound": "compound_id"}
HOUSEHOLD_LOOKUPS: dict[str, str] = {
    **COMPOUND_LOOKUPS,
    "building": "building_id",
    "unit": "unit_id",
    "household": "household_id",
}


def _fk(model: type[models.Model], label: Any, **extra: Any) -> Any:
    return models.ForeignKey(model, models.PROTECT, related_name="+", verbose_name=label, db_constraint=False, **extra)


def _user(label: Any, **extra: Any) -> Any:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=label, **extra
    )


def new_handover_code() -> str:
    """The hand-over code printed on a label (and in its QR): 10 characters, no look-alikes."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


# ----------------------------------------------------------------------------------------------
# Settings, suppliers and catalogues (S1, S8–S10)


class SupplySettings(models.Model):
    """A street's supplies thresholds; every number is editable by the street command."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = STREET_LOOKUPS
    street = models.OneToOneField(Street, models.CASCADE, related_name="+", verbose_name=_("街道"))
    min_cover_days = models.PositiveSmallIntegerField(_("库存最少保障天数"), default=7)
    demand_days = models.PositiveSmallIntegerField(
        _("需求预测参考天数"), default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    price_report_by = models.TimeField(_("价格日报截止时间"), default=datetime.time(15, 0))
    price_rise_percent = models.DecimalField(
        _("价格异常上涨阈值（%）"), max_digits=5, decimal_places=1, default=Decimal("10.0")
    )
    staff_check_hours = models.PositiveSmallIntegerField(_("员工测温、场所消杀间隔（小时）"), default=2)
    sealed_reserve_percent = models.PositiveSmallIntegerField(
        _("为封控、隔离户预留库存（%）"), default=10, validators=[MaxValueValidator(100)]
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = _user(_("更新人"))

    class Meta:
        verbose_name = _("保供设置")
        verbose_name_plural = _("保供设置")

    def __str__(self) -> str:
        return str(self.street)


class Supplier(models.Model):
    """保供商超: a designated supplier of a street, serving some of its communities (S1)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = STREET_LOOKUPS
    SUPPLIER_LOOKUP: ClassVar[str] = "pk"
    street = models.ForeignKey(Street, models.PROTECT, related_name="+", verbose_name=_("街道"))
    name = models.CharField(_("名称"), max_length=100)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=11, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    communities = models.ManyToManyField(Community, related_name="+", blank=True, verbose_name=_("服务社区"))
    # What the label's payment QR carries: the supplier's payment code (the text its image encodes)
    # or a payment link; empty means the label says "pay the grid worker" instead.
    payment_code = models.CharField(_("收款码内容或付款链接"), max_length=500, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("保供商超")
        verbose_name_plural = _("保供商超")
        ordering = ["street_id", "name"]
        constraints = [models.UniqueConstraint(fields=["street", "name"], name="supplier_name_unique_in_street")]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """A catalogue item (S1): a single product, or a bundle such as a standard vegetable box."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "supplier__street_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="items", verbose_name=_("商超"))
    name = models.CharField(_("品名"), max_length=100)
    category = models.CharField(_("类别"), max_length=12, choices=Category.choices)
    unit = models.CharField(pgettext_lazy("unit of measure", "单位"), max_length=10, default="份")
    price = models.DecimalField(_("单价（元）"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    # On hand at the supplier, as last reported (S8); what a window can sell is its offer.
    stock = models.PositiveIntegerField(_("库存"), default=0)
    per_household_limit = models.PositiveSmallIntegerField(
        _("每户限购"), null=True, blank=True, help_text=_("留空表示不限购")
    )
    is_bundle = models.BooleanField(_("套餐"), default=False)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    is_active = models.BooleanField(_("在售"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("商品")
        verbose_name_plural = _("商品")
        ordering = ["supplier_id", "category", "name"]
        constraints = [models.UniqueConstraint(fields=["supplier", "name"], name="item_name_unique_in_supplier")]

    def __str__(self) -> str:
        return f"{self.name}（{self.unit}）"


class BundlePart(models.Model):
    """One part of a bundle: the standard vegetable box holds 2 斤 of cabbage, …"""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "bundle__supplier__street_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "bundle__supplier_id"
    bundle = models.ForeignKey(Item, models.CASCADE, related_name="parts", verbose_name=_("套餐"))
    part = models.ForeignKey(Item, models.PROTECT, related_name="+", verbose_name=_("内含商品"))
    quantity = models.DecimalField(_("数量"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("套餐内容")
        verbose_name_plural = _("套餐内容")
        constraints = [models.UniqueConstraint(fields=["bundle", "part"], name="bundle_part_unique")]

    def __str__(self) -> str:
        return f"{self.bundle_id}: {self.part_id} × {self.quantity}"


class StockReport(models.Model):
    """S8: the stock a supplier has on hand of one item, reported once a day."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "supplier__street_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="+", verbose_name=_("商超"))
    item = models.ForeignKey(Item, models.CASCADE, related_name="stock_reports", verbose_name=_("商品"))
    date = models.DateField(_("日期"))
    quantity = models.PositiveIntegerField(_("库存数量"))
    reported_at = models.DateTimeField(_("上报时间"), auto_now=True)
    reported_by = _user(_("上报人"))

    class Meta:
        verbose_name = _("库存日报")
        verbose_name_plural = _("库存日报")
        ordering = ["-date", "item_id"]
        constraints = [models.UniqueConstraint(fields=["item", "date"], name="stock_report_unique_per_day")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.date} {self.quantity}"


class PriceReport(models.Model):
    """S9: the day's price of one item, reported by 15:00; a rise beyond the threshold is flagged."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "supplier__street_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="+", verbose_name=_("商超"))
    item = models.ForeignKey(Item, models.CASCADE, related_name="price_reports", verbose_name=_("商品"))
    date = models.DateField(_("日期"))
    price = models.DecimalField(_("价格（元）"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    previous_price = models.DecimalField(_("前次价格"), max_digits=10, decimal_places=2, null=True, blank=True)
    is_late = models.BooleanField(_("逾期上报"), default=False)
    is_abnormal = models.BooleanField(_("异常上涨"), default=False)
    reported_at = models.DateTimeField(_("上报时间"), auto_now=True)
    reported_by = _user(_("上报人"))

    class Meta:
        verbose_name = _("价格日报")
        verbose_name_plural = _("价格日报")
        ordering = ["-date", "item_id"]
        constraints = [models.UniqueConstraint(fields=["item", "date"], name="price_report_unique_per_day")]

    def __str__(self) -> str:
        return f"{self.item_id} {self.date} {self.price}"


class StaffCheck(models.Model):
    """S10: a supplier staff temperature (every 2 h), a site disinfection (every 2 h) or a daily test."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "supplier__street_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="+", verbose_name=_("商超"))
    kind = models.CharField(_("类型"), max_length=12, choices=StaffCheckKind.choices)
    staff_name = models.CharField(_("员工/场所"), max_length=50)
    at = models.DateTimeField(_("时间"))
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1, null=True, blank=True)
    result = models.CharField(_("结果"), max_length=20, blank=True)
    is_abnormal = models.BooleanField(_("异常"), default=False)
    recorded_by = _user(_("记录人"))

    class Meta:
        verbose_name = _("员工健康与消杀记录")
        verbose_name_plural = _("员工健康与消杀记录")
        ordering = ["-at"]
        indexes = [models.Index(fields=["supplier", "kind", "at"], name="staff_check_idx")]

    def __str__(self) -> str:
        return f"{self.staff_name} {self.kind} {self.at:%Y-%m-%d %H:%M}"


# ----------------------------------------------------------------------------------------------
# Order windows and offers (S2, S3)


class WindowSchedule(models.Model):
    """A recurring window: orders on some weekdays (Mon, Fri), delivery some days later (Tue, Sat)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMMUNITY_LOOKUPS
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="schedules", verbose_name=_("商超"))
    street = _fk(Street, _("街道"), db_index=False)
    community = models.ForeignKey(Community, models.CASCADE, related_name="+", verbose_name=_("社区"))
    # ISO weekdays, 1 = Monday … 7 = Sunday.
    order_weekdays = models.JSONField(_("下单日（周几）"), default=list)
    opens_time = models.TimeField(_("开放时间"), default=datetime.time(8, 0))
    cutoff_time = models.TimeField(_("截单时间"), default=datetime.time(20, 0))
    delivery_after_days = models.PositiveSmallIntegerField(_("几天后配送"), default=1)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = _user(_("创建人"))

    class Meta:
        verbose_name = _("订购周期")
        verbose_name_plural = _("订购周期")

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.community_id} {self.order_weekdays}"


class OrderWindow(models.Model):
    """S2: one supplier taking one community's orders from ``opens_at`` to ``cutoff_at``."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMMUNITY_LOOKUPS
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    supplier = models.ForeignKey(Supplier, models.PROTECT, related_name="windows", verbose_name=_("商超"))
    street = _fk(Street, _("街道"), db_index=False)
    community = models.ForeignKey(Community, models.PROTECT, related_name="+", verbose_name=_("社区"))
    schedule = models.ForeignKey(
        WindowSchedule, models.SET_NULL, null=True, blank=True, related_name="windows", verbose_name=_("订购周期")
    )
    title = models.CharField(_("名称"), max_length=100, blank=True)
    opens_at = models.DateTimeField(_("开放下单"))
    cutoff_at = models.DateTimeField(_("截单时间"))
    delivery_on = models.DateField(_("配送日期"))
    status = models.CharField(_("状态"), max_length=12, choices=WindowStatus.choices, default=WindowStatus.DRAFT)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    aggregated_at = models.DateTimeField(_("汇总时间"), null=True, blank=True)
    created_by = _user(_("创建人"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("订购窗口")
        verbose_name_plural = _("订购窗口")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cutoff_at__gt=models.F("opens_at")),
                name="window_cutoff_after_opening",
                violation_error_message=_("截单时间必须晚于开放时间"),
            ),
            # A schedule never makes two windows for the same opening.
            models.UniqueConstraint(
                fields=["schedule", "opens_at"],
                condition=models.Q(schedule__isnull=False),
                name="window_once_per_schedule_opening",
            ),
        ]
        indexes = [models.Index(fields=["community", "status", "cutoff_at"], name="window_open_idx")]

    def __str__(self) -> str:
        return self.title or f"{self.opens_at:%m-%d} {self.supplier_id}"

    def is_open_at(self, now: datetime.datetime) -> bool:
        return self.status == WindowStatus.PUBLISHED and self.opens_at <= now < self.cutoff_at


class Offer(models.Model):
    """An item offered in a window, with the price and limit of this window.

    ``quantity`` is what the supplier can sell in the window; what is left lives in the offer's
    :class:`OfferBucket` rows and is only ever decremented by a conditional UPDATE.
    """

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "window__street_id", "community": "window__community_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "window__supplier_id"
    window = models.ForeignKey(OrderWindow, models.CASCADE, related_name="offers", verbose_name=_("订购窗口"))
    item = models.ForeignKey(Item, models.PROTECT, related_name="+", verbose_name=_("商品"))
    name = models.CharField(_("品名"), max_length=100)
    category = models.CharField(_("类别"), max_length=12, choices=Category.choices)
    unit = models.CharField(pgettext_lazy("unit of measure", "单位"), max_length=10)
    price = models.DecimalField(_("单价（元）"), max_digits=10, decimal_places=2)
    per_household_limit = models.PositiveSmallIntegerField(_("每户限购"), null=True, blank=True)
    quantity = models.PositiveIntegerField(_("可售数量"))
    reserved = models.PositiveIntegerField(_("封控/隔离户预留"), default=0)
    buckets = models.PositiveSmallIntegerField(_("库存分桶数"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("上架商品")
        verbose_name_plural = _("上架商品")
        ordering = ["window_id", "category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["window", "item"], name="offer_unique_item_in_window"),
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("quantity")), name="offer_reserved_within_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ¥{self.price}"


class OfferBucket(models.Model):
    """A slice of an offer's remaining stock; ``reserved`` slices serve sealed/isolated households."""

    offer = models.ForeignKey(Offer, models.CASCADE, related_name="bucket_rows", verbose_name=_("上架商品"))
    n = models.PositiveSmallIntegerField(_("桶号"))
    reserved = models.BooleanField(_("预留"), default=False)
    remaining = models.IntegerField(_("剩余"))

    class Meta:
        verbose_name = _("库存分桶")
        verbose_name_plural = _("库存分桶")
        constraints = [
            models.UniqueConstraint(fields=["offer", "reserved", "n"], name="offer_bucket_unique"),
            # The last line of defence: whatever the code does, stock cannot go negative.
            models.CheckConstraint(condition=models.Q(remaining__gte=0), name="offer_bucket_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id}#{self.n}{'R' if self.reserved else ''}={self.remaining}"


# ----------------------------------------------------------------------------------------------
# Orders and idempotency (S3)


class IdempotencyKey(models.Model):
    """The first answer given to one (account, key): a retry with the same body gets it again."""

    # No index of its own: the unique (user, key) constraint's index leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("账号"), db_index=False
    )
    key = models.CharField(_("幂等键"), max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("幂等键")
        verbose_name_plural = _("幂等键")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key


class Order(InHousehold):
    """A household's order in a window (S3): placed by a resident, or by proxy by a worker."""

    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    # No index of its own: order_window_idx (window, status, household) leads with it (one index less to
    # keep per order).
    window = models.ForeignKey(
        OrderWindow, models.PROTECT, related_name="orders", verbose_name=_("订购窗口"), db_index=False
    )
    supplier = _fk(Supplier, _("商超"), db_index=False)
    status = models.CharField(_("状态"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    priority = models.PositiveSmallIntegerField(_("优先级"), choices=Priority.choices, default=Priority.NORMAL)
    payment_mode = models.CharField(
        _("付款方式"), max_length=12, choices=PaymentMode.choices, default=PaymentMode.ON_DELIVERY
    )
    total = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    # Indexed for the proxy orders only (a grid worker's list: order_proxy_placer_idx), not for the
    # residents' own orders of a rush; nothing looks orders up by who cancelled them. (Deleting an
    # account in the admin, which is rare, reads the orders through to clear these two fields.)
    placed_by = _user(_("下单人"), db_index=False)
    is_proxy = models.BooleanField(_("代下单"), default=False)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("下单时间"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    cancelled_by = _user(_("取消人"), db_index=False)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        ordering = ["-created_at"]
        constraints = [
            # One live order per household and window: changing an order means cancelling it.
            models.UniqueConstraint(
                fields=["window", "household"],
                condition=models.Q(status="placed"),
                name="order_one_live_per_household",
                violation_error_message=_("本户在该窗口已有订单"),
            ),
        ]
        # (window, status, household): a window's orders by status, and — exactly, whichever index the
        # planner picks — a household's live order in a window. With (window, status) alone, the
        # planner sometimes took it for that lookup too (a new window has no statistics: both indexes
        # looked like one row) and read every placed order of the window, on every order of a rush.
        indexes = [
            models.Index(fields=["window", "status", "household"], name="order_window_idx"),
            models.Index(fields=["placed_by"], name="order_proxy_placer_idx", condition=models.Q(is_proxy=True)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.household_id}"


class OrderLine(models.Model):
    """One item of an order. ``short`` is what the supplier could not deliver (S4 shortfall)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {level: f"order__{lookup}" for level, lookup in HOUSEHOLD_LOOKUPS.items()}
    SUPPLIER_LOOKUP: ClassVar[str] = "order__supplier_id"
    # No index of its own: the unique (order, offer) constraint's index leads with it.
    order = models.ForeignKey(Order, models.CASCADE, related_name="lines", verbose_name=_("订单"), db_index=False)
    offer = models.ForeignKey(Offer, models.PROTECT, related_name="+", verbose_name=_("上架商品"))
    quantity = models.PositiveIntegerField(_("数量"), validators=[MinValueValidator(1)])
    # Units taken from the reserved buckets: a cancellation gives them back where they came from.
    from_reserved = models.PositiveIntegerField(_("来自预留"), default=0)
    price = models.DecimalField(_("单价（元）"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    short = models.PositiveIntegerField(_("缺货数量"), default=0)

    class Meta:
        verbose_name = _("订单明细")
        verbose_name_plural = _("订单明细")
        constraints = [models.UniqueConstraint(fields=["order", "offer"], name="order_line_unique_offer")]

    def __str__(self) -> str:
        return f"{self.offer_id} × {self.quantity}"

    @property
    def delivered_quantity(self) -> int:
        return self.quantity - self.short


class SupplyNotice(InHousehold):
    """A message to a household about its order (a shortfall, a delivery); shown on its page."""

    order = models.ForeignKey(Order, models.CASCADE, null=True, blank=True, related_name="notices")
    text = models.CharField(_("内容"), max_length=500)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("保供通知")
        verbose_name_plural = _("保供通知")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:40]


# ----------------------------------------------------------------------------------------------
# Aggregation, packing and delivery (S4–S6)


class DropOffPoint(models.Model):
    """A drop-off point of a compound (S6): where the supplier's van leaves the bags."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMPOUND_LOOKUPS
    street = _fk(Street, _("街道"), db_index=False)
    community = _fk(Community, _("社区"))
    grid = _fk(Grid, _("网格"), db_index=False)
    compound = models.ForeignKey(Compound, models.CASCADE, related_name="+", verbose_name=_("小区"))
    name = models.CharField(_("名称"), max_length=100)
    location = models.CharField(_("位置说明"), max_length=200, blank=True)
    # The buildings it serves; a compound's point with no buildings serves all the others.
    buildings = models.ManyToManyField(Building, related_name="+", blank=True, verbose_name=_("服务楼栋"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("物资投放点")
        verbose_name_plural = _("物资投放点")
        ordering = ["compound_id", "name"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="drop_off_name_unique")]

    def __str__(self) -> str:
        return self.name


class PurchaseOrder(models.Model):
    """S4: a window's orders aggregated at cut-off into what the supplier must buy and pack."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "window__street_id", "community": "window__community_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "window__supplier_id"
    window = models.OneToOneField(OrderWindow, models.PROTECT, related_name="purchase", verbose_name=_("订购窗口"))
    total = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    orders = models.PositiveIntegerField(_("订单数"))
    created_at = models.DateTimeField(_("汇总时间"), auto_now_add=True)
    created_by = _user(_("汇总人"))
    # The supplier's answer: what it can deliver of each line (a shortfall is then allocated).
    confirmed_at = models.DateTimeField(_("商超确认时间"), null=True, blank=True)
    confirmed_by = _user(_("确认人"))

    class Meta:
        verbose_name = _("采购单")
        verbose_name_plural = _("采购单")

    def __str__(self) -> str:
        return f"PO-{self.pk}"


class PurchaseLine(models.Model):
    """One item of a purchase order for one drop-off point (null: delivered to the door, S4)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "purchase__window__street_id",
        "community": "purchase__window__community_id",
    }
    SUPPLIER_LOOKUP: ClassVar[str] = "purchase__window__supplier_id"
    purchase = models.ForeignKey(PurchaseOrder, models.CASCADE, related_name="lines", verbose_name=_("采购单"))
    offer = models.ForeignKey(Offer, models.PROTECT, related_name="+", verbose_name=_("上架商品"))
    drop_off = models.ForeignKey(
        DropOffPoint, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("投放点")
    )
    quantity = models.PositiveIntegerField(_("订购数量"))
    short = models.PositiveIntegerField(_("缺货数量"), default=0)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("采购明细")
        verbose_name_plural = _("采购明细")

    def __str__(self) -> str:
        return f"{self.offer_id} × {self.quantity}"


class DeliveryRun(models.Model):
    """S6: volunteers carrying a drop-off point's bags the last 100 metres."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMPOUND_LOOKUPS
    street = _fk(Street, _("街道"), db_index=False)
    community = _fk(Community, _("社区"))
    grid = _fk(Grid, _("网格"), db_index=False)
    compound = _fk(Compound, _("小区"), db_index=False)
    window = models.ForeignKey(OrderWindow, models.PROTECT, related_name="runs", verbose_name=_("订购窗口"))
    drop_off = models.ForeignKey(
        DropOffPoint, models.PROTECT, null=True, blank=True, related_name="runs", verbose_name=_("投放点")
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("配送志愿者")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = _user(_("派单人"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("配送任务")
        verbose_name_plural = _("配送任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.window_id} {self.volunteer_id}"


class Package(InHousehold):
    """One household's bag (S5): labelled, carried and handed over (S6)."""

    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    order = models.OneToOneField(Order, models.PROTECT, related_name="package", verbose_name=_("订单"))
    window = models.ForeignKey(OrderWindow, models.PROTECT, related_name="packages", verbose_name=_("订购窗口"))
    supplier = _fk(Supplier, _("商超"), db_index=False)
    drop_off = models.ForeignKey(
        DropOffPoint, models.PROTECT, null=True, blank=True, related_name="packages", verbose_name=_("投放点")
    )
    run = models.ForeignKey(
        DeliveryRun, models.SET_NULL, null=True, blank=True, related_name="packages", verbose_name=_("配送任务")
    )
    handover_code = models.CharField(_("交接码"), max_length=16, default=new_handover_code)
    contactless = models.BooleanField(_("无接触配送"), default=False)
    amount = models.DecimalField(_("应付金额（元）"), max_digits=12, decimal_places=2)
    status = models.CharField(_("状态"), max_length=12, choices=PackageStatus.choices, default=PackageStatus.PACKED)
    handed_over_at = models.DateTimeField(_("交付时间"), null=True, blank=True)
    handed_over_by = _user(_("交付人"))
    photo = models.FileField(_("放门口照片"), upload_to="supplies/handover/%Y/%m/", blank=True)
    confirmed_at = models.DateTimeField(_("居民确认时间"), null=True, blank=True)
    problem = models.CharField(_("未送达原因"), max_length=200, blank=True)
    resolved_at = models.DateTimeField(_("处理完成时间"), null=True, blank=True)
    resolution = models.CharField(_("处理结果"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("配送包裹")
        verbose_name_plural = _("配送包裹")
        constraints = [models.UniqueConstraint(fields=["handover_code"], name="package_handover_code_unique")]
        indexes = [models.Index(fields=["window", "status"], name="package_window_idx")]

    def __str__(self) -> str:
        return self.handover_code


# ----------------------------------------------------------------------------------------------
# Money (S7)


class Payment(InHousehold):
    """Money received for an order: collected in advance by a grid worker, or on delivery."""

    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    order = models.ForeignKey(Order, models.PROTECT, related_name="payments", verbose_name=_("订单"))
    supplier = _fk(Supplier, _("商超"), db_index=False)
    mode = models.CharField(_("方式"), max_length=12, choices=PaymentMode.choices)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    collected_by = _user(_("收款人"))
    collected_at = models.DateTimeField(_("收款时间"))
    settlement = models.ForeignKey(
        "SupplierSettlement", models.SET_NULL, null=True, blank=True, related_name="payments", verbose_name=_("结算")
    )

    class Meta:
        verbose_name = _("收款记录")
        verbose_name_plural = _("收款记录")
        ordering = ["-collected_at"]

    def __str__(self) -> str:
        return f"{self.order_id} ¥{self.amount}"


class CreditEntry(InHousehold):
    """社区记账: the community pays for an elderly or hardship household; settled after the closure."""

    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    order = models.ForeignKey(Order, models.PROTECT, related_name="credits", verbose_name=_("订单"))
    supplier = _fk(Supplier, _("商超"), db_index=False)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("记账时间"))
    created_by = _user(_("记账人"))
    settled_at = models.DateTimeField(_("清账时间"), null=True, blank=True)
    settled_by = _user(_("清账人"))

    class Meta:
        verbose_name = _("社区记账")
        verbose_name_plural = _("社区记账")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.household_id} ¥{self.amount}"


class SupplierSettlement(models.Model):
    """What the community paid a supplier for a window's delivered goods."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "window__street_id", "community": "window__community_id"}
    SUPPLIER_LOOKUP: ClassVar[str] = "supplier_id"
    window = models.ForeignKey(OrderWindow, models.PROTECT, related_name="settlements", verbose_name=_("订购窗口"))
    supplier = models.ForeignKey(Supplier, models.PROTECT, related_name="+", verbose_name=_("商超"))
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    paid_at = models.DateTimeField(_("付款时间"))
    paid_by = _user(_("经办人"))
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("商超结算")
        verbose_name_plural = _("商超结算")
        ordering = ["-paid_at"]

    def __str__(self) -> str:
        return f"{self.window_id} ¥{self.amount}"
