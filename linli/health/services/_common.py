"""Helpers the health services share: clocks, the acting account, a record's placement."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from linli.health.models import (
    household_kwargs,
)
from linli.registry.models import Household, Person


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _today(now: datetime.datetime | None) -> datetime.date:
    return timezone.localdate(_now(now))


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _placed(household: Household) -> dict[str, Any]:
    """A record's placement fields, with the household itself (so that the audit need not fetch it)."""
    placed = household_kwargs(household)
    del placed["household_id"]
    return {**placed, "household": household}


def _household(person: Person) -> Household:
    household = person.household
    return household


def _decimal(value: Any, *, places: Decimal) -> Decimal | None:
    """``value`` as a finite decimal rounded to ``places``, or None (NaN and infinities included:
    a NaN compares by raising, not by answering False)."""
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            return None
        return number.quantize(places)
    except (ArithmeticError, ValueError):
        return None


def _monitoring_stop(monitorings: Any, today: datetime.date) -> None:
    """No report is owed from today on (today's are not chased either)."""
    yesterday = today - datetime.timedelta(days=1)
    monitorings.filter(Q(ends_on__isnull=True) | Q(ends_on__gt=yesterday)).update(ends_on=yesterday)
