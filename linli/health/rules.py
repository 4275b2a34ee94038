"""The street's rule table (H2), risk areas (H9) and reporting clock (H3), seeded with SPEC's defaults.

Every number here comes from SPEC H2–H5 (and through it from the seeds), except where a comment
says it is a local default for a category SPEC names (H1) without giving its measures.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.health.choices import RISK_ORDER, Category, Place, RiskLevel
from linli.health.models import HealthSettings, MeasureRule, RiskArea
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
    # close contact → 14 days centralized observation [001 p6, 004]
    Category.CLOSE_CONTACT: RuleDefault(14, Place.CENTRALIZED, (14,)),
    # other-province arrival → 7 days home observation [001 p6]
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
    """The test days as a sorted list of distinct day numbers within the period; ValueError if not."""
    if not isinstance(test_days, list | tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in test_days
    ):
        raise ValueError(_("检测日须为整数列表，如 1, 7, 14"))
    clean = sorted(set(test_days))
    if clean and (clean[0] < 1 or (days and clean[-1] > days)):
        raise ValueError(_("检测日须在第 1 天到第 %(days)s 天之间") % {"days": days})
    return clean


def rule_update(rule: MeasureRule, *, actor: Any, **changes: Any) -> MeasureRule:
    """Change a rule of the street's table; audited. Orders already started keep their copy."""
    with transaction.atomic():
        rule = MeasureRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(rule)
        for field, value in changes.items():
            setattr(rule, field, value)
        rule.test_days = validate_test_days(rule.days, rule.test_days)
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
    return list(
        RiskArea.objects.filter(street_id=street_id, starts_on__lte=on).exclude(ends_on__lt=on).order_by("-level")
    )


def risk_of_history(
    street_id: int, history: Iterable[tuple[datetime.date | None, str]], today: datetime.date
) -> RiskFinding:
    """The highest level among the risk areas whose county the history passed through (H1).

    ``history`` is (date, place) pairs; a place matches an area when the area's county name occurs
    in it (or it in the county name) — "any history in a county that has a medium/high-risk area
    counts as medium/high". Only dates within the street's trace window count, and an area counts
    when it was in force on that date (an undated place is checked against today).
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
            if area.starts_on <= when and (area.ends_on is None or area.ends_on >= when):
                matched[area.pk] = area
    if not matched:
        return RiskFinding(None, (), _("近 %(days)s 天旅居史未涉及风险地区所在区县") % {"days": window})
    found = sorted(matched.values(), key=lambda a: -RISK_ORDER[RiskLevel(a.level)])
    level = found[0].level
    top = [a for a in found if a.level == level]
    reason = _("%(county)s有%(level)s地区（%(name)s），按%(level)s地区返乡人员管理") % {
        "county": top[0].county,
        "level": top[0].get_level_display(),
        "name": "、".join(a.name for a in top),
    }
    return RiskFinding(level, tuple(found), reason)
