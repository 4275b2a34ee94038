"""The supplies API under /api/v1/supplies/ (SPEC S1–S10; docs/supplies.md): its routers, mounted there."""

from ninja import Router

from linli.supplies.api_catalogue import router as catalogue_router
from linli.supplies.api_delivery import router as delivery_router
from linli.supplies.api_money import router as money_router
from linli.supplies.api_orders import router as orders_router
from linli.supplies.api_packing import router as packing_router
from linli.supplies.api_stock import router as stock_router

routers: list[Router] = [catalogue_router, stock_router, orders_router, packing_router, delivery_router, money_router]
