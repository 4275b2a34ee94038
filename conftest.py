import copy
import fnmatch
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test.client import ClientHandler
from django.test.signals import setting_changed
from django.test.utils import override_settings
from django.utils import translation

from linli.lib import testing
from linli.lib.testing import Personas, build_personas
from linli.registry.models import Person

# Every test client builds Django's middleware on its first request, and WhiteNoise's walks every static
# file then (~30 ms): over a thousand clients (the API sweep alone makes hundreds) that is half a minute.
# The built middleware depends on the settings only, so it is built once and shared, and built anew
# whenever a setting changes (the ``settings`` fixture, override_settings). What a request does is the
# same: each client's handler still marks its own requests (CSRF checks) before entering the chain.
_middleware: dict[bool, tuple[Any, ...]] = {}
_load_middleware = ClientHandler.load_middleware


def _shared_load_middleware(self: Any, is_async: bool = False) -> None:
    if is_async not in _middleware:
        _load_middleware(self, is_async)
        _middleware[is_async] = (
            self._view_middleware,
            self._template_response_middleware,
            self._exception_middleware,
            self._middleware_chain,
        )
    (
        self._view_middleware,
        self._template_response_middleware,
        self._exception_middleware,
        self._middleware_chain,
    ) = _middleware[is_async]


def _forget_middleware(**kwargs: Any) -> None:
    _middleware.clear()


ClientHandler.load_middleware = _shared_load_middleware  # type: ignore[method-assign]
setting_changed.connect(_forget_middleware, dispatch_uid="conftest-forget-middleware")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Hash new passwords with few PBKDF2 iterations (see FastPBKDF2PasswordHasher); the rest still verify."""
    hashers = ["linli.lib.testing.FastPBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


# Building the personas' street takes ~0.1-0.2 s (some 400 queries through the services), and some 650 tests
# ask for it. A module whose every test asks for it, in a transaction rolled back at its end (no
# transactional_db, no live server), builds it once: each test still gets its own copy of the objects and
# runs in a savepoint inside the module's transaction, so its writes are gone before the next test.
_TRANSACTIONAL = {"transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}
_sharing_modules: set[str] = set()
_shared: dict[str, Personas] = {}


def _rolled_back_only(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    if "personas" not in names or _TRANSACTIONAL & names:
        return False
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return True
    options = {**dict(zip(("transaction", "reset_sequences"), marker.args, strict=False)), **marker.kwargs}
    return not any(options.get(name) for name in ("transaction", "reset_sequences", "serialized_rollback"))


# CI runs the suite twice, on SQLite and then on PostgreSQL (.ci/run), on two cores within 15 minutes.
# With LINLI_SPLIT_SUITE=1 (set by .ci/run), each run leaves out the tests the other one runs, so that
# every test runs once in CI and the tests of data, services, API and concurrency run on both databases:
# pages, browsers, printouts and the demo, whose answers do not depend on the database, run on SQLite,
# the database of `make run`; the bad-input sweeps, which look for what the database refuses (a NUL, a
# number past 64 bits, an over-long text), run on PostgreSQL, the database of production, which refuses
# more. Without it (`make test` by hand), each run runs everything.
SQLITE_SHARE = (
    "linli/browser_tests/*",
    "linli/*/tests/*_browser.py",
    "linli/*/tests/test_*pages*.py",
    "linli/*/tests/test_demo*.py",
    "linli/registry/tests/test_seed.py",
    "linli/gate/tests/test_board.py",
    "linli/gate/tests/test_cards.py",
    "linli/supplies/tests/test_labels.py",
    "linli/supplies/tests/test_packing_picklist.py",
    "linli/tests/test_collector.py",
    "linli/tests/test_english_pages.py",
    "linli/tests/test_qr*.py",
    "linli/tests/test_scope_sweep*.py",
    "linli/tests/test_site.py",
    "linli/tests/test_wording.py",
)
POSTGRESQL_SHARE = ("linli/tests/test_bad_input_sweep*.py",)


def _split() -> bool:
    return os.environ.get("LINLI_SPLIT_SUITE") == "1"


def _on_sqlite() -> bool:
    return bool(settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"))


@pytest.fixture(scope="session")
def django_db_use_migrations(request: pytest.FixtureRequest) -> bool:
    """In a split suite's SQLite run, the test databases are made from the models, not by the migrations
    (~24 s less for each worker here): the PostgreSQL run of the same CI applies every migration, the
    migrations check (`make test`) holds the models to them, and the migrations' own code (the gate's
    SQL functions) does nothing on SQLite."""
    if _split() and _on_sqlite():
        return False
    return not request.config.getvalue("nomigrations")


def _other_share(items: list[pytest.Item]) -> list[pytest.Item]:
    """The tests the other database's run of a split suite runs (none unless LINLI_SPLIT_SUITE=1)."""
    if not _split():
        return []
    other = POSTGRESQL_SHARE if _on_sqlite() else SQLITE_SHARE
    return [item for item in items if any(fnmatch.fnmatch(item.nodeid.split("::", 1)[0], pattern) for pattern in other)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other = _other_share(items)
    if other:
        config.hook.pytest_deselected(items=other)
        left_out = set(map(id, other))
        items[:] = [item for item in items if id(item) not in left_out]
    modules: dict[str, bool] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        modules[module] = modules.get(module, True) and _rolled_back_only(item)
    _sharing_modules.clear()
    _sharing_modules.update(module for module, sharing in modules.items() if sharing)


def _build_shared_personas() -> Personas:
    personas = build_personas()
    people = Person.objects.filter(household__street=personas.tree.street)
    testing.reserved_id_numbers.update(number for number in people.values_list("id_number", flat=True) if number)
    return personas


@pytest.fixture(scope="module", autouse=True)
def _module_personas(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.nodeid not in _sharing_modules:
        yield
        return
    request.getfixturevalue("django_db_setup")
    rows = testing.shared_rows(request.getfixturevalue("django_db_blocker"), _build_shared_personas)
    _shared["personas"] = next(rows)
    try:
        yield
    finally:
        del _shared["personas"]
        testing.reserved_id_numbers.clear()
        next(rows, None)


@pytest.fixture
def personas(db: None) -> Personas:
    """A small street with one account per role (see linli.lib.testing)."""
    if "personas" in _shared:
        return copy.deepcopy(_shared["personas"])
    return build_personas()


@pytest.fixture
def client_for(client):  # type: ignore[no-untyped-def]
    """Log the test client in as a persona: ``client_for(personas.grid_worker)``."""

    def login(user):  # type: ignore[no-untyped-def]
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the default language (Chinese).

    LocaleMiddleware activates a request's language on the thread and never resets it, so after a
    test that asked for English, code run outside a request would otherwise speak English.
    """
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_signing_keys() -> Iterator[None]:
    """Pass-signing keys live in the database, which each test rolls back: forget the cached ones."""
    from linli.gate import keys

    keys.reset()
    yield
    keys.reset()
