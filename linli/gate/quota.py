"""The outing rules of a compound (A2), as plain functions of time: no database here.

Periods are fixed windows of ``period_days`` local days counted from the compound's anchor date, so
that whether an outing fits the quota depends only on the set of outings in its window — not on the
order in which gates report them. A household may go out ``outings_per_period`` times per window,
only between ``out_from`` and ``out_until`` local time, and should be back within ``max_hours_out``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

FEVER_CELSIUS = Decimal("37.3")


@dataclass(frozen=True)
class Rules:
    closed: bool = True
    ticket_mode: bool = False
    outings_per_period: int = 1
    period_days: int = 2
    max_hours_out: Decimal = Decimal(3)
    out_from: datetime.time = datetime.time(6, 0)
    out_until: datetime.time = datetime.time(20, 0)
    anchor: datetime.date = datetime.date(2020, 1, 1)

    @property
    def max_out(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=int(self.max_hours_out * 60))


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(local_zone())


def period_start(rules: Rules, moment: datetime.datetime) -> datetime.date:
    """The first day of the quota window that ``moment`` (aware) falls in."""
    day = local(moment).date()
    days = (day - rules.anchor).days
    return rules.anchor + datetime.timedelta(days=days - days % max(rules.period_days, 1))


def next_period(rules: Rules, moment: datetime.datetime) -> datetime.datetime:
    """When the next window opens, at the first allowed minute of its first day (aware, local)."""
    start = period_start(rules, moment) + datetime.timedelta(days=max(rules.period_days, 1))
    return datetime.datetime.combine(start, rules.out_from, tzinfo=local_zone())


def within_hours(rules: Rules, moment: datetime.datetime) -> bool:
    """Whether ``moment`` is inside the allowed hours (a window may run past midnight)."""
    now = local(moment).time()
    if rules.out_from <= rules.out_until:
        return rules.out_from <= now < rules.out_until
    return now >= rules.out_from or now < rules.out_until


def is_fever(temperature: Decimal | float | None) -> bool:
    return temperature is not None and Decimal(str(temperature)) >= FEVER_CELSIUS
