"""A household's live order in a window is looked up exactly, however many orders the window holds.

Every order asks "has this household a live order in this window already?" With the window's index
on (window, status) alone, PostgreSQL could answer it by reading every placed order of the window
and filtering on the household — on a new window, whose statistics do not exist yet, the two
indexes looked equally good — so each order of a rush cost more than the one before. The index is
now (window, status, household): whichever index the planner picks, the lookup reads one entry.

Also here: the hot statements, prepared once per connection, are planned once (generic plans).
Left to choose, PostgreSQL re-planned the order statement on every execution once the tables had
grown (its cost estimate of the generic plan lost against the custom one), which halved the orders
a second in the lab (1,500 → 700–800).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from linli.health.models import household_kwargs
from linli.lib.testing import Personas
from linli.registry.models import Household
from linli.registry.services import household_code
from linli.supplies.choices import OrderStatus
from linli.supplies.models import Order, OrderWindow, Supplier
from linli.supplies.services import ordering
from linli.supplies.testing import open_window

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
    pytest.mark.django_db,
]

ORDERS_IN_WINDOW = 600
PLACES = ("street", "community", "grid", "compound", "building")  # a household copies its unit's


def crowded_window(personas: Personas) -> tuple[OrderWindow, Household]:
    """A window holding ORDERS_IN_WINDOW placed orders, of as many households; one more household."""
    shop = Supplier.objects.get(name="平价超市")
    window = open_window(shop, personas.tree.c1)
    unit = personas.resident_household.unit
    homes = Household.objects.bulk_create(
        Household(
            room=room,
            code=household_code(unit, room),
            unit=unit,
            **{f"{level}_id": getattr(unit, f"{level}_id") for level in PLACES},
        )
        for room in (f"X{n:04d}" for n in range(ORDERS_IN_WINDOW + 1))
    )
    now = timezone.now()
    Order.objects.bulk_create(
        Order(
            window=window,
            supplier=shop,
            total=0,
            created_at=now,
            **household_kwargs(home),
        )
        for home in homes[:-1]
    )
    return window, homes[-1]


def rows_read(plan: Any) -> int:
    """Rows the scans of an EXPLAIN (ANALYZE, FORMAT JSON) plan read: returned plus filtered out."""
    read = 0
    if "Scan" in plan.get("Node Type", ""):
        read += (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * plan.get("Actual Loops", 1)
    return read + sum(rows_read(child) for child in plan.get("Plans", []))


def explained(sql: str, params: list[Any]) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        (document,) = cursor.fetchone()
    return (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]


def test_a_households_live_order_is_found_by_one_index_entry_in_a_crowded_window(personas: Personas) -> None:
    window, newcomer = crowded_window(personas)
    some_home = Order.objects.filter(window=window).values_list("household_id", flat=True)[0]
    live = Order.objects.filter(window_id=window.pk, status=OrderStatus.PLACED)
    for household in (some_home, newcomer.pk):
        sql, params = live.filter(household_id=household).query.sql_with_params()
        assert rows_read(explained(sql, list(params))) <= 1, household
    assert ordering._live_order_exists(window.pk, some_home)
    assert not ordering._live_order_exists(window.pk, newcomer.pk)


def test_the_same_lookup_planned_once_for_any_window_and_household(personas: Personas) -> None:
    """The rush statement's check, as a generic plan (what a prepared statement runs once PostgreSQL
    plans it without the values): one index entry too."""
    window, newcomer = crowded_window(personas)
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(
            f"PREPARE live_order (bigint, bigint) AS SELECT NOT EXISTS (SELECT 1 FROM {table} x "
            "WHERE x.window_id = $1 AND x.household_id = $2 AND x.status = 'placed')"
        )
        try:
            plan = explained("EXECUTE live_order (%s, %s)", [window.pk, newcomer.pk])
        finally:
            cursor.execute("DEALLOCATE live_order")
    assert rows_read(plan) <= 1


def test_the_hot_statements_are_planned_once_per_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)
