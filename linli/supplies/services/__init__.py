"""Supplies services: every write goes through these (pages, API, demo and tests alike)."""
