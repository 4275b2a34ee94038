"""API authentication: the browser session, or a bearer token for programmatic clients."""

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from linli.accounts.models import ApiToken

# ``last_used_at`` is kept to this resolution: a busy client (a gate scanning all day) writes it
# once a minute rather than committing a write with every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """Looked up on every request (no cache), so a revoked token stops working at once."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
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


class StaffOrResidentSession(SessionAuth):
    """The logged-in browser session (CSRF-checked for writes)."""


AUTH = [TokenAuth(), StaffOrResidentSession()]
