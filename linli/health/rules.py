"""The street's rule table (H2), risk areas (H9) and reporting clock (H3), seeded with SPEC's defaults.

Every number here comes from SPEC H2–H5 (and through it from the seeds), except where a comment
says it is a local default for a category SPEC names (H1) without giving its measures.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.health.choices import RISK_ORDER, Category, Place, RiskLevel
from linli.health.models import HealthSettings, MeasureRule, RiskArea
from linli.lib.wording import listed
from linli.registry.models import Street


@dataclass(frozen=True)
class RuleDefault:
    days: int
    place: str
    test_days: tuple[int, ...]
    test_within_days: int | None = None
    reports_per_day: int = 2
    note: str = ""


# SPEC H2 [004, 001 p6, 000 p4]; H3 for the twice-daily temperatures of home observation [002 p4].
DEFAULT_RULES: dict[str, RuleDefault] = {
    # high-risk returnee → 14 days centralized isolation + 3 nucleic tests [004]
    Category.HIGH_RISK_RETURNEE: RuleDefault(14, Place.CENTRALIZED, (1, 7, 14)),
    # medium-risk → 14 days home isolation + 2 tests [004]
    Category.MEDIUM_RISK_RETURNEE: RuleDefault(14, Place.HOME, (1, 14)),
    # low-risk → negative test from the last 7 days [004]
    Category.LOW_RISK_RETURNEE: RuleDefault(0, Place.NONE, (), test_within_days=7, reports_per_day=0),
    # close contact → 14 days centralized observation [001 p6, 004]; SPEC gives no test count: one on
    # the last day, because a release needs a negative test (H4)
    Category.CLOSE_CONTACT: RuleDefault(14, Place.CENTRALIZED, (14,)),
    # other-province arrival → 7 days home observation [001 p6]; a test on the last day, as above
    Category.OTHER_PROVINCE: RuleDefault(7, Place.HOME_OBSERVATION, (7,)),
    # returnee (alt. plan) → 14 days home health monitoring with a test every 7 days [000 p4]
    Category.RETURNEE_MONITORING: RuleDefault(14, Place.HOME_MONITORING, (7, 14)),
    # H1 names these two without measures: local defaults, editable (14 days at home, tested at the end).
    Category.SYMPTOMATIC: RuleDefault(14, Place.HOME_OBSERVATION, (1, 14)),
    Category.HOME_OBSERVATION: RuleDefault(14, Place.HOME_OBSERVATION, (14,)),
}

# The returnee categories by the level of the area they come from (H1).
RETURNEE_BY_LEVEL = {
    RiskLevel.HIGH: Category.HIGH_RISK_RETURNEE,
    RiskLevel.MEDIUM: Category.MEDIUM_RISK_RETURNEE,
    RiskLevel.LOW: Category.LOW_RISK_RETURNEE,
}


def settings_for(street: Street | int) -> HealthSettings:
    """The street's reporting clock and thresholds, created with SPEC's defaults on first use."""
    street_id = street if isinstance(street, int) else street.pk
    found, _created = HealthSettings.objects.get_or_create(street_id=street_id)
    return found


def rules_table(street: Street | int) -> dict[str, MeasureRule]:
    """The street's rule table by category; missing rows are created from :data:`DEFAULT_RULES`."""
    street_id = street if isinstance(street, int) else street.pk
    rows = {rule.category: rule for rule in MeasureRule.objects.filter(street_id=street_id)}
    missing = [category for category in DEFAULT_RULES if category not in rows]
    if missing:
        MeasureRule.objects.bulk_create(
            [_default_rule(street_id, category) for category in missing], ignore_conflicts=True
        )
        rows = {rule.category: rule for rule in MeasureRule.objects.filter(street_id=street_id)}
    return rows


def rule_for(street: Street | int, category: str) -> MeasureRule:
    return rules_table(street)[category]


def _default_rule(street_id: int, category: str) -> MeasureRule:
    default = DEFAULT_RULES[category]
    return MeasureRule(
        street_id=street_id,
        category=category,
        days=default.days,
        place=default.place,
        test_days=list(default.test_days),
        test_within_days=default.test_within_days,
        reports_per_day=default.reports_per_day,
        note=default.note,
    )


def validate_test_days(days: int, test_days: Any) -> list[int]:
    """The test days as a sorted list of distinct day numbers within the period; ValueError if not.

    A rule without a period (0 days) has no test days: they would never be scheduled.
    """
    if not isinstance(test_days, list | tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in test_days
    ):
        raise ValueError(_("检测日须为整数列表，如 1, 7, 14"))
    clean = sorted(set(test_days))
    if clean and not days:
        raise ValueError(_("无需隔离的人员不安排检测日；如需阴性证明，请填写“需持几日内核酸阴性证明”"))
    if clean and (clean[0] < 1 or clean[-1] > days):
        raise ValueError(_("检测日须在第 1 天到第 %(days)s 天之间") % {"days": days})
    return clean


# The fields of a rule the street may change (the street and the category name the row).
RULE_FIELDS = frozenset({"days", "place", "test_days", "test_within_days", "reports_per_day", "note"})


def rule_update(rule: MeasureRule, *, actor: Any, **changes: Any) -> MeasureRule:
    """Change a rule of the street's table; audited. Orders already started keep their copy.

    Refused (``ValidationError``, keyed by field) for test days outside the period, a period
    without a place or a place without a period.
    """
    unknown = sorted(set(changes) - RULE_FIELDS)
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    with transaction.atomic():
        rule = MeasureRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(rule)
        for name, value in changes.items():
            setattr(rule, name, value)
        try:
            rule.test_days = validate_test_days(rule.days, rule.test_days)
        except ValueError as exc:
            raise ValidationError({"test_days": str(exc)}) from None
        if rule.days and rule.place == Place.NONE:
            raise ValidationError({"place": _("有隔离（观察）天数时须选择方式")})
        if not rule.days and rule.place != Place.NONE:
            raise ValidationError({"days": _("请填写隔离（观察）天数，或将方式设为无需隔离")})
        rule.full_clean()
        rule.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=rule,
            changes=diff(before, snapshot(rule)),
            street_id=rule.street_id,
        )
    return rule


# The reporting clock and thresholds the street may change (H3, H5).
# The street's settings a person may change, in the order the settings form shows them.
SETTINGS_FIELDS: tuple[str, ...] = (
    "morning_slot",
    "afternoon_slot",
    "report_deadline",
    "summary_due",
    "fever_threshold",
    "risk_window_days",
    "status_window_days",
    "large_outbreak_cases",
    "due_community_notified",
    "due_street_informed",
    "due_centre_informed",
    "due_ambulance_sent",
    "due_at_fever_clinic",
    "due_cdc_informed",
    "unit_seal_reports_per_day",
    "building_seal_reports_per_day",
)

# The fever threshold a street may set (H3: 37.3 ℃ by default).
FEVER_THRESHOLD_RANGE = (Decimal("36.0"), Decimal("39.0"))


def settings_update(street: Street | int, *, actor: Any, **changes: Any) -> HealthSettings:
    """Change the street's reporting clock, thresholds and seal report counts (H3, H5); audited.

    The settings page and the API both save through here. A seal or order already started keeps
    the counts it started with.
    """
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationError(_("不能修改：%(fields)s") % {"fields": listed(unknown)})
    settings_for(street)  # created with the defaults on first use
    street_id = street if isinstance(street, int) else street.pk
    with transaction.atomic():
        found = HealthSettings.objects.select_for_update().get(street_id=street_id)
        before = snapshot(found)
        for name, value in changes.items():
            setattr(found, name, value)
        found.full_clean()
        errors: dict[str, str] = {}
        if found.afternoon_slot <= found.morning_slot:
            errors["afternoon_slot"] = _("下午测温时间须晚于上午测温时间")
        elif found.report_deadline <= found.afternoon_slot:
            errors["report_deadline"] = _("上报截止时间须晚于下午测温时间")
        elif found.summary_due < found.report_deadline:
            errors["summary_due"] = _("社区汇总时间不能早于上报截止时间")
        low, high = FEVER_THRESHOLD_RANGE
        if not low <= found.fever_threshold <= high:
            errors["fever_threshold"] = _("发热阈值须在 %(low)s 到 %(high)s ℃ 之间") % {"low": low, "high": high}
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
# Risk areas (H1, H9)


@dataclass(frozen=True)
class RiskFinding:
    """The level a travel history puts a person at, and why."""

    level: str | None
    areas: tuple[RiskArea, ...]
    reason: str

    @property
    def category(self) -> str | None:
        return RETURNEE_BY_LEVEL.get(self.level) if self.level else None  # type: ignore[call-overload]


def _norm(text: str) -> str:
    return "".join(text.split()).lower()


def areas_active(street_id: int, on: datetime.date) -> list[RiskArea]:
    """The street's risk areas in force on ``on``, highest level first."""
    found = RiskArea.objects.filter(street_id=street_id, starts_on__lte=on).exclude(ends_on__lt=on)
    return sorted(found, key=lambda a: (-RISK_ORDER[RiskLevel(a.level)], a.county, a.pk))


def risk_area_add(
    *,
    street: Street | int,
    county: str,
    name: str,
    level: str,
    starts_on: datetime.date,
    actor: Any,
    province: str = "",
    zone: str = "",
    ends_on: datetime.date | None = None,
) -> RiskArea:
    """Add a risk area to the street's list (H9); audited."""
    street_id = street if isinstance(street, int) else street.pk
    area = RiskArea(
        street_id=street_id,
        province=(province or "").strip(),
        county=(county or "").strip(),
        name=(name or "").strip(),
        level=level,
        zone=zone,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    area.full_clean()
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": _("解除日期不能早于起始日期")})
    with transaction.atomic():
        area.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=area,
            changes={
                "county": area.county,
                "name": area.name,
                "level": level,
                "zone": area.zone,
                "starts_on": str(starts_on),
                "ends_on": str(ends_on) if ends_on else None,
            },
            street_id=street_id,
        )
    return area


def risk_area_end(area: RiskArea, *, ends_on: datetime.date, actor: Any) -> RiskArea:
    """Lift a risk area from a day on (H9); audited. Travel there before that day still counts."""
    if ends_on < area.starts_on:
        raise ValidationError({"ends_on": _("解除日期不能早于起始日期")})
    with transaction.atomic():
        area = RiskArea.objects.select_for_update().get(pk=area.pk)
        before = area.ends_on
        area.ends_on = ends_on
        area.save(update_fields=["ends_on"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=area,
            changes={"ends_on": [str(before) if before else None, str(ends_on)]},
            street_id=area.street_id,
        )
    return area


def risk_of_history(
    street_id: int, history: Iterable[tuple[datetime.date | None, str]], today: datetime.date
) -> RiskFinding:
    """The highest level among the risk areas whose county the history passed through (H1).

    ``history`` is (date, place) pairs; a place matches an area when the area's county name occurs
    in it (or it in the county name) — "any history in a county that has a medium/high-risk area
    counts as medium/high" [004: 凡有疫情中高风险地区所在县区旅居史的，均视为中高风险地区返抵人员].
    Only dates within the street's trace window count (today − window … today; an undated place
    counts as today). An area counts when it was in force at some time from that date until today:
    not when it ended before the person was there, but also when it was declared after they left
    (the county had the area while they could still be incubating).
    """
    window = settings_for(street_id).risk_window_days
    earliest = today - datetime.timedelta(days=window)
    areas = list(RiskArea.objects.filter(street_id=street_id, starts_on__lte=today))
    matched: dict[int, RiskArea] = {}
    for date, place in history:
        place_key = _norm(place)
        if not place_key:
            continue
        when = date or today
        if when < earliest or when > today:
            continue
        for area in areas:
            county = _norm(area.county)
            if not county or not (county in place_key or place_key in county):
                continue
            if area.ends_on is None or area.ends_on >= when:
                matched[area.pk] = area
    if not matched:
        return RiskFinding(None, (), _("近 %(days)s 天旅居史未涉及风险地区所在区县") % {"days": window})
    found = sorted(matched.values(), key=lambda a: (-RISK_ORDER[RiskLevel(a.level)], a.county, a.pk))
    level = found[0].level
    top = [a for a in found if a.level == level]
    reason = _("%(county)s有%(level)s地区（%(name)s），按%(level)s地区返乡人员管理") % {
        "county": top[0].county,
        "level": top[0].get_level_display(),
        "name": listed(a.name for a in top),
    }
    return RiskFinding(level, tuple(found), reason)
