"""The hot routes (``linli.lib.hotroutes``, wired in ``linli.wsgi``): a scan or an order that its fast
path answers is answered before Django's handler — with exactly Django's answer, headers included —
and everything else is Django's, with the request's body intact."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from linli import wsgi
from linli.accounts.services import api_token_create
from linli.gate import api_checkpoint, services
from linli.gate.models import GateScan
from linli.gate.tests.conftest import Gate, at, build_gate
from linli.lib.hotroutes import HotRoutes
from linli.lib.testing import Personas, build_personas
from linli.supplies import api_orders
from linli.supplies.models import Order, Supplier
from linli.supplies.testing import open_window

POSTGRES = connection.vendor == "postgresql"
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="the fast paths are PostgreSQL's")

Answered = tuple[str, list[tuple[str, str]], bytes]


@pytest.fixture(autouse=True)
def keep_the_connection() -> Iterator[None]:
    """As Django's test client does: a request does not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(app: Callable[..., Any], path: str, body: Any = None, *, method: str = "POST", **headers: str) -> Answered:
    """``app``'s WSGI answer to a request: status line, headers (sorted), body."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return answer_of(
        app, RequestFactory().generic(method, path, data, content_type="application/json", headers=headers)
    )


def answer_of(app: Callable[..., Any], request: WSGIRequest) -> Answered:
    """``app``'s WSGI answer to a request of Django's ``RequestFactory``."""
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen.update(status=status, headers=sorted(response_headers))

    response = app(request.environ, start_response)
    try:
        content = b"".join(response)
    finally:
        getattr(response, "close", lambda: None)()
    return seen["status"], seen["headers"], content


def scan_path(gate: Gate) -> str:
    return f"/api/v1/gate/checkpoints/{gate.checkpoint.pk}/scan"


def scan_body(credential: str, key: uuid.UUID) -> dict[str, Any]:
    return {
        "uuid": str(key),
        "credential": credential,
        "direction": "out",
        "device_time": at(23, 9).isoformat(),
        "temperature": "36.5",
    }


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every ``services.scan_online`` call: True when it answered (the fast path stored or replayed)."""
    calls: list[bool] = []
    real = services.scan_online

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(services, "scan_online", spy)
    return calls


def test_the_hot_routes_are_the_scan_and_the_order_of_the_urlconf() -> None:
    routes = {pattern.pattern: answer for _method, pattern, answer in wsgi.application.routes}
    assert set(routes.values()) == {api_checkpoint.hot_scan, api_orders.hot_order}
    for path, name in (
        ("/api/v1/gate/checkpoints/42/scan", "checkpoint_scan"),
        ("/api/v1/supplies/orders", "order_submit"),
    ):
        assert resolve(path).url_name == name
        assert [p for p in routes if re.fullmatch(p, path)], path
    for path in ("/api/v1/gate/checkpoints/42/scan/", "/api/v1/gate/checkpoints/x/scan", "/api/v1/supplies/orders/1"):
        assert not [p for p in routes if re.fullmatch(p, path)], path


def test_only_the_routes_method_and_path_reach_the_answer() -> None:
    seen: list[str] = []

    def answer(request: HttpRequest, params: Mapping[str, Any]) -> HttpResponse:
        seen.append(params["n"])
        return HttpResponse("hot")

    app = HotRoutes(wsgi.django_application, [("POST", r"/hot/(?P<n>[0-9]+)", answer)])
    assert call(app, "/hot/7")[2] == b"hot"
    assert call(app, "/hot/7", method="PUT")[0].startswith("404")
    assert call(app, "/hot/7/")[0].startswith("404")
    assert seen == ["7"]


def test_remembered_language_and_headers_are_what_django_s_middleware_gives(settings: Any) -> None:
    """The language per Accept-Language and the headers the middleware add are remembered after the
    first answer: every later answer has what a first answer (nothing remembered) has."""
    settings.SECURE_HSTS_SECONDS = 3600  # the middleware read their settings when they are made

    def answer(request: HttpRequest, params: Mapping[str, Any]) -> HttpResponse:
        return HttpResponse(
            f'{{"language": "{request.LANGUAGE_CODE}"}}'.encode(),  # type: ignore[attr-defined]
            status=int(params["status"]),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def fresh() -> HotRoutes:
        return HotRoutes(WSGIHandler(), [("POST", r"/hot/(?P<status>[0-9]+)", answer)])

    kept = fresh()
    asked = [
        ("/hot/200", {}, False, "zh-hans"),
        ("/hot/200", {"Accept-Language": "en"}, False, "en"),
        ("/hot/201", {"Accept-Language": "en"}, False, "en"),
        ("/hot/200", {"Accept-Language": "en-GB,en;q=0.8"}, False, "en"),
        ("/hot/200", {"Cookie": "django_language=en"}, False, "en"),
        ("/hot/200", {"Cookie": "django_language=en", "Accept-Language": "zh-CN"}, False, "en"),
        ("/hot/200", {"Accept-Language": "zh-CN"}, True, "zh-hans"),
        ("/hot/409", {}, True, "zh-hans"),
    ]
    for path, headers, secure, language in asked * 2:
        answers = [
            answer_of(
                app, RequestFactory().post(path, "{}", content_type="application/json", secure=secure, headers=headers)
            )
            for app in (kept, fresh())
        ]
        assert answers[0] == answers[1], (path, headers, secure)
        assert ("Content-Language", language) in answers[0][1]
        assert f'"language": "{language}"'.encode() in answers[0][2]
        assert ("Strict-Transport-Security", "max-age=3600") in answers[0][1] if secure else True
    assert kept.languages and kept.added_headers


@pytest.mark.django_db
def test_an_exception_in_an_answer_is_djangos_500_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def answer(request: HttpRequest, params: Mapping[str, Any]) -> HttpResponse:
        raise RuntimeError("boom")

    app = HotRoutes(wsgi.django_application, [("POST", r"/hot", answer)])
    with caplog.at_level(logging.ERROR, logger="django.request"):
        status, headers, _content = call(app, "/hot")
    assert status == "500 Internal Server Error"
    assert ("X-Frame-Options", "DENY") in headers
    assert any("boom" in str(record.exc_info) for record in caplog.records)


@pytest.mark.django_db
def test_a_host_or_scheme_django_refuses_is_refused_as_django_refuses(settings: Any) -> None:
    def answer(request: HttpRequest, params: Mapping[str, Any]) -> HttpResponse:
        raise AssertionError("Django answers this request")

    route = ("POST", r"/api/v1/supplies/orders", answer)
    app = HotRoutes(wsgi.django_application, [route])
    assert call(app, "/api/v1/supplies/orders", {}, Host="evil.example")[0] == "400 Bad Request"
    settings.SECURE_SSL_REDIRECT = True
    app = HotRoutes(WSGIHandler(), [route])  # the middleware read their settings when they were made
    status, headers, _content = call(app, "/api/v1/supplies/orders", {})
    assert status == "301 Moved Permanently" and ("Location", "https://testserver/api/v1/supplies/orders") in headers


@pytest.mark.django_db(transaction=True)
@needs_postgres
def test_a_scan_the_fast_path_answers_is_answered_as_django_answers_it(fast_calls: list[bool]) -> None:
    gate = build_gate(build_personas())
    bearer = f"Bearer {api_token_create(user=gate.personas.gate_guard, name='gate')[1]}"
    key = uuid.uuid4()
    body = scan_body(gate.household_pass.token, key)
    first = call(wsgi.application, scan_path(gate), body, Authorization=bearer)
    assert first[0] == "200 OK" and json.loads(first[2])["verdict"] == "allowed"
    assert fast_calls == [True] and GateScan.objects.filter(uuid=key).count() == 1
    for headers in ({}, {"Accept-Language": "en"}, {"Cookie": "django_language=en"}):
        by_django = call(wsgi.django_application, scan_path(gate), body, Authorization=bearer, **headers)
        hot = call(wsgi.application, scan_path(gate), body, Authorization=bearer, **headers)
        assert hot == by_django
        assert json.loads(hot[2])["duplicate"] is True
        assert ("Content-Language", "en" if headers else "zh-hans") in hot[1]
    assert [name for name, _value in first[1]] == [name for name, _value in hot[1]]
    assert GateScan.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_what_the_fast_path_leaves_django_answers_with_the_body_intact(fast_calls: list[bool]) -> None:
    gate = build_gate(build_personas())
    bearer = f"Bearer {api_token_create(user=gate.personas.gate_guard, name='gate')[1]}"
    # A typed pass number: the Python path's, whose view does not try the fast path a second time.
    key = uuid.uuid4()
    status, _headers, content = call(
        wsgi.application, scan_path(gate), scan_body(gate.household_pass.number, key), Authorization=bearer
    )
    assert status == "200 OK" and json.loads(content)["verdict"] == "allowed", content
    assert GateScan.objects.filter(uuid=key).count() == 1
    assert fast_calls == [False, False]  # the hot route's try and the view's, not its wrapper's as well
    # Not JSON, no token, a token that does not hold: Django's 400, 403 (no session: CSRF) and 401,
    # as without the hot route.
    for body, headers in (
        (b"{not json", {"Authorization": bearer}),
        (scan_body(gate.household_pass.token, uuid.uuid4()), {}),
        (scan_body(gate.household_pass.token, uuid.uuid4()), {"Authorization": "Bearer wrong"}),
    ):
        hot = call(wsgi.application, scan_path(gate), body, **headers)
        assert hot == call(wsgi.django_application, scan_path(gate), body, **headers)
        assert hot[0][:3] in {"400", "401", "403"}, hot
    assert GateScan.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@needs_postgres
def test_an_order_the_rush_path_answers_is_answered_as_django_answers_it(personas: Personas) -> None:
    window = open_window(
        Supplier.objects.get(name="平价超市"), personas.tree.c1, items={"鸡蛋": 40}, buckets=4
    )  # the rush path: bucketed offers
    offer = window.offers.get()
    bearer = f"Bearer {api_token_create(user=personas.resident, name='phone')[1]}"
    body = {
        "window": window.pk,
        "household": personas.resident_household.pk,
        "lines": [{"offer": offer.pk, "quantity": 1}],
    }
    orders = "/api/v1/supplies/orders"
    placed = call(wsgi.application, orders, body, Authorization=bearer, **{"Idempotency-Key": "one"})
    assert placed[0] == "201 Created", placed
    # A second order of the household with a new key: the rush statement refuses it (409), each time.
    hot = call(wsgi.application, orders, body, Authorization=bearer, **{"Idempotency-Key": "two"})
    by_django = call(wsgi.django_application, orders, body, Authorization=bearer, **{"Idempotency-Key": "three"})
    assert hot[0] == "409 Conflict" and hot == by_django
    assert Order.objects.filter(window=window).count() == 1
