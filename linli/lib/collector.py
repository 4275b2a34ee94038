"""Pausing Python's cyclic garbage collector around bulk work (the roster import).

Reference counting frees almost everything such work lets go of; the cyclic collector is there for
reference cycles, which a bulk import hardly makes. What the collector costs it, though, grows with
what the work keeps alive: a 100,000-row roster holds a few hundred thousand container objects (the
rows of a piece, the chunks waiting for the writer, the checker's maps), and each collection walks
them again. Measured on 2 cores: ~750 collections, 0.56–0.75 s of a ~3.5 s import, every one of them
holding the GIL, so that the checking, parsing and writing threads all waited.

The collector has no per-thread switch: while any work is inside :func:`collector_paused`, it is off
for the whole process; it is turned on again when the last one leaves — unless it was already off
when the first came in — and the cycles made meanwhile are collected then, as usual.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector off (see the module's docstring)."""
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()


def freeze_after_start_up() -> int:
    """Load what a server process would otherwise load on its first requests, then move everything
    alive to the collector's permanent generation (``gc.freeze``); the number of objects frozen.

    A served process keeps ~180,000 container objects for good: every view module, ninja's API with
    its pydantic schemas, the translation catalogues. A full collection walks them all, holding the
    GIL: 120–200 ms on 2 loaded cores, a stall of every request in the process that put the order
    rush's p99 at 125–230 ms in the rounds where it came. Frozen, they are never walked again; the
    collector still collects everything made afterwards.
    """
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().reverse_dict  # noqa: B018  imports the URLconf (every view, the API) and fills its maps
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("邻里")  # loads the catalogue
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
