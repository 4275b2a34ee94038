"""An id or a number a page reads from its address or its form that is not one: a digit that is not an
ASCII digit ("²" passes ``str.isdigit()`` and fails ``int()``) or a number past a 64-bit id (an
OverflowError on SQLite, an error on PostgreSQL). Each page answers as it does for an unknown record,
never with a server error (linli.lib.views.as_id)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from linli.lib.testing import Personas

pytestmark = pytest.mark.django_db

NOT_IDS = ("²", "9" * 25)


@pytest.mark.parametrize("bad", NOT_IDS)
def test_the_survey_progress_of_a_node_that_cannot_be(personas: Personas, client_for: Any, bad: str) -> None:
    answer = client_for(personas.grid_worker).get(reverse("survey:progress"), {"level": "community", "id": bad})
    assert answer.status_code == 404


@pytest.mark.parametrize("bad", NOT_IDS)
def test_registering_a_key_person_chosen_by_an_id_that_cannot_be(personas: Personas, client_for: Any, bad: str) -> None:
    answer = client_for(personas.community_worker).get(reverse("health:register"), {"person": bad})
    assert answer.status_code == 200 and answer.context["chosen"] is None


@pytest.mark.parametrize("bad", NOT_IDS)
def test_a_resident_reporting_a_temperature_for_a_member_that_cannot_be(
    personas: Personas, client_for: Any, bad: str
) -> None:
    answer = client_for(personas.resident).post(reverse("health:me"), {"person": bad, "p1-temperature": "36.5"})
    assert answer.status_code == 404


@pytest.mark.parametrize("bad", NOT_IDS)
def test_a_resident_ordering_in_a_window_that_cannot_be(personas: Personas, client_for: Any, bad: str) -> None:
    answer = client_for(personas.resident).post(reverse("supplies:me"), {"window": bad, "key": "k" * 32}, follow=True)
    assert answer.status_code < 500
    assert "订购已截止" in answer.content.decode() or answer.status_code in (400, 404, 409, 410)


@pytest.mark.parametrize("bad", NOT_IDS)
def test_a_new_window_for_a_supplier_that_cannot_be(personas: Personas, client_for: Any, bad: str) -> None:
    answer = client_for(personas.community_worker).get(reverse("supplies:window_create"), {"supplier": bad})
    assert answer.status_code == 200
