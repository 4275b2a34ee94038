"""Template filters for the supplies links: which parts of the supplies back office an account may use."""

from __future__ import annotations

from typing import Any

from django import template

from linli.supplies.permissions import CATALOGUE_ROLES, VIEW_ROLES, WINDOW_ROLES, has_role

register = template.Library()

PARTS = {
    "any": VIEW_ROLES,
    "windows": WINDOW_ROLES | CATALOGUE_ROLES,
    "schedules": WINDOW_ROLES | CATALOGUE_ROLES,
    "stock": CATALOGUE_ROLES,
}


@register.filter
def works_in_supplies(user: Any, part: str = "any") -> bool:
    """``{% if user|works_in_supplies %}`` (any page) or ``{% if user|works_in_supplies:"stock" %}``."""
    return has_role(user, PARTS.get(part, VIEW_ROLES))


@register.filter
def test_result(code: str) -> str:
    """A staff test's result code as its Chinese label."""
    from linli.supplies.services.stock import TEST_RESULTS

    return str(TEST_RESULTS.get(code, code))
