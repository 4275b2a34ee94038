"""Supplies in the back office: settings, suppliers and items editable; everything else looked up read-only.

Windows, offers (with their stock buckets), orders, packages and money are written through the supplies
services (pages and API), which keep stock, buckets and amounts consistent; here they are only read.
Every list is scoped like the pages (``ScopedAdmin``). Stock buckets and idempotency keys carry no
scope and are not shown.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.lib.admin import ScopedAdmin
from linli.supplies.models import (
    BundlePart,
    CreditEntry,
    DeliveryRun,
    DropOffPoint,
    Item,
    Offer,
    Order,
    OrderLine,
    OrderWindow,
    Package,
    Payment,
    PriceReport,
    PurchaseLine,
    PurchaseOrder,
    StaffCheck,
    StockReport,
    Supplier,
    SupplierSettlement,
    SupplyNotice,
    SupplySettings,
    WindowSchedule,
)


class ReadOnlyAdmin(ScopedAdmin):
    """A record written by the supplies services: readable in scope, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChangeOnlyAdmin(ScopedAdmin):
    """Changed here in scope; created and removed only through the pages (which validate and audit)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SupplySettings)
class SupplySettingsAdmin(ChangeOnlyAdmin):
    list_display = ["street", "min_cover_days", "demand_days", "price_report_by", "price_rise_percent"]
    readonly_fields = ["street", "updated_at", "updated_by"]


@admin.register(Supplier)
class SupplierAdmin(ChangeOnlyAdmin):
    list_display = ["name", "street", "contact_name", "contact_phone", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    readonly_fields = ["street", "created_at"]


@admin.register(Item)
class ItemAdmin(ChangeOnlyAdmin):
    list_display = ["name", "supplier", "category", "unit", "price", "stock", "per_household_limit", "is_active"]
    list_filter = ["category", "is_bundle", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["supplier", "stock", "updated_at"]


@admin.register(BundlePart)
class BundlePartAdmin(ReadOnlyAdmin):
    list_display = ["bundle", "part", "quantity"]


@admin.register(StockReport)
class StockReportAdmin(ReadOnlyAdmin):
    list_display = ["date", "supplier", "item", "quantity", "reported_by"]
    list_filter = ["date"]


@admin.register(PriceReport)
class PriceReportAdmin(ReadOnlyAdmin):
    list_display = ["date", "supplier", "item", "price", "previous_price", "is_late", "is_abnormal"]
    list_filter = ["is_abnormal", "is_late", "date"]


@admin.register(StaffCheck)
class StaffCheckAdmin(ReadOnlyAdmin):
    list_display = ["at", "supplier", "kind", "staff_name", "temperature", "result", "is_abnormal"]
    list_filter = ["kind", "is_abnormal"]


@admin.register(WindowSchedule)
class WindowScheduleAdmin(ReadOnlyAdmin):
    list_display = ["supplier", "community", "order_weekdays", "opens_time", "cutoff_time", "is_active"]


@admin.register(OrderWindow)
class OrderWindowAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "supplier", "community", "opens_at", "cutoff_at", "delivery_on", "status"]
    list_filter = ["status"]
    date_hierarchy = "opens_at"


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["name", "window", "price", "quantity", "reserved", "buckets"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["pk", "window", "household", "status", "priority", "payment_mode", "total", "is_proxy"]
    list_filter = ["status", "priority", "payment_mode", "is_proxy"]


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "offer", "quantity", "price", "amount", "short"]


@admin.register(SupplyNotice)
class SupplyNoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "household", "text", "read_at"]


@admin.register(DropOffPoint)
class DropOffPointAdmin(ReadOnlyAdmin):
    list_display = ["name", "compound", "location", "is_active"]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "window", "orders", "total", "created_at", "confirmed_at"]


@admin.register(PurchaseLine)
class PurchaseLineAdmin(ReadOnlyAdmin):
    list_display = ["purchase", "offer", "drop_off", "quantity", "short", "amount"]


@admin.register(DeliveryRun)
class DeliveryRunAdmin(ReadOnlyAdmin):
    list_display = ["window", "drop_off", "volunteer", "created_at", "finished_at"]


@admin.register(Package)
class PackageAdmin(ReadOnlyAdmin):
    list_display = ["handover_code", "window", "household", "status", "contactless", "amount", "handed_over_at"]
    list_filter = ["status", "contactless"]
    search_fields = ["handover_code"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["order", "mode", "amount", "collected_by", "collected_at"]
    list_filter = ["mode"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["household", "order", "amount", "created_at", "settled_at"]


@admin.register(SupplierSettlement)
class SupplierSettlementAdmin(ReadOnlyAdmin):
    list_display = ["window", "supplier", "amount", "paid_at", "paid_by"]
