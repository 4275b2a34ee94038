"""Answers kept by their code and values, worded when given.

An answer stored to be given again (an offline sync replayed, an order retried with its
Idempotency-Key) keeps a code and the values of its text rather than the text: worded when given, it
is in the language of the one asking now, not of the first. Each module keeps its texts by code
(``supplies.services.delivery.HANDOVER_TEXTS``, ``supplies.services.ordering.ORDER_TEXTS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def worded(texts: Mapping[str, Any], code: str, params: dict[str, Any] | None = None, fallback: str = "") -> str:
    """``texts[code]`` with ``params`` in the active language; ``fallback`` for a code not in ``texts``
    or values that do not fit its text (a row stored by an older version)."""
    text = texts.get(code)
    if text is None:
        return fallback
    try:
        return str(text) % params if params else str(text)
    except (KeyError, TypeError, ValueError):
        return fallback
