"""The HTTP API under /api/v1/: every app contributes a router; schema at /api/v1/openapi.json."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from linli.accounts.api import router as accounts_router
from linli.audit.api import router as audit_router
from linli.gate.api import routers as gate_routers
from linli.gate.api_checkpoint import router as gate_checkpoint_router
from linli.health.api import routers as health_routers
from linli.lib.apiauth import AUTH
from linli.lib.apierrors import JSONParser, NumberTooLarge, UnreadableBody, invalid_body
from linli.organisation.api import router as organisation_router
from linli.registry.api import router as registry_router
from linli.rosters.api import router as rosters_router
from linli.supplies.api import routers as supplies_routers
from linli.supplies.api_orders import router as supplies_orders_router
from linli.survey.api import router as survey_router

api = NinjaAPI(
    title="linli 邻里 API",
    version="1",
    description="社区疫情防控平台接口。使用登录会话或 `Authorization: Bearer <token>`。",
    auth=AUTH,
    parser=JSONParser(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
# The rush paths first: Django tries the URL patterns in order (about 0.6 µs each, ~180 of them), and
# the gate's online scan and the supplies order are what the busiest minutes of a closure hit.
HOT_ROUTERS = [("/gate", gate_checkpoint_router), ("/supplies", supplies_orders_router)]
for prefix, hot_router in HOT_ROUTERS:
    api.add_router(prefix, hot_router)
api.add_router("/accounts", accounts_router)
api.add_router("/registry", registry_router)
api.add_router("/survey", survey_router)
api.add_router("/org", organisation_router)
api.add_router("/rosters", rosters_router)
api.add_router("/audit", audit_router)
for gate_router in gate_routers:
    if gate_router is not gate_checkpoint_router:
        api.add_router("/gate", gate_router)
for health_router in health_routers:
    api.add_router("/health", health_router)
for supplies_router in supplies_routers:
    if supplies_router is not supplies_orders_router:
        api.add_router("/supplies", supplies_router)


@api.exception_handler(AuthenticationError)
def unauthorised(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": _("请先登录或提供有效的令牌")}, status=401)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    """A record that does not exist or is outside the caller's scope (scope.get_visible_or_404): the
    same words either way, in the caller's language (ninja's own answer is English "Not Found")."""
    return api.create_response(request, {"detail": _("未找到")}, status=404)


@api.exception_handler(ValidationError)
def invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Malformed input (wrong JSON types, missing fields): pydantic's errors, each field named and explained
    in the caller's language (pydantic's own words are English)."""
    return api.create_response(request, invalid_body(exc.errors), status=422)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """A refusal's own words (ours are translated already); a body that is not JSON, which ninja refuses
    in English ("Cannot parse request body"), in the caller's language and in the shape of a 422."""
    if isinstance(exc.__cause__, NumberTooLarge):
        return api.create_response(request, invalid_body(exc.__cause__.errors), status=422)
    if isinstance(exc.__cause__, UnreadableBody):
        return api.create_response(
            request, {**invalid_body([{"type": "json_invalid", "loc": ["body"]}]), "code": "invalid_json"}, status=400
        )
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
