"""The one-statement order on PostgreSQL: outside a transaction, a resident's order whose offers all
have several buckets is written by one all-or-nothing statement (its own commit); when a line finds
no single free bucket holding its units, nothing is written and the order goes the transactional way.

PostgreSQL only, with real commits (``transaction=True``): inside a test's transaction the statement
is never used.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from linli.lib.testing import Personas
from linli.supplies.models import Offer, OfferBucket, Order, OrderLine, OrderWindow, Supplier
from linli.supplies.services import ordering
from linli.supplies.testing import open_window

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement order is PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What every ``_insert_pg`` call answered (True: written, False: nothing written)."""
    calls: list[bool] = []
    real = ordering._insert_pg

    def spy(*args: Any) -> Any:
        answer = real(*args)
        calls.append(answer)
        return answer

    monkeypatch.setattr(ordering, "_insert_pg", spy)
    return calls


def window_with(personas: Personas, **items: int) -> tuple[OrderWindow, list[Offer]]:
    shop = Supplier.objects.get(name="平价超市")
    window = open_window(shop, personas.tree.c1, items=items, buckets=4)
    return window, list(window.offers.order_by("pk"))


def left(offer: Offer) -> int:
    return int(OfferBucket.objects.filter(offer=offer).aggregate(n=Sum("remaining"))["n"])


def place(personas: Personas, window: OrderWindow, *lines: tuple[int, int]) -> Order:
    return ordering.place_order(
        window=window, household=personas.resident_household, lines=list(lines), actor=personas.resident
    )


def test_an_order_every_bucket_can_serve_is_one_statement(personas: Personas, statements: list[bool]) -> None:
    window, (veg, eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)  # 10 per bucket
    order = place(personas, window, (veg.pk, 2), (eggs.pk, 3))
    assert statements == [True]
    assert (left(veg), left(eggs)) == (38, 37)
    assert sorted(OrderLine.objects.filter(order=order).values_list("offer_id", "quantity", "from_reserved")) == [
        (veg.pk, 2, 0),
        (eggs.pk, 3, 0),
    ]


def test_a_line_no_single_bucket_holds_falls_back_to_the_transaction(
    personas: Personas, statements: list[bool]
) -> None:
    window, (veg, eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=8)  # eggs: 2 per bucket
    order = place(personas, window, (veg.pk, 1), (eggs.pk, 5))
    assert statements == [False]  # nothing written; the transaction took the stock, then wrote the order
    assert (left(veg), left(eggs)) == (39, 3)
    assert Order.objects.filter(pk=order.pk).exists() and Order.objects.count() == 1


def test_a_sold_out_line_takes_nothing_of_the_others(personas: Personas, statements: list[bool]) -> None:
    window, (veg, eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=4)
    with pytest.raises(ValidationError) as refused:
        place(personas, window, (veg.pk, 1), (eggs.pk, 5))
    assert refused.value.code == "sold_out"
    assert (left(veg), left(eggs)) == (40, 4)
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_a_second_live_order_is_refused_as_a_duplicate(personas: Personas, statements: list[bool]) -> None:
    window, (veg, _eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)
    place(personas, window, (veg.pk, 1))
    with pytest.raises(ValidationError) as refused:
        place(personas, window, (veg.pk, 1))
    assert refused.value.code == "duplicate"
    assert left(veg) == 39 and Order.objects.count() == 1
