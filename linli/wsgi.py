"""The WSGI application granian serves (``make run``): Django's, with the hot routes in front
(``linli.lib.hotroutes``: the gate's QR scan and the resident's rush order)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from django.core.wsgi import get_wsgi_application

from linli.lib.collector import freeze_after_start_up

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIHandler

    from linli.lib.hotroutes import HotRoutes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django_application = get_wsgi_application()


def _with_hot_routes(application: WSGIHandler) -> HotRoutes:  # after Django is set up: the answers import models
    from linli.gate.api_checkpoint import hot_scan
    from linli.lib.hotroutes import HotRoutes
    from linli.supplies.api_orders import hot_order

    return HotRoutes(
        application,
        [
            ("POST", r"/api/v1/gate/checkpoints/(?P<checkpoint_id>[0-9]{1,18})/scan", hot_scan),
            ("POST", r"/api/v1/supplies/orders", hot_order),
        ],
    )


application = _with_hot_routes(django_application)
freeze_after_start_up()
