"""Hot routes: the two requests a rush sends by the thousand — a guard's QR scan and a resident's
order — answered before Django's request handling when their fast path answers them.

Django's handler spends ~0.2–0.25 ms of Python on a request before and after the view (URL
resolving, nine middleware, ninja's operation): as much as the whole of a ping, and a third of a
scan. A hot route is matched on method and path in front of Django's WSGI application and handed
to a function that answers only what its fast path answers (a scan or an order stored in one
database statement); for anything else it returns None and Django handles the request as ever,
the body put back. What Django does around those answers is done here with Django's own pieces:

* the ``request_started`` / ``request_finished`` signals (database connections' age and health);
* ``CommonMiddleware`` (the ``ALLOWED_HOSTS`` check, refused user agents, Content-Length),
  ``SecurityMiddleware`` (the HTTPS redirect, its headers), ``LocaleMiddleware`` (the language from
  the cookie and Accept-Language; Content-Language, Vary) and ``XFrameOptionsMiddleware``;
  when one of them would answer itself (a redirect, a refused host), Django answers;
* an exception becomes Django's 500 (logged as Django logs it).

The rest of the middleware has no part in a bearer-token API call (static files, the session, the
CSRF cookie, messages). ``linli.lib.tests.test_hotroutes`` holds a hot answer to Django's answer
for the same request, headers included.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from typing import Any, cast

from django.core import signals
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import set_script_prefix

# A route's function: the request and the path's parameters (the pattern's named groups, or the URL's
# keyword arguments under Django) → the answer, or None (Django and ninja answer).
Answer = Callable[[HttpRequest, Mapping[str, Any]], HttpResponse | None]
# Set on a request a hot route saw and left to Django: the view need not try its fast path again.
DECLINED = "linli.hot_route_declined"


def _never(request: HttpRequest) -> HttpResponse:  # the middleware's get_response: not called here
    raise AssertionError("a hot route's middleware does not call the view")


class HotRoutes:
    """Django's WSGI application with ``routes`` — (method, path pattern, answer) — in front."""

    def __init__(self, application: WSGIHandler, routes: Sequence[tuple[str, str, Answer]]) -> None:
        self.application = application
        self.routes = [(method, re.compile(pattern), answer) for method, pattern, answer in routes]
        self.common = CommonMiddleware(_never)
        self.security = SecurityMiddleware(_never)
        self.locale = LocaleMiddleware(_never)
        self.xframe = XFrameOptionsMiddleware(_never)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        for route_method, pattern, answer in self.routes:
            if method == route_method:
                match = pattern.fullmatch(environ.get("PATH_INFO", ""))
                if match is not None:
                    response = self._answer(environ, answer, match)
                    if response is not None:
                        return self._start(response, start_response)
                    environ[DECLINED] = True
                    break
        return self.application(environ, start_response)

    def _answer(self, environ: dict[str, Any], answer: Answer, match: re.Match[str]) -> HttpResponseBase | None:
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest(environ)
        try:
            if self.security.process_request(request) is not None or self.common.process_request(request) is not None:
                return self._decline(request)  # a redirect: Django answers it
        except (DisallowedHost, PermissionDenied):
            return self._decline(request)  # Django answers 400 / 403
        self.locale.process_request(request)
        try:
            response = answer(request, match.groupdict())
        except Exception as exc:  # noqa: BLE001 — what Django's handler does with an exception in a view
            response = cast(HttpResponse, response_for_exception(request, exc))
        if response is None:
            return self._decline(request)
        answered: Any = response  # the middleware's stubs disagree on HttpResponse and HttpResponseBase
        for middleware in (self.xframe, self.common, self.locale, self.security):  # Django's reverse order
            answered = middleware.process_response(request, answered)
        answered._resource_closers.append(request.close)  # as WSGIHandler does
        return cast(HttpResponseBase, answered)

    @staticmethod
    def _decline(request: WSGIRequest) -> None:
        """Leave ``request`` to Django, with its body readable again."""
        if hasattr(request, "_body"):
            request.environ["wsgi.input"] = io.BytesIO(request._body)
        return None

    @staticmethod
    def _start(response: HttpResponseBase, start_response: Callable[..., Any]) -> Iterable[bytes]:
        """As ``WSGIHandler`` ends a request (the response's close sends ``request_finished``)."""
        headers = [
            *response.items(),
            *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
        ]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response


def answered_first(answer: Answer) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For ninja's ``decorate_view`` around a hot route's operation: the same answer for a request
    that did not come through the hot route (Django's test client, another server), before ninja
    parses it; a request the hot route tried and declined goes straight to ninja."""

    def around(run: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(run)
        def first(request: HttpRequest, **kwargs: Any) -> Any:
            if not request.META.get(DECLINED):
                response = answer(request, kwargs)
                if response is not None:
                    return response
            return run(request, **kwargs)

        return first

    return around
