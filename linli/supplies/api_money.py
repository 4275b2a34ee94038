"""Supplies API: money (see docs/supplies.md)."""

from ninja import Router

router = Router(tags=["supplies-money"])
