"""The API half of the scope sweep (``test_scope_sweep.py`` holds the tables and the page half).

Its own module so that ``pytest -n 2 --dist loadfile`` runs the two long sweeps on two workers at once.
"""

from linli.tests.test_scope_sweep import C2, sweep_api
from linli.tests.test_scope_sweep import c2 as c2  # the fixture


def test_no_api_endpoint_shows_or_changes_anything_of_another_community(c2: C2) -> None:
    sweep_api(c2)
