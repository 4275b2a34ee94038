"""API authentication: the browser session, or a bearer token for programmatic clients."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from linli.accounts.models import ApiToken

# ``last_used_at`` is kept to this resolution: a busy client (a gate scanning all day) writes it
# once a minute rather than committing a write with every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def token_user(request: HttpRequest, token: str) -> Any:
    """The active account of an unrevoked token (now ``request.user``), or None.

    Looked up on every request (no cache), so a revoked token stops working at once.
    """
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    request.user = row.user
    return row.user


class TokenAuth(HttpBearer):
    """A bearer token, checked before the endpoint runs."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return token_user(request, token)


@dataclass(frozen=True)
class PendingToken:
    """A bearer token the endpoint has not checked yet (see :class:`DeferredTokenAuth`)."""

    key: str

    @property
    def key_hash(self) -> str:
        return ApiToken.hash(self.key)

    def resolve(self, request: HttpRequest) -> Any:
        """The token's account, as :class:`TokenAuth` finds it (None: answer 401)."""
        return token_user(request, self.key)


def bearer_token(request: HttpRequest) -> PendingToken | None:
    """The request's bearer token, read as ninja's ``HttpBearer`` reads it, unchecked; None without one.
    For a hot path that answers before ninja runs (and lets ninja answer anything else)."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, *token = header.split(" ")
    if scheme.lower() != "bearer":
        return None
    return PendingToken(" ".join(token))


class DeferredTokenAuth(HttpBearer):
    """A bearer token that the endpoint checks itself, in the same database round trip as its work.

    For hot endpoints only (the gate's online scan): ``request.auth`` is a :class:`PendingToken`, and
    the endpoint must either pass its ``key_hash`` to a query that checks it (same rules as
    :func:`token_user`: unrevoked, active account, ``last_used_at`` kept) or call ``resolve`` —
    before it reads or writes anything on the caller's behalf, and answer 401 when it fails.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return PendingToken(token)


class StaffOrResidentSession(SessionAuth):
    """The logged-in browser session (CSRF-checked for writes)."""


AUTH = [TokenAuth(), StaffOrResidentSession()]
# The gate's online scan: the token is checked in the scan's own first query (linli.gate.services).
DEFERRED_AUTH = [DeferredTokenAuth(), StaffOrResidentSession()]
