"""The compound's live board on a grid worker's phone (A3): who is out, who is overdue, alerts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from linli.browser_tests.conftest import (  # noqa: F401  (fixtures)
    _async_unsafe_allowed,
    _fast_password_hasher,
    browser,
    login_as,
    page,
)
from linli.gate.tests.conftest import build_gate
from linli.gate.tests.test_live import make_busy
from linli.lib.testing import build_personas

pytestmark = pytest.mark.browser


def test_the_live_board_reads_as_one_card_per_row_on_a_phone(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: a household out past its limit after two outings in one window, and a fever at the gate
    gate = make_busy(build_gate(build_personas()))
    login_as(gate.personas.grid_worker.username)

    # when: the grid worker opens the compound's live board on a 390 px phone
    page.goto(f"/gate/compound/{gate.checkpoint.compound_id}/live/")

    # then: each alert, outing and violation is a card as wide as the page, its cells labelled,
    # instead of five squeezed columns where an address wrapped over five lines
    for table in ("#alerts", "#out", "#violations"):
        row = page.locator(f"{table} tbody tr").first
        expect(row).to_be_visible()
        widths = [box["width"] for cell in row.locator("td:visible").all() if (box := cell.bounding_box())]
        assert widths and min(widths) > 300, (table, widths)
        expect(page.locator(f"{table} thead tr")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("#out tbody tr").first.locator("td[data-label]").first).to_be_visible()


def test_the_rules_checkpoints_and_live_overview_fit_a_guards_phone_in_english(
    page: Page,  # noqa: F811
    login_as: Callable[[str], None],  # noqa: F811
) -> None:
    # given: the compound's guard, reading the pages in English on a 390 px phone
    gate = build_gate(build_personas())
    login_as(gate.personas.gate_guard.username)
    page.goto("/gate/rules/")
    page.get_by_role("button", name="English").click()

    # then: the tables of compounds and checkpoints are one card per row, nothing wider than the phone
    compound = gate.checkpoint.compound_id
    for url in ("/gate/rules/", "/gate/live/", f"/gate/compound/{compound}/checkpoints/"):
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
