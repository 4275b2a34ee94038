"""Answers kept by their code and values, worded when given.

An answer stored to be given again (an offline sync replayed, an order retried with its
Idempotency-Key) keeps a code and the values of its text rather than the text: worded when given, it
is in the language of the one asking now, not of the first. Each module keeps its texts by code
(``supplies.services.delivery.HANDOVER_TEXTS``, ``supplies.services.ordering.ORDER_TEXTS``).

Also the punctuation that joins words and data (``listed``, ``bracketed``, ``labelled``, ``sentences``):
written in Chinese, it would stay full-width on an English page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import pgettext


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


# The punctuation around values that pages put together from words and data: full-width in Chinese,
# spaced Latin punctuation in English ("王彬（户主）" but "Wang Bin (Householder)").


def listed(items: Iterable[Any]) -> str:
    """Items separated as a list: "a、b、c" in Chinese, "a, b, c" in English."""
    return pgettext("between the items of a list", "、").join(str(item) for item in items)


def bracketed(text: Any, note: Any) -> str:
    """A text with a note in brackets: "王彬（户主）", "Wang Bin (Householder)"."""
    return pgettext("a note in brackets", "%(text)s（%(note)s）") % {"text": text, "note": note}


def labelled(label: Any, value: Any) -> str:
    """A label and its value: "车牌：沪A12345", "Plate: 沪A12345"."""
    return pgettext("a label and its value", "%(label)s：%(value)s") % {"label": label, "value": value}


def sentences(items: Iterable[Any]) -> str:
    """Messages one after another: "a；b" in Chinese, "a; b" in English."""
    return pgettext("between sentences", "；").join(str(item) for item in items)


def separators() -> dict[str, str]:
    """The two separators above, for a page's script: ``list_separator`` and ``sentence_separator``."""
    return {
        "list_separator": pgettext("between the items of a list", "、"),
        "sentence_separator": pgettext("between sentences", "；"),
    }
