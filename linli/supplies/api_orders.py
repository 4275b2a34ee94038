"""Supplies API: orders (see docs/supplies.md)."""

from ninja import Router

router = Router(tags=["supplies-orders"])
