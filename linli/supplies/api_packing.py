"""Supplies API: packing (see docs/supplies.md)."""

from ninja import Router

router = Router(tags=["supplies-packing"])
