"""Supplies API: stock reports and days of cover (S8), price reports (S9), staff checks (S10), and the
street's supplies settings (docs/supplies.md). Same rules as ``api_catalogue``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from linli.lib import scope
from linli.supplies.api_catalogue import ErrorOut, editable_one, invalid, not_found, require, street_of, visible_one
from linli.supplies.models import Item, PriceReport, StaffCheck, StockReport, Supplier
from linli.supplies.permissions import CATALOGUE_ROLES, STREET_ROLES
from linli.supplies.services import stock

router = Router(tags=["supplies-stock"])

HISTORY_DAYS = 31
LIST_LIMIT = 1000


class StockOut(Schema):
    id: int
    supplier_id: int
    item_id: int
    date: datetime.date
    quantity: int
    reported_at: datetime.datetime


class StockIn(Schema):
    item_id: int
    quantity: int = Field(ge=0, le=100_000_000)
    date: datetime.date | None = Field(default=None, description="留空为今天；可更正以前的日报")


class CoverOut(Schema):
    supplier_id: int
    item_id: int
    item_name: str
    unit: str
    on_hand: int
    demand: int = Field(description="近 demand_days 天有效订单的订购数量")
    daily: Decimal = Field(description="日均需求")
    days: Decimal | None = Field(description="可保障天数；无需求为空")
    flagged: bool = Field(description="低于最少保障天数")
    forecast: int = Field(description="今后 min_cover_days 天的预计需求")
    runs_out_on: datetime.date | None
    reported_on: datetime.date | None


class PriceOut(Schema):
    id: int
    supplier_id: int
    item_id: int
    date: datetime.date
    price: Decimal
    previous_price: Decimal | None
    is_late: bool
    is_abnormal: bool
    reported_at: datetime.datetime


class PriceIn(Schema):
    item_id: int
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)


class CheckOut(Schema):
    id: int
    supplier_id: int
    kind: str
    staff_name: str
    at: datetime.datetime
    temperature: Decimal | None
    result: str
    is_abnormal: bool


class CheckIn(Schema):
    supplier_id: int
    kind: str = Field(description="temperature 体温 / disinfection 场所消杀 / test 核酸检测")
    staff_name: str = Field(max_length=50, description="员工姓名；消杀填场所")
    at: datetime.datetime | None = Field(default=None, description="留空为现在")
    temperature: Decimal | None = Field(default=None, description="体温（kind=temperature）")
    result: str = Field(default="", max_length=20, description="检测结果 negative / positive / pending（kind=test）")


class StaffRowOut(Schema):
    name: str
    last_temperature_at: datetime.datetime | None
    last_temperature: Decimal | None
    temperature_due: datetime.datetime | None
    temperature_overdue: bool
    tested_today: bool
    abnormal: int


class ChecklistOut(Schema):
    supplier_id: int
    hours: int
    staff: list[StaffRowOut]
    last_disinfection_at: datetime.datetime | None
    disinfection_due: datetime.datetime | None
    disinfection_overdue: bool
    abnormal: list[CheckOut]
    all_done: bool


class SupplySettingsOut(Schema):
    street_id: int
    min_cover_days: int
    demand_days: int
    price_report_by: datetime.time
    price_rise_percent: Decimal
    staff_check_hours: int
    sealed_reserve_percent: int


class SupplySettingsPatch(Schema):
    min_cover_days: int | None = Field(default=None, ge=1, le=60)
    demand_days: int | None = Field(default=None, ge=1, le=60)
    price_report_by: datetime.time | None = None
    price_rise_percent: Decimal | None = Field(default=None, gt=0, max_digits=5, decimal_places=1)
    staff_check_hours: int | None = Field(default=None, ge=1, le=24)
    sealed_reserve_percent: int | None = Field(default=None, ge=0, le=100)


def _since() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=HISTORY_DAYS)


@router.get("/stock-reports", response=list[StockOut], summary="库存日报（近 31 天，可按商超、商品筛选）")
def stock_list(request: HttpRequest, supplier: int | None = None, item: int | None = None) -> Any:
    user = require(request, CATALOGUE_ROLES)
    qs = scope.visible(StockReport.objects.filter(date__gte=_since()), user)
    if supplier is not None:
        qs = qs.filter(supplier_id=supplier)
    if item is not None:
        qs = qs.filter(item_id=item)
    return list(qs.order_by("-date", "item_id")[:LIST_LIMIT])


@router.post("/stock-reports", response={201: StockOut, 422: ErrorOut}, summary="上报库存（每品每天一条，再报即更正）")
def stock_create(request: HttpRequest, payload: StockIn) -> Any:
    user = require(request, CATALOGUE_ROLES)
    item = editable_one(Item.objects.all(), user, payload.item_id)
    try:
        report = stock.stock_report(item=item, quantity=payload.quantity, date=payload.date, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, report)


@router.get("/cover", response=list[CoverOut], summary="库存可保障天数（低于最少保障天数的标红，附需求预测）")
def cover(request: HttpRequest, supplier: int | None = None, flagged: bool = False) -> Any:
    user = require(request, CATALOGUE_ROLES)
    suppliers = scope.visible(Supplier.objects.filter(is_active=True), user)
    if supplier is not None:
        suppliers = suppliers.filter(pk=supplier)
    found = list(suppliers)
    rows = []
    street_ids = {s.street_id for s in found}
    for street_id in sorted(street_ids):
        group = [s for s in found if s.street_id == street_id]
        rows.extend(stock.days_of_cover(group))
    return [
        {
            "supplier_id": c.item.supplier_id,
            "item_id": c.item.pk,
            "item_name": c.item.name,
            "unit": c.item.unit,
            "on_hand": c.on_hand,
            "demand": c.demand,
            "daily": c.daily,
            "days": c.days,
            "flagged": c.flagged,
            "forecast": c.forecast,
            "runs_out_on": c.runs_out_on,
            "reported_on": c.reported_on,
        }
        for c in rows
        if c.flagged or not flagged
    ]


@router.get("/price-reports", response=list[PriceOut], summary="价格日报（近 31 天）")
def price_list(
    request: HttpRequest, supplier: int | None = None, item: int | None = None, abnormal: bool = False
) -> Any:
    user = require(request, CATALOGUE_ROLES)
    qs = scope.visible(PriceReport.objects.filter(date__gte=_since()), user)
    if supplier is not None:
        qs = qs.filter(supplier_id=supplier)
    if item is not None:
        qs = qs.filter(item_id=item)
    if abnormal:
        qs = qs.filter(is_abnormal=True)
    return list(qs.order_by("-date", "item_id")[:LIST_LIMIT])


@router.post("/price-reports", response={201: PriceOut, 422: ErrorOut}, summary="上报今日价格（15:00 前）")
def price_create(request: HttpRequest, payload: PriceIn) -> Any:
    user = require(request, CATALOGUE_ROLES)
    item = editable_one(Item.objects.all(), user, payload.item_id)
    try:
        report = stock.price_report(item=item, price=payload.price, actor=user)
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, report)


@router.get("/staff-checks", response=list[CheckOut], summary="员工测温、消杀与检测记录（近 31 天）")
def check_list(request: HttpRequest, supplier: int | None = None, abnormal: bool = False) -> Any:
    user = require(request, CATALOGUE_ROLES)
    since = timezone.now() - datetime.timedelta(days=HISTORY_DAYS)
    qs = scope.visible(StaffCheck.objects.filter(at__gte=since), user)
    if supplier is not None:
        qs = qs.filter(supplier_id=supplier)
    if abnormal:
        qs = qs.filter(is_abnormal=True)
    return list(qs.order_by("-at", "-pk")[:LIST_LIMIT])


@router.post("/staff-checks", response={201: CheckOut, 422: ErrorOut}, summary="记录员工体温、场所消杀或检测")
def check_create(request: HttpRequest, payload: CheckIn) -> Any:
    user = require(request, CATALOGUE_ROLES)
    supplier = editable_one(Supplier.objects.all(), user, payload.supplier_id)
    try:
        check = stock.staff_check_record(actor=user, supplier=supplier, **payload.dict(exclude={"supplier_id"}))
    except ValidationError as exc:
        return invalid(exc)
    return Status(201, check)


@router.get("/suppliers/{supplier_id}/checklist", response=ChecklistOut, summary="今日员工健康与消杀清单")
def checklist(request: HttpRequest, supplier_id: int) -> Any:
    user = require(request, CATALOGUE_ROLES)
    supplier = visible_one(Supplier.objects.all(), user, supplier_id)
    found = stock.staff_checklist(supplier)
    return {
        "supplier_id": supplier.pk,
        "hours": found.hours,
        "staff": [
            {
                "name": row.name,
                "last_temperature_at": row.last_temperature.at if row.last_temperature else None,
                "last_temperature": row.last_temperature.temperature if row.last_temperature else None,
                "temperature_due": row.temperature_due,
                "temperature_overdue": row.temperature_overdue,
                "tested_today": row.test_today is not None,
                "abnormal": len(row.abnormal),
            }
            for row in found.staff
        ],
        "last_disinfection_at": found.last_disinfection.at if found.last_disinfection else None,
        "disinfection_due": found.disinfection_due,
        "disinfection_overdue": found.disinfection_overdue,
        "abnormal": found.abnormal,
        "all_done": found.all_done,
    }


@router.get("/settings", response=SupplySettingsOut, summary="本街道保供设置")
def settings_get(request: HttpRequest) -> Any:
    user = require(request, CATALOGUE_ROLES)
    if scope.user_level(user) is None and not scope.is_unrestricted(user):
        supplier = Supplier.objects.filter(pk=user.supplier_id).first()
        if supplier is None:
            raise not_found()
        return stock.settings_for(supplier.street_id)
    return stock.settings_for(street_of(user))


@router.patch("/settings", response={200: SupplySettingsOut, 422: ErrorOut}, summary="修改本街道保供设置（街道指挥部）")
def settings_update(request: HttpRequest, payload: SupplySettingsPatch) -> Any:
    user = require(request, STREET_ROLES)
    street = street_of(user)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    try:
        return stock.settings_update(street, actor=user, **changes)
    except ValidationError as exc:
        return invalid(exc)
