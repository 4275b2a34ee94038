"""The gate's API under /api/v1/gate/: each part of the gate has its own router, all mounted there."""

from linli.gate.api_checkpoint import router as checkpoint_router
from linli.gate.api_duty import router as duty_router
from linli.gate.api_passes import router as passes_router
from linli.gate.api_visitors import router as visitors_router

routers = [checkpoint_router, passes_router, visitors_router, duty_router]
