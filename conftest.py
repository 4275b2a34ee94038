from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation

from linli.lib.testing import Personas, build_personas


@pytest.fixture
def personas(db: None) -> Personas:
    """A small street with one account per role (see linli.lib.testing)."""
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
