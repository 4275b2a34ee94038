"""``collector_paused``: off while any holder is inside, back on when the last leaves, as it was;
``freeze_after_start_up``: a served process starts with what it keeps frozen."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from django.conf import settings

from linli.lib.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_off_inside_and_on_after_even_after_an_error() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


def test_on_again_only_when_the_last_holder_leaves() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first holder has left: still off for this one

    with collector_paused():
        first_in.set()
        thread = threading.Thread(target=second)
        thread.start()
        assert second_in.wait(5)
    first_out.set()
    thread.join(5)
    assert seen == [False]
    assert gc.isenabled()


def test_left_off_when_it_was_off_before() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


# A fresh interpreter, as a server worker starts: import the WSGI module, then do what a first
# request would do to the URLconf and the catalogues.
SERVED_PROCESS = """
import gc, json, sys
import linli.wsgi
from django.urls import resolve
from django.utils import translation
modules = set(sys.modules)
young = len(gc.get_objects())
for path in ("/", "/gate/", "/api/v1/docs", "/registry/search/"):
    resolve(path)
with translation.override("en"):
    english = translation.gettext("门岗")
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "young": young,
    "new_modules": sorted(set(sys.modules) - modules),
    "english": english,
}))
"""


def test_the_served_application_starts_with_what_it_keeps_frozen() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "linli.settings"}
    done = subprocess.run(
        [sys.executable, "-c", SERVED_PROCESS], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR
    )
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout.splitlines()[-1])
    # the views, the API's schemas and the catalogues were loaded before the freeze, not by the first requests
    assert started["new_modules"] == []
    assert started["english"] == "Gate"
    # and what the process keeps is out of the collector's reach: full collections walk only the rest
    assert started["frozen"] > 50_000
    assert started["young"] < started["frozen"] // 20
