"""Supplies API: catalogue (see docs/supplies.md)."""

from ninja import Router

router = Router(tags=["supplies-catalogue"])
