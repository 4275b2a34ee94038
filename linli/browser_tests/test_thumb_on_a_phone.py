"""Every page a persona uses on a phone is usable by thumb on a small one (360 × 740), in Chinese and English.

On each page (``audit.js``): every button, link that is not inside running text, form control — and a hidden
radio's or file input's label that stands in for it — is at least 24 × 24 CSS px (WCAG 2.2 target size, a
drawn radio or checkbox counts by its own box: the dot is what the thumb aims at); nothing makes the page
wider than the screen; a placeholder fits its box; no text is smaller than 12 px.

One browser for the module, one context per persona: each persona logs in once and visits each of their
pages once per language. Every problem of every page is collected, so a failure lists them all.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from linli.browser_tests.conftest import (
    PHONE,
    TIMEOUT_MS,
    resident_login,
    save_screenshot,
    wait_for_live_server_requests,
)
from linli.gate import services as gate_services
from linli.gate import visitors
from linli.health.choices import Category
from linli.health.services import orders as health_orders
from linli.health.services import reports as health_reports
from linli.lib.testing import PASSWORD, Personas, build_personas, make_id_number
from linli.registry.models import Person
from linli.supplies.models import Item, Order, Supplier
from linli.supplies.services import delivery, stock
from linli.supplies.testing import open_window, out_for_delivery

pytestmark = pytest.mark.browser

SMALL_PHONE: dict[str, Any] = {**PHONE, "viewport": {"width": 360, "height": 740}}
LANGUAGES = ("zh-hans", "en")
AUDIT = (Path(__file__).parent / "audit.js").read_text(encoding="utf-8")


def audit(page: Page) -> list[str]:
    """The problems ``audit.js`` finds on the open page."""
    return list(page.evaluate(AUDIT))


@dataclass
class Street:
    """The personas and what their pages show: a checkpoint with a visitor and a parcel, a window open for
    orders, a delivery run for the building lead (the volunteer), a key person and a fever for the medic,
    平价超市's eggs for its staff (the supplier), with yesterday's price, today's abnormal rise and stock, and
    today's staff checks (a fever among them)."""

    personas: Personas
    checkpoint_pk: int
    household_pk: int
    person_pk: int
    window_pk: int
    supplier_pk: int
    item_pk: int
    pages: dict[str, list[str]] = field(default_factory=dict)


def build_street() -> Street:
    personas = build_personas()
    tree = personas.tree
    household = personas.resident_household
    householder = Person.objects.get(household=household, relation="householder")
    neighbour = tree.households[f"{tree.b1.code}/1单元/102"]

    checkpoint = gate_services.checkpoint_create(compound=tree.p1, name="东门")
    personas.gate_guard.checkpoint = checkpoint
    personas.gate_guard.save()
    gate_services.pass_issue(household=household, members=[householder])
    visitors.visit_register(
        checkpoint=checkpoint,
        actor=personas.gate_guard,
        data=visitors.VisitInput(
            name="访客甲",
            id_number=make_id_number("19900101"),
            temperature="36.5",
            health_code="green",
            coming_from="浦东新区",
            purpose="探亲",
            host_household_id=household.pk,
        ),
    )
    visitors.parcel_log(checkpoint=checkpoint, actor=personas.gate_guard, household=household, carrier="顺丰")

    shop = Supplier.objects.get(name="平价超市")
    point = delivery.drop_off_create(compound=tree.p1, name="东门投放点", actor=personas.community_worker)
    out_for_delivery(personas, point=point, key="phone-audit")
    window = open_window(shop, tree.c1, items={"标准蔬菜包": 50, "鸡蛋": 30}, limit=2)
    assert Order.objects.count() == 1

    returnee = Person.objects.get(household=neighbour, relation="householder")
    health_orders.key_person_register(
        returnee, category=Category.CLOSE_CONTACT, actor=personas.medic, starts_on=timezone.localdate()
    )
    health_reports.temperature_report(householder, temperature="37.8", actor=personas.resident)
    egg = Item.objects.get(supplier=shop, name="鸡蛋")
    staff = personas.supplier
    stock.price_report(item=egg, price="11.50", actor=staff, now=timezone.now() - datetime.timedelta(days=1))
    stock.price_report(item=egg, price="15.80", actor=staff)  # an abnormal rise
    stock.stock_report(item=egg, quantity=30, actor=staff)
    stock.staff_check_record(supplier=shop, kind="temperature", staff_name="王店员", temperature="37.6", actor=staff)
    stock.staff_check_record(supplier=shop, kind="disinfection", staff_name="收银区", result="含氯消毒液", actor=staff)
    stock.staff_check_record(supplier=shop, kind="test", staff_name="王店员", result="negative", actor=staff)
    return Street(personas, checkpoint.pk, household.pk, householder.pk, window.pk, shop.pk, egg.pk)


def pages_of(street: Street, persona: str) -> list[str]:
    """The pages ``persona`` uses on a phone (their menu's and their home page's links are added)."""
    checkpoint = street.checkpoint_pk
    household = street.household_pk
    shop = street.supplier_pk
    return {
        "resident": [
            f"/registry/household/{household}/",
            reverse("health:me"),
            reverse("supplies:me"),
            reverse("gate:my_pass"),
        ],
        "gate_guard": [
            "/",
            reverse("gate:index"),
            reverse("gate:checkpoint", args=[checkpoint]),
            reverse("gate:visits", args=[checkpoint]),
            reverse("gate:visit_create", args=[checkpoint]),
            reverse("gate:vehicles", args=[checkpoint]),
            reverse("gate:parcels", args=[checkpoint]),
            reverse("gate:parcel_create", args=[checkpoint]),
            reverse("gate:duty", args=[checkpoint]),
            reverse("gate:duty_mine"),
            reverse("gate:exempt_list"),
            reverse("gate:live_index"),
            reverse("registry:search") + "?q=101",
        ],
        "grid_worker": [
            "/",
            reverse("registry:tree"),
            reverse("registry:search") + "?q=户主",
            f"/registry/household/{household}/",
            reverse("registry:person_add", args=[household]),
            reverse("registry:person_edit", args=[street.person_pk]),
            reverse("registry:travel_add", args=[household]),
            reverse("survey:progress"),
            reverse("survey:visit_create", args=[household]),
            reverse("supplies:proxy"),
            reverse("supplies:proxy_household", args=[household]),
            reverse("gate:visits", args=[checkpoint]),
        ],
        "medic": [
            "/",
            reverse("health:index"),
            reverse("health:key_persons"),
            reverse("health:register"),
            reverse("health:chase"),
            reverse("health:summary"),
            reverse("health:escalations"),
            f"/registry/household/{household}/",
        ],
        "building_lead": [
            "/",
            reverse("supplies:delivery_mine"),
            reverse("supplies:index"),
            f"/registry/household/{household}/",
        ],
        "supplier": [
            "/",
            reverse("supplies:stock_report", args=[shop]),
            reverse("supplies:price_report", args=[shop]),
            reverse("supplies:staff_checks", args=[shop]),
            reverse("supplies:supplier", args=[shop]),
            reverse("supplies:item_create", args=[shop]),
            reverse("supplies:item", args=[street.item_pk]),
            reverse("supplies:window", args=[street.window_pk]),
        ],
    }[persona]


def staff_login(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def menu_links(page: Page) -> list[str]:
    """The same-site pages the header's menu and a section's menu (``nav.subnav``) link to."""
    hrefs = page.eval_on_selector_all(
        "header.top nav a[href], nav.subnav a[href]", "links => links.map(link => link.getAttribute('href'))"
    )
    return [href for href in hrefs if href.startswith("/") and not href.endswith((".pdf", ".xlsx"))]


@pytest.fixture
def small_phone(browser: Browser, transactional_db: None, live_server: Any) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server.url, **SMALL_PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()
    wait_for_live_server_requests()


@pytest.mark.parametrize("persona", ["resident", "gate_guard", "grid_worker", "medic", "building_lead", "supplier"])
def test_every_page_of_a_persona_is_usable_by_thumb_on_a_360_px_phone(
    small_phone: BrowserContext, live_server: Any, persona: str
) -> None:
    # given: the persona logged in on a 360 px phone, and the pages they use
    street = build_street()
    page = small_phone.new_page()
    problems: list[str] = []
    if persona == "resident":
        page.goto("/accounts/login/")
        problems.extend(f"zh-hans /accounts/login/: {problem}" for problem in audit(page))
        resident_login(
            page,
            street.personas.resident.phone,
            on_page=lambda shown: problems.extend(f"zh-hans {shown.url}: {problem}" for problem in audit(shown)),
        )
    else:
        staff_login(page, getattr(street.personas, persona).username)
    urls = pages_of(street, persona)
    page.goto(urls[0])
    urls += [url for url in menu_links(page) if url not in urls]

    # when: they open each page in Chinese, then in English
    visited = 0
    for language in LANGUAGES:
        small_phone.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.ok, (language, url, response and response.status)
            if page.locator("#gate").count():  # the checkpoint page draws itself once its data is in
                expect(page.locator("#gate")).to_have_attribute("data-ready", "yes")
            found = audit(page)
            if found:
                save_screenshot(page, f"phone-{persona}-{language}-{url}")
            problems.extend(f"{language} {url}: {problem}" for problem in found)
            visited += 1

    # then: no page has a problem
    assert visited == 2 * len(urls) and len(urls) >= 4
    assert not problems, "\n".join(problems)


# One of each problem the audit claims to catch, and what it must let pass (a page of its own, no server).
SAMPLE = """<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; font: 17px/1.5 sans-serif; } .hidden-radio input { position: absolute; opacity: 0; }</style>
<p>Read <a href="/a">the rules</a> first.</p>
<p><a href="/b" id="alone">Back</a></p>
<label><input type="radio" name="r" id="dot"> Yes</label>
<label class="hidden-radio" style="display:inline-block;padding:12px"><input type="radio" name="s"> Big label</label>
<label class="hidden-radio" style="font-size:12px;line-height:1"><input type="radio" name="s" id="tiny"> Tiny</label>
<input id="long" type="search" style="width:120px;font-size:17px" placeholder="a placeholder far too long for the box">
<input id="short" type="search" style="width:120px;font-size:17px" placeholder="Name">
<p style="font-size:11px">Fine print</p>
<div style="width:400px">Too wide</div>
"""


def test_the_audit_catches_each_kind_of_problem_and_lets_running_text_links_pass(browser: Browser) -> None:
    context = browser.new_context(**SMALL_PHONE)
    try:
        page = context.new_page()
        page.set_content(SAMPLE)
        found = audit(page)
    finally:
        context.close()
    text = "\n".join(found)
    assert re.search(r'^target: <input#dot\[type=radio\]> "on" is 13×13$', text, re.M), text
    assert re.search(r'^target: <a#alone> "Back" is [\d.]+×(1\d|2[0-3])(\.\d)?$', text, re.M), text
    assert "target: label of <input#tiny[type=radio]>" in text
    assert re.search(r"^placeholder: <input#long\[type=search\]> .* needs \d+ px, has \d+ px$", text, re.M), text
    assert re.search(r'^text: <p> "Fine print" is 11 px$', text, re.M), text
    assert re.search(r"^overflow: scrollWidth 40\d > clientWidth 360: <div> \"Too wide\" right=400", text, re.M), text
    # and nothing else: the link in running text, the big label of a hidden radio, the short placeholder
    assert len(found) == 6, text
