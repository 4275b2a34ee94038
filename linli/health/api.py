"""The health module's API under /api/v1/health/ (SPEC H1–H9; docs/health.md): its routers, mounted there.

Shared checks and schemas are in ``api_common``. The order is the OpenAPI schema's order, and the scope
sweep's controls run the operations in it (sign before extend and end, unseal before sealing again).
"""

from ninja import Router

from linli.health.api_control import router as cases_router
from linli.health.api_monitoring import router as monitoring_router
from linli.health.api_orders import router as orders_router
from linli.health.api_seals import router as seals_router
from linli.health.api_tables import router as tables_router

routers: list[Router] = [tables_router, orders_router, monitoring_router, cases_router, seals_router]
