"""Supplies API: stock (see docs/supplies.md)."""

from ninja import Router

router = Router(tags=["supplies-stock"])
