"""A community worker imports a roster on a phone: a file with a bad row is refused with the reasons in
Chinese, nothing is written, and the report fits the screen; the corrected file goes in."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from linli.browser_tests.conftest import save_screenshot
from linli.lib.testing import build_personas, make_id_number
from linli.registry.models import Person
from linli.rosters.tests.conftest import person_row, write_xlsx

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def inline_imports(settings: Any, tmp_path: Path) -> None:
    settings.ROSTER_IMPORT_IN_BACKGROUND = False
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _upload(page: Page, path: Path) -> None:
    page.goto("/rosters/")
    page.get_by_label("台账文件（.xlsx）").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()


def test_a_bad_row_is_explained_and_nothing_is_written_then_the_fixed_file_goes_in(
    page: Page, login_as: Callable[[str], None], tmp_path: Path
) -> None:
    personas = build_personas()
    good_id = make_id_number("19800101")
    bad_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")  # a wrong check digit
    login_as(personas.community_worker.username)

    # when: one good row and one with a wrong check digit and a short phone number
    rows = [
        person_row(姓名="王导入", 房号="301", 身份证号=make_id_number("19750505")),
        person_row(姓名="李校验", 房号="302", 身份证号=bad_id, 手机号="1370000111"),
    ]
    _upload(page, write_xlsx(tmp_path / "bad.xlsx", rows))

    # then: refused, each reason in Chinese by row and column, the table inside a phone's width
    expect(page.get_by_text("有错误，未导入")).to_be_visible()
    expect(page.get_by_text("身份证号校验位错误")).to_be_visible()
    expect(page.get_by_text("手机号应为以1开头的11位数字")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(page, "roster_import_bad_row_phone")
    assert not Person.objects.filter(name__in=["王导入", "李校验"]).exists()

    # when: the corrected file
    rows[1] = person_row(姓名="李校验", 房号="302", 身份证号=good_id)
    _upload(page, write_xlsx(tmp_path / "fixed.xlsx", rows))

    # then: both are in
    expect(page.get_by_text("已完成")).to_be_visible()
    imported = Person.objects.filter(name__in=["王导入", "李校验"]).values_list("name", flat=True)
    assert sorted(imported) == sorted(["王导入", "李校验"])
