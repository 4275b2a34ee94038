"""Supplies API: delivery (see docs/supplies.md)."""

from ninja import Router

router = Router(tags=["supplies-delivery"])
