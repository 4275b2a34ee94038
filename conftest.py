import pytest

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
