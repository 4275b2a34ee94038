"""Read-side queries of supplies ordering (SPEC S2, S3): open windows, stock left, orders in scope."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from linli.lib import scope
from linli.registry.models import Household
from linli.supplies.choices import WindowStatus
from linli.supplies.models import OfferBucket, Order, OrderWindow


def open_windows(household: Household, now: datetime.datetime | None = None) -> QuerySet[OrderWindow]:
    """The published windows of the household's community open for orders at ``now``, cut-off first."""
    now = now or timezone.now()
    return (
        OrderWindow.objects.filter(
            community_id=household.community_id,
            status=WindowStatus.PUBLISHED,
            opens_at__lte=now,
            cutoff_at__gt=now,
        )
        .select_related("supplier")
        .order_by("cutoff_at", "pk")
    )


def remaining(window: OrderWindow | int) -> dict[int, tuple[int, int]]:
    """Offer id → (general units left, reserved units left) in ``window``, in one query.

    Every offer of the window is present (an offer whose buckets are all gone shows (0, 0)).
    """
    window_id = window.pk if isinstance(window, OrderWindow) else window
    left: dict[int, tuple[int, int]] = {}
    rows = (
        OfferBucket.objects.filter(offer__window_id=window_id)
        .values("offer_id")
        .annotate(
            general=Sum("remaining", filter=Q(reserved=False)), reserved=Sum("remaining", filter=Q(reserved=True))
        )
    )
    for row in rows:
        left[row["offer_id"]] = (row["general"] or 0, row["reserved"] or 0)
    return left


def orders_for(user: Any) -> QuerySet[Order]:
    """The orders ``user`` may see: a resident their household's, staff those in their scope."""
    qs = Order.objects.select_related("window", "household", "placed_by")
    if getattr(user, "is_resident", False):
        return qs.filter(household_id=user.household_id) if user.household_id else qs.none()
    return scope.visible(qs, user)


def live_order(window: OrderWindow, household: Household) -> Order | None:
    """The household's live order in the window, if any."""
    return Order.objects.filter(window=window, household=household, status="placed").first()
