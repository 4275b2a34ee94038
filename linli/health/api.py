"""API of the health module (placeholder until written): its routers, mounted at /api/v1/health."""

from ninja import Router

routers: list[Router] = []
