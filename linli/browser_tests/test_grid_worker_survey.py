"""A grid worker on a phone: log in, find a household, record a door-to-door survey visit (SPEC R2)."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from linli.audit.models import AuditEvent
from linli.browser_tests.conftest import save_screenshot
from linli.lib.testing import build_personas
from linli.registry.models import Person
from linli.survey.models import SurveyVisit

pytestmark = pytest.mark.browser


def fits_phone_width(page: Page) -> bool:
    # clientWidth, not innerWidth: on a mobile viewport innerWidth grows with a page that is too wide.
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_grid_worker_on_a_phone_finds_a_household_and_records_a_survey_visit(
    page: Page, login_as: Callable[[str], None]
) -> None:
    # given: the grid worker of 第一网格 (阳光小区: 1号楼 with two units, 2号楼 with one; rooms 101, 102, 201)
    personas = build_personas()
    tree = personas.tree
    household = tree.households[f"{tree.b2.code}/1单元/201"]
    householder = Person.objects.get(household=household, relation="householder")
    other_community_person = Person.objects.filter(household__community=tree.c2, relation="householder").first()
    assert other_community_person is not None

    # when: they log in with their password on a phone
    login_as(personas.grid_worker.username)
    expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()

    # and search the home page's box for a name that exists in every grid of both communities
    page.get_by_label("查找人员或房屋").fill("户主201")
    page.get_by_role("button", name="查找", exact=True).click()
    expect(page).to_have_url(re.compile(r"/registry/search/\?q="))

    # then: only the three households numbered 201 of their own grid are listed
    results = page.locator("#results")
    expect(results.get_by_role("link")).to_have_count(3)
    expect(results).to_contain_text("阳光小区")
    expect(results).not_to_contain_text("团结新村")  # the other community
    expect(results).not_to_contain_text("和谐家园")  # the other grid of their own community
    assert fits_phone_width(page)

    # when: they open the household in 2号楼 1单元 201
    results.get_by_role("link").filter(has_text="2号楼1单元201").click()
    expect(page).to_have_url(re.compile(rf"/registry/household/{household.pk}/$"))
    expect(page.get_by_text("未摸排", exact=True)).to_be_visible()
    expect(page.get_by_text(householder.name, exact=True)).to_be_visible()
    assert fits_phone_width(page)

    # and record a visit: someone was home, the householder was there, the member list is confirmed
    page.get_by_role("link", name="登记走访").click()
    expect(page).to_have_url(re.compile(rf"/survey/household/{household.pk}/visit/$"))
    expect(page.get_by_role("heading", name="入户摸排登记")).to_be_visible()
    page.get_by_label("有人", exact=True).check()
    page.get_by_label(f"{householder.name}（").check()  # "户主201（户主）"
    page.get_by_label("成员信息已核实").check()
    assert fits_phone_width(page)
    page.get_by_role("button", name="保存走访记录").click()

    # then: back on the household page, told in Chinese that the survey of this household is complete
    expect(page).to_have_url(re.compile(rf"/registry/household/{household.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("已保存走访记录，本户摸排完成")
    expect(page.get_by_text(re.compile("^已摸排"))).to_be_visible()
    assert fits_phone_width(page)
    screenshot = save_screenshot(page, "grid_worker_survey_visit_recorded")
    assert screenshot.stat().st_size > 0

    # and the database agrees: surveyed, the visit with its member, and an audit trail by the grid worker
    household.refresh_from_db()
    assert household.surveyed_at is not None
    visit = SurveyVisit.objects.get(household=household)
    assert visit.anyone_home and visit.members_confirmed
    assert list(visit.people_home.all()) == [householder]
    assert visit.visitor == personas.grid_worker
    assert AuditEvent.objects.filter(
        model="survey.SurveyVisit", object_pk=str(visit.pk), actor=personas.grid_worker
    ).exists()

    # and a person of the other community cannot be found even by their exact phone tail
    page.goto(f"/registry/search/?q={other_community_person.phone[-4:]}")
    expect(page.locator("#results")).to_contain_text("没有找到")
    expect(page.locator("#results").get_by_role("link")).to_have_count(0)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_survey_progress_and_household_fit_a_360_px_phone(
    page: Page, login_as: Callable[[str], None], live_server: Any, language: str
) -> None:
    # given: a grid worker on a small phone (360 px), in Chinese or in English
    personas = build_personas()
    tree = personas.tree
    page.set_viewport_size({"width": 360, "height": 740})
    login_as(personas.grid_worker.username)  # the login form in Chinese, then the language of the test
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    household = tree.households[f"{tree.b1.code}/1单元/101"]

    # when: they open the progress of their grid, of a building, and a household's members
    for url, shown in (
        ("/survey/", "#progress-rows"),
        (f"/survey/?level=building&id={tree.b1.pk}", "#uncovered"),
        (f"/registry/household/{household.pk}/", ".masked >> nth=0"),
    ):
        page.goto(url)
        expect(page.locator(shown)).to_be_visible()
        # then: each page fits the screen (the tables become one card per row; "ID number" wraps)
        assert fits_phone_width(page), (language, url)
