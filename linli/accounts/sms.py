"""Pluggable SMS delivery. settings.SMS_BACKEND names a class with ``send(phone, body)``.

Every message is also written to the outbox (``SmsMessage``) by ``linli.accounts.services.sms_send``,
whatever the backend, so staff can see what residents were told.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("linli.sms")


class BaseBackend:
    """Deliver one SMS. A real gateway subclasses this and raises on failure."""

    name = "base"
    # Whether staff may read message bodies (one-time codes) in the outbox; only for development.
    shows_codes_in_outbox = False

    def send(self, phone: str, body: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Development backend: the message goes to the log, which ``make run`` prints (and the outbox shows it)."""

    name = "console"
    shows_codes_in_outbox = True

    def send(self, phone: str, body: str) -> None:
        logger.info("[SMS to %s] %s", phone, body)


class NullBackend(BaseBackend):
    """Sends nothing (for tests that only look at the outbox)."""

    name = "null"
    shows_codes_in_outbox = True

    def send(self, phone: str, body: str) -> None:
        return None


def get_backend() -> BaseBackend:
    backend_class = import_string(settings.SMS_BACKEND)
    backend: BaseBackend = backend_class()
    return backend
