"""Stock, prices and supplier staff checks (SPEC S8–S10), and the street's supplies settings.

Stock (S8): a supplier reports each item's on-hand stock once a day (a second report the same day
corrects the first); the item's ``stock`` follows the latest report. Days of cover = on hand ÷
average daily demand, where demand is the units ordered in live orders of the supplier's windows over
the last ``SupplySettings.demand_days`` days. Under ``min_cover_days`` the item is flagged, with a
simple forecast: the demand of the coming ``min_cover_days`` at that average and the day stock runs
out. No demand means no flag (nothing is running out).

Prices (S9): one report per item a day, due by ``price_report_by`` (later is flagged late); a price
more than ``price_rise_percent`` above the previous report is flagged abnormal.

Staff checks (S10): temperatures (≥ 37.3 ℃ is abnormal) and site disinfections every
``staff_check_hours``, and a test a day per staff member; :func:`staff_checklist` is today's list.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.lib.wording import listed
from linli.registry.models import Street
from linli.supplies.choices import OrderStatus, StaffCheckKind
from linli.supplies.models import (
    BundlePart,
    Item,
    OrderLine,
    PriceReport,
    StaffCheck,
    StockReport,
    Supplier,
    SupplySettings,
)

FEVER = Decimal("37.3")  # S10: a staff temperature at or above this is abnormal
TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("43.0"))
FORECAST_DAYS = 7
# A staff test's result (StaffCheck.result for kind "test").
TEST_RESULTS = {"negative": gettext_lazy("阴性"), "positive": gettext_lazy("阳性"), "pending": gettext_lazy("待出结果")}
STAFF_LOOKBACK_DAYS = 3  # staff seen in the last days are on today's checklist
SETTINGS_FIELDS = (
    "min_cover_days",
    "demand_days",
    "price_report_by",
    "price_rise_percent",
    "staff_check_hours",
    "sealed_reserve_percent",
)


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# ----------------------------------------------------------------------------------------------
# Settings


def settings_for(street: Street | int) -> SupplySettings:
    """The street's supplies thresholds, created with the defaults on first use."""
    street_id = street if isinstance(street, int) else street.pk
    try:
        found, _created = SupplySettings.objects.get_or_create(street_id=street_id)
    except IntegrityError:  # created meanwhile by another request
        found = SupplySettings.objects.get(street_id=street_id)
    return found


def settings_update(street: Street | int, *, actor: Any = None, **changes: Any) -> SupplySettings:
    """Change the street's thresholds (street command); audited."""
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    settings_for(street)
    street_id = street if isinstance(street, int) else street.pk
    with transaction.atomic():
        found = SupplySettings.objects.select_for_update().get(street_id=street_id)
        before = snapshot(found)
        for name, value in changes.items():
            setattr(found, name, value)
        found.updated_by = _actor(actor)
        found.full_clean(exclude=["street"])
        errors: dict[str, str] = {}
        if not 1 <= found.min_cover_days <= 60:
            errors["min_cover_days"] = _("库存最少保障天数须在 1 到 60 天之间")
        if not 1 <= found.staff_check_hours <= 24:
            errors["staff_check_hours"] = _("检测间隔须在 1 到 24 小时之间")
        if not Decimal("0") < found.price_rise_percent <= Decimal("1000"):
            errors["price_rise_percent"] = _("价格上涨阈值须大于 0")
        if errors:
            raise ValidationError(errors)
        found.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=found,
            changes=diff(before, snapshot(found)),
            street_id=street_id,
        )
    return found


# ----------------------------------------------------------------------------------------------
# Stock (S8)


def _quantity(value: Any, field_name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationError({field_name: _("请填写不小于 0 的整数")}) from exc
    if number < 0 or number > 100_000_000:
        raise ValidationError({field_name: _("请填写不小于 0 的整数")})
    return number


@transaction.atomic
def stock_report(
    *,
    item: Item,
    quantity: int | str,
    actor: Any = None,
    date: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> StockReport:
    """The day's on-hand stock of ``item`` (a second report the same day corrects it); updates ``item.stock``."""
    today = timezone.localdate(_now(now))
    date = date or today
    if date > today:
        raise ValidationError({"date": _("不能上报未来日期的库存")})
    amount = _quantity(quantity, "quantity")
    report, _created = StockReport.objects.update_or_create(
        item=item,
        date=date,
        defaults={"supplier_id": item.supplier_id, "quantity": amount, "reported_by": _actor(actor)},
    )
    # The item's stock is the latest day's report: a back-dated correction leaves a newer one in force.
    latest = StockReport.objects.filter(item=item).order_by("-date").values_list("quantity", flat=True).first()
    Item.objects.filter(pk=item.pk).update(stock=latest if latest is not None else amount)
    item.stock = latest if latest is not None else amount
    return report


def stock_reports_bulk(
    supplier: Supplier, quantities: dict[int, Any], *, actor: Any = None, now: datetime.datetime | None = None
) -> list[StockReport]:
    """Today's stock of several items of ``supplier`` at once (the daily form); all or nothing."""
    items = {item.pk: item for item in Item.objects.filter(supplier=supplier, pk__in=list(quantities))}
    errors: dict[str, list[str]] = {}
    for item_id, value in quantities.items():
        if item_id not in items:
            raise ValidationError({"item": _("只能上报本商超的商品")})
        try:
            _quantity(value, "quantity")
        except ValidationError:
            errors[f"item_{item_id}"] = [_("%(name)s：请填写不小于 0 的整数") % {"name": items[item_id].name}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return [stock_report(item=items[pk], quantity=value, actor=actor, now=now) for pk, value in quantities.items()]


@dataclass
class Cover:
    """One item's days of cover (S8)."""

    item: Item
    on_hand: int
    demand: int  # units ordered over the demand days
    daily: Decimal  # average daily demand
    days: Decimal | None  # None: no demand, nothing runs out
    flagged: bool
    forecast: int  # units the coming FORECAST_DAYS (min_cover_days) will ask for at that average
    runs_out_on: datetime.date | None
    reported_on: datetime.date | None


def demand_by_item(supplier_ids: list[int], *, days: int, now: datetime.datetime | None = None) -> dict[int, int]:
    """Item id -> units ordered in live orders of these suppliers' windows over the last ``days`` days."""
    since = _now(now) - datetime.timedelta(days=days)
    rows = (
        OrderLine.objects.filter(
            order__supplier_id__in=supplier_ids,
            order__status=OrderStatus.PLACED,
            order__created_at__gte=since,
            order__created_at__lte=_now(now),
        )
        .values("offer__item_id")
        .annotate(n=Sum("quantity"))
        .order_by()
    )
    demand = {row["offer__item_id"]: int(row["n"] or 0) for row in rows}
    # A bundle sold is its parts taken from stock (a vegetable box: 2 斤 of cabbage, …): their demand too.
    from_bundles: dict[int, Decimal] = defaultdict(Decimal)
    for bundle_id, part_id, quantity in BundlePart.objects.filter(bundle_id__in=list(demand)).values_list(
        "bundle_id", "part_id", "quantity"
    ):
        from_bundles[part_id] += demand[bundle_id] * quantity
    for part_id, units in from_bundles.items():
        demand[part_id] = demand.get(part_id, 0) + math.ceil(units)
    return demand


def _cover(item: Item, demand: int, settings: SupplySettings, today: datetime.date, reported_on: Any) -> Cover:
    daily = (Decimal(demand) / Decimal(settings.demand_days)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if demand <= 0:
        return Cover(item, item.stock, 0, Decimal("0"), None, False, 0, None, reported_on)
    exact = Decimal(item.stock) * settings.demand_days / Decimal(demand)
    days = exact.quantize(Decimal("0.1"), ROUND_HALF_UP)
    forecast = math.ceil(Decimal(demand) * settings.min_cover_days / Decimal(settings.demand_days))
    runs_out = today + datetime.timedelta(days=int(exact))
    return Cover(
        item, item.stock, demand, daily, days, exact < settings.min_cover_days, forecast, runs_out, reported_on
    )


def days_of_cover(
    suppliers: Any, *, now: datetime.datetime | None = None, settings: SupplySettings | None = None
) -> list[Cover]:
    """The active items of ``suppliers`` (one, or a queryset/list of one street's) with their days of cover."""
    if isinstance(suppliers, Supplier):
        suppliers = [suppliers]
    suppliers = list(suppliers)
    if not suppliers:
        return []
    settings = settings or settings_for(suppliers[0].street_id)
    ids = [s.pk for s in suppliers]
    demand = demand_by_item(ids, days=settings.demand_days, now=now)
    today = timezone.localdate(_now(now))
    last: dict[int, datetime.date] = {}
    for row in StockReport.objects.filter(supplier_id__in=ids).values("item_id").annotate(d=Max("date")):
        last[row["item_id"]] = row["d"]
    items = Item.objects.filter(supplier_id__in=ids, is_active=True).select_related("supplier")
    items = items.order_by("supplier__name", "category", "name")
    return [_cover(item, demand.get(item.pk, 0), settings, today, last.get(item.pk)) for item in items]


# ----------------------------------------------------------------------------------------------
# Prices (S9)


@transaction.atomic
def price_report(
    *, item: Item, price: Decimal | str | int, actor: Any = None, now: datetime.datetime | None = None
) -> PriceReport:
    """Today's price of ``item``: late after ``price_report_by``, abnormal beyond ``price_rise_percent``.

    The previous price is the latest report of an earlier day; a correction the same day compares
    with it again. The catalogue price follows the report (windows keep the price they offered).
    """
    moment = timezone.localtime(_now(now))
    today = moment.date()
    try:
        amount = Decimal(str(price).strip())
    except (ArithmeticError, ValueError) as exc:
        raise ValidationError({"price": _("请填写正确的价格，如 12.50")}) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
        raise ValidationError({"price": _("请填写正确的价格，如 12.50")})
    amount = amount.quantize(Decimal("0.01"))
    settings = settings_for(Supplier.objects.values_list("street_id", flat=True).get(pk=item.supplier_id))
    previous = (
        PriceReport.objects.filter(item=item, date__lt=today).order_by("-date").values_list("price", flat=True).first()
    )
    abnormal = bool(previous and amount > previous * (1 + settings.price_rise_percent / Decimal(100)))
    existing = PriceReport.objects.filter(item=item, date=today).first()
    # A same-day correction keeps the first report's lateness: correcting at 16:00 a report made at 14:00 is not late.
    late = existing.is_late if existing is not None else moment.time() > settings.price_report_by
    report, _created = PriceReport.objects.update_or_create(
        item=item,
        date=today,
        defaults={
            "supplier_id": item.supplier_id,
            "price": amount,
            "previous_price": previous,
            "is_late": late,
            "is_abnormal": abnormal,
            "reported_by": _actor(actor),
        },
    )
    if item.price != amount:
        Item.objects.filter(pk=item.pk).update(price=amount)
        item.price = amount
    return report


def price_status(supplier: Supplier, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Today's price reporting of ``supplier``: the reports, the items still missing, and whether it is past due."""
    moment = timezone.localtime(_now(now))
    settings = settings_for(supplier.street_id)
    reports = list(
        PriceReport.objects.filter(supplier=supplier, date=moment.date()).select_related("item").order_by("item__name")
    )
    reported = {r.item_id for r in reports}
    missing = [
        i for i in Item.objects.filter(supplier=supplier, is_active=True).order_by("name") if i.pk not in reported
    ]
    return {
        "reports": reports,
        "missing": missing,
        "due": settings.price_report_by,
        "overdue": moment.time() > settings.price_report_by and bool(missing),
        "abnormal": [r for r in reports if r.is_abnormal],
    }


# ----------------------------------------------------------------------------------------------
# Staff checks (S10)


@transaction.atomic
def staff_check_record(
    *,
    supplier: Supplier,
    kind: str,
    staff_name: str,
    actor: Any = None,
    at: datetime.datetime | None = None,
    temperature: Decimal | str | None = None,
    result: str = "",
    now: datetime.datetime | None = None,
) -> StaffCheck:
    """Log a staff temperature, a site disinfection or a staff test; abnormal: ≥ 37.3 ℃, or a positive test."""
    moment = _now(now)
    at = at or moment
    if at > moment + datetime.timedelta(minutes=5):
        raise ValidationError({"at": _("时间不能晚于现在")})
    if kind not in StaffCheckKind.values:
        raise ValidationError({"kind": _("请选择记录类型")})
    staff_name = (staff_name or "").strip()
    if not staff_name:
        raise ValidationError({"staff_name": _("请填写员工姓名或消杀场所")})
    if len(staff_name) > 50:
        raise ValidationError({"staff_name": _("姓名或场所最多 50 个字")})
    value: Decimal | None = None
    abnormal = False
    result = (result or "").strip()
    if kind == StaffCheckKind.TEMPERATURE:
        try:
            value = Decimal(str(temperature).strip()).quantize(Decimal("0.1"))
        except (ArithmeticError, ValueError) as exc:
            raise ValidationError({"temperature": _("请填写体温，如 36.5")}) from exc
        low, high = TEMPERATURE_RANGE
        if not value.is_finite() or not low <= value <= high:
            raise ValidationError({"temperature": _("体温须在 34 到 43 ℃ 之间")})
        abnormal = value >= FEVER
        result = ""
    elif kind == StaffCheckKind.TEST:
        if result not in TEST_RESULTS:
            raise ValidationError({"result": _("请选择检测结果")})
        abnormal = result == "positive"
    else:
        result = result[:20]
    check = StaffCheck.objects.create(
        supplier=supplier,
        kind=kind,
        staff_name=staff_name,
        at=at,
        temperature=value,
        result=result,
        is_abnormal=abnormal,
        recorded_by=_actor(actor),
    )
    if abnormal:
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=check,
            changes=diff({}, snapshot(check)),
            street_id=supplier.street_id,
        )
    return check


@dataclass
class StaffRow:
    """One staff member on today's checklist."""

    name: str
    last_temperature: StaffCheck | None = None
    temperature_due: datetime.datetime | None = None
    temperature_overdue: bool = True
    test_today: StaffCheck | None = None
    abnormal: list[StaffCheck] = field(default_factory=list)


@dataclass
class Checklist:
    """A supplier's S10 checks today."""

    supplier: Supplier
    hours: int
    staff: list[StaffRow]
    last_disinfection: StaffCheck | None
    disinfection_due: datetime.datetime | None
    disinfection_overdue: bool
    abnormal: list[StaffCheck]
    checks_today: int

    @property
    def all_done(self) -> bool:
        return (
            not self.disinfection_overdue
            and all(not row.temperature_overdue and row.test_today is not None for row in self.staff)
            and not self.abnormal
        )


def staff_checklist(
    supplier: Supplier, *, now: datetime.datetime | None = None, staff_names: list[str] | None = None
) -> Checklist:
    """Today's checks of ``supplier``: each staff member's last temperature (overdue after ``staff_check_hours``)
    and today's test, the last disinfection, and today's abnormal findings.

    Staff are those logged in the last days, the supplier's accounts, and ``staff_names``.
    """
    moment = _now(now)
    local = timezone.localtime(moment)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = settings_for(supplier.street_id).staff_check_hours
    every = datetime.timedelta(hours=hours)
    recent = list(
        StaffCheck.objects.filter(
            supplier=supplier, at__gte=start - datetime.timedelta(days=STAFF_LOOKBACK_DAYS), at__lte=moment
        ).order_by("at", "pk")
    )
    names: dict[str, StaffRow] = {}
    for name in staff_names or []:
        names.setdefault(name, StaffRow(name))
    from linli.accounts.models import User

    for user in User.objects.filter(supplier=supplier, is_active=True).order_by("pk"):
        label = str(user.display_name or user.username)
        names.setdefault(label, StaffRow(label))
    last_disinfection: StaffCheck | None = None
    abnormal: list[StaffCheck] = []
    today_n = 0
    for check in recent:
        today = check.at >= start
        today_n += int(today)
        if check.kind == StaffCheckKind.DISINFECTION:
            last_disinfection = check
            continue
        row = names.setdefault(check.staff_name, StaffRow(check.staff_name))
        if check.kind == StaffCheckKind.TEMPERATURE:
            row.last_temperature = check
        elif check.kind == StaffCheckKind.TEST and today:
            row.test_today = check
        if today and check.is_abnormal:
            row.abnormal.append(check)
            abnormal.append(check)
    for row in names.values():
        if row.last_temperature is not None:
            row.temperature_due = row.last_temperature.at + every
            row.temperature_overdue = row.temperature_due < moment
    disinfection_due = last_disinfection.at + every if last_disinfection else None
    return Checklist(
        supplier=supplier,
        hours=hours,
        staff=sorted(names.values(), key=lambda r: r.name),
        last_disinfection=last_disinfection,
        disinfection_due=disinfection_due,
        disinfection_overdue=disinfection_due is None or disinfection_due < moment,
        abnormal=abnormal,
        checks_today=today_n,
    )


def street_flags(suppliers: Any, *, now: datetime.datetime | None = None) -> dict[int, dict[str, int]]:
    """Supplier id -> counts the street's dashboard shows: items under cover, abnormal prices today,
    abnormal staff checks today."""
    suppliers = list(suppliers)
    if not suppliers:
        return {}
    moment = _now(now)
    today = timezone.localdate(moment)
    start = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    ids = [s.pk for s in suppliers]
    flags: dict[int, dict[str, int]] = defaultdict(lambda: {"low": 0, "prices": 0, "staff": 0})
    for cover in days_of_cover(suppliers, now=now):
        if cover.flagged:
            flags[cover.item.supplier_id]["low"] += 1
    for sid in PriceReport.objects.filter(supplier_id__in=ids, date=today, is_abnormal=True).values_list(
        "supplier_id", flat=True
    ):
        flags[sid]["prices"] += 1
    for sid in StaffCheck.objects.filter(supplier_id__in=ids, at__gte=start, is_abnormal=True).values_list(
        "supplier_id", flat=True
    ):
        flags[sid]["staff"] += 1
    return {sid: dict(flags[sid]) for sid in ids}
