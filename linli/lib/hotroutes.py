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

After a route's first answer, the language chosen for an Accept-Language header (no cookie) and the
headers the four response middleware add (per status, headers, language and scheme) are remembered
and used again instead of running that middleware code: ~0.1 ms of CPU a scan on a loaded machine.

The rest of the middleware has no part in a bearer-token API call (static files, the session, the
CSRF cookie, messages). ``linli.tests.test_hotroutes`` holds a hot answer to Django's answer
for the same request, headers included.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
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
from django.utils import translation

# A route's function: the request and the path's parameters (the pattern's named groups, or the URL's
# keyword arguments under Django) → the answer, or None (Django and ninja answer).
Answer = Callable[[HttpRequest, Mapping[str, Any]], HttpResponse | None]
# Set on a request a hot route saw and left to Django: the view need not try its fast path again.
DECLINED = "linli.hot_route_declined"


REMEMBERED = 256  # entries per memo before it starts afresh


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= REMEMBERED:
        memo.clear()
    memo[key] = value


def _language_prefixes_used() -> bool:
    return bool(is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0])


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
        # Accept-Language header → language; (status, headers, language, https) → headers the
        # response middleware adds (both bounded: the headers come from the network).
        self.languages: dict[str, str] = {}
        self.added_headers: dict[tuple[Any, ...], tuple[tuple[str, str | None], ...]] = {}

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
        self._activate_language(request)
        try:
            response = answer(request, match.groupdict())
        except Exception as exc:  # noqa: BLE001 — what Django's handler does with an exception in a view
            response = cast(HttpResponse, response_for_exception(request, exc))
        if response is None:
            return self._decline(request)
        answered = self._process_response(request, response)
        cast(Any, answered)._resource_closers.append(request.close)  # as WSGIHandler does
        return answered

    def _activate_language(self, request: WSGIRequest) -> None:
        """``LocaleMiddleware.process_request``: the language from the cookie or Accept-Language,
        activated. Without a cookie the language depends on the Accept-Language header alone (no
        language prefixes in linli's URLs): remembered per header value."""
        accept = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
        cookies = bool(request.META.get("HTTP_COOKIE"))
        language = None if cookies else self.languages.get(accept)
        if language is None:
            self.locale.process_request(request)
            if not cookies and not _language_prefixes_used():
                _remember(self.languages, accept, request.LANGUAGE_CODE)  # type: ignore[attr-defined]
            return
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]

    def _process_response(self, request: WSGIRequest, response: HttpResponseBase) -> HttpResponseBase:
        """The four middlewares' ``process_response``, Django's reverse order. What they add to an
        answer depends only on its status and headers, the active language and the scheme (and on the
        body only for Content-Length): the headers they added, in their order, are remembered per
        those and added again without running them — for answers without cookies, not streamed, not
        404, while linli's URLs have no language prefixes (the path would count too)."""
        key = None
        if not (response.streaming or response.cookies or response.status_code == 404 or _language_prefixes_used()):
            key = (response.status_code, tuple(response.items()), translation.get_language(), request.is_secure())
            added = self.added_headers.get(key)
            if added is not None:
                for name, value in added:  # None: the Content-Length CommonMiddleware sets, of this body
                    response.headers[name] = str(len(response.content)) if value is None else value  # type: ignore[attr-defined]
                return response
        answered: Any = response  # the middleware's stubs disagree on HttpResponse and HttpResponseBase
        for middleware in (self.xframe, self.common, self.locale, self.security):
            answered = middleware.process_response(request, answered)
        if key is not None and answered is response and not response.cookies:
            before = dict(key[1])
            remembered = tuple(
                (name, None if name == "Content-Length" else value)
                for name, value in response.items()
                if before.get(name) != value
            )
            _remember(self.added_headers, key, remembered)
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
