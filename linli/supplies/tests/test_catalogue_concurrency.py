"""Changing an offer's quantity during a rush (S2/S3), on PostgreSQL with real concurrent transactions.

Buyers take units from the bucket rows by conditional updates (as ordering does) while staff raise
and lower the offer. Whatever interleaving happens, the offer's quantity less what is left in its
buckets equals exactly the units the buyers were told they got: lowering never takes back a sold unit
and raising never loses one. The same check against a naive read-then-write lowering must fail.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Sum

from linli.lib.testing import Personas
from linli.supplies.models import Offer, OfferBucket, Supplier
from linli.supplies.services import catalogue
from linli.supplies.testing import open_window

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent transactions"),
    pytest.mark.django_db(transaction=True),
]

BUYERS = 6
STAFF = 2


def _left(offer: Offer) -> int:
    return int(OfferBucket.objects.filter(offer=offer).aggregate(n=Sum("remaining"))["n"] or 0)


def naive_change(offer: Offer, delta: int) -> None:
    """The wrong way: read each bucket, then write the value computed from what was read."""
    with transaction.atomic():
        moved = 0
        for bucket in OfferBucket.objects.filter(offer=offer, reserved=False).order_by("n"):
            step = delta - moved if delta > 0 else -min(bucket.remaining, moved - delta)
            if step:
                OfferBucket.objects.filter(pk=bucket.pk).update(remaining=bucket.remaining + step)
                moved += step
            if moved == delta:
                break
        Offer.objects.filter(pk=offer.pk).update(quantity=F("quantity") + moved)


def rush(offer: Offer, change: Callable[[Offer, int], None]) -> int:
    """Buyers take single units while staff change the quantity; the units the buyers were told they got."""
    sold = [0] * BUYERS
    stop = threading.Event()
    bucket_ids = list(OfferBucket.objects.filter(offer=offer, reserved=False).values_list("pk", flat=True))

    def buyer(n: int) -> None:
        try:
            for _ in range(150):
                pk = random.choice(bucket_ids)
                if OfferBucket.objects.filter(pk=pk, remaining__gte=1).update(remaining=F("remaining") - 1):
                    sold[n] += 1
        finally:
            connection.close()

    def staff() -> None:
        try:
            while not stop.is_set():
                current = Offer.objects.get(pk=offer.pk)
                try:
                    change(current, random.choice([-5, -5, 5]))
                except ValidationError:
                    pass
        finally:
            connection.close()

    buyers = [threading.Thread(target=buyer, args=(n,)) for n in range(BUYERS)]
    staffers = [threading.Thread(target=staff) for _ in range(STAFF)]
    for thread in staffers + buyers:
        thread.start()
    for thread in buyers:
        thread.join()
    stop.set()
    for thread in staffers:
        thread.join()
    return sum(sold)


def service_change(offer: Offer, delta: int) -> None:
    catalogue.offer_update(offer, quantity=max(0, offer.quantity + delta))


def _window(personas: Personas) -> Any:
    return open_window(Supplier.objects.get(name="平价超市"), personas.tree.c1, items={"鸡蛋": 600}, buckets=4)


def test_quantity_changes_during_a_rush_never_take_back_or_lose_a_sold_unit(personas: Personas) -> None:
    offer = Offer.objects.get(window=_window(personas))
    sold = rush(offer, service_change)
    offer.refresh_from_db()
    assert sold > 0
    assert offer.quantity - _left(offer) == sold


def test_the_check_catches_a_read_then_write_lowering(personas: Personas) -> None:
    # Several rounds: a lost update needs an unlucky interleaving, which a few rounds all but guarantee.
    mismatches = 0
    for _ in range(3):
        offer = Offer.objects.get(window=_window(personas))
        sold = rush(offer, naive_change)
        offer.refresh_from_db()
        mismatches += int(offer.quantity - _left(offer) != sold)
        offer.window.offers.all().delete()
        offer.window.delete()
    assert mismatches > 0
