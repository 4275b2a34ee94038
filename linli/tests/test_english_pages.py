"""The main pages, read in English, show no Chinese but the data.

test_site checks that every message of the catalogue has its English; this checks what the catalogue
cannot see: words and punctuation written straight into a template or a Python string ("户主101（户主）",
"负责范围：") stay Chinese whatever the language. Each persona's pages are asked for in English and
their visible text (tags and scripts removed, but the attributes people read and the JSON configs of
the pages kept) must hold no Chinese once the fixtures' own names are taken out.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from linli.gate.tests.conftest import build_gate
from linli.lib.testing import Personas
from linli.supplies.testing import open_window

# The fixtures' data (linli.lib.testing, the gate's and supplies' test helpers): names, not interface.
FIXTURE_DATA = (
    "和平街道",
    "幸福社区",
    "团结社区",
    "第一网格",
    "第二网格",
    "阳光小区",
    "阳光物业",
    "和谐家园",
    "团结新村",
    "号楼",
    "单元",
    "户主",
    "家属",
    "平价超市",
    "测试窗口",
    "标准蔬菜包",
    "鸡蛋",
    "东门",
    "街道指挥",
    "外社区干部",
    "社区干部",
    "网格员",
    "楼栋长",
    "值守",
    "医生",
    "商超",
    "居民",
    "份",  # an item's default unit
    "白班",  # the shifts a new checkpoint gets (gate.duty.DEFAULT_SHIFTS), stored as its data
    "晚班",
    "夜班",
    "张桂英",  # the search box's example of a resident's name
    "中文",  # the language switch names each language in itself
)
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f]+")
SHOWN_ATTRIBUTES = re.compile(r"""\b(?:title|placeholder|aria-label|alt|value|data-label)=(["'])(.*?)\1""", re.S)
JSON_SCRIPT = re.compile(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', re.S)


def visible_text(page: str) -> str:
    configs = JSON_SCRIPT.findall(page)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    attributes = [value for _quote, value in SHOWN_ATTRIBUTES.findall(page)]
    text = html.unescape(" ".join([re.sub(r"<[^>]+>", " ", page), *attributes]))
    # the JSON configs escape non-ASCII as \uXXXX
    configs_text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), " ".join(configs))
    return f"{text} {configs_text}"


def chinese_left(page: str) -> list[str]:
    text = visible_text(page)
    for word in sorted(FIXTURE_DATA, key=len, reverse=True):
        text = text.replace(word, " ")
    return sorted(set(CHINESE.findall(text)))


def english(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def test_the_main_pages_show_no_chinese_in_english(personas: Personas) -> None:
    gate = build_gate(personas)
    window = open_window(personas.supplier.supplier, personas.tree.c1)  # type: ignore[arg-type]
    household = personas.resident_household
    checkpoint = gate.checkpoint.pk
    pages: dict[str, list[str]] = {
        "street_command": ["/", "/gate/live/", "/health/summary/"],
        "community_worker": [
            "/",
            "/org/",
            f"/org/compound/{personas.tree.p1.pk}/",
            f"/gate/checkpoint/{checkpoint}/duty/",
            "/supplies/suppliers/",
            f"/supplies/suppliers/{window.supplier_id}/",
            "/supplies/windows/",
            f"/supplies/windows/{window.pk}/",
            "/supplies/stock/",
            "/supplies/purchases/",
            "/supplies/delivery/",
            "/supplies/money/",
            "/health/",
            "/health/people/",
            "/health/chase/",
            "/health/tables/",
        ],
        "grid_worker": [
            "/",
            f"/registry/household/{household.pk}/",
            f"/survey/household/{household.pk}/visit/",
            f"/gate/households/{household.pk}/pass/",
            "/supplies/proxy/",
        ],
        "building_lead": ["/", "/supplies/delivery/mine/"],
        "gate_guard": ["/", f"/gate/checkpoints/{checkpoint}/", f"/gate/checkpoints/{checkpoint}/visits/new/"],
        "medic": ["/", "/health/people/"],
        "supplier": ["/supplies/", "/supplies/purchases/", f"/supplies/stock/{window.supplier_id}/prices/"],
        "resident": [f"/registry/household/{household.pk}/", "/gate/my-pass/", "/supplies/me/", "/health/me/"],
        "admin": ["/"],
    }
    found: dict[str, list[str]] = {}
    for persona, urls in pages.items():
        client = english(getattr(personas, persona))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (persona, url, response.status_code)
            page = response.content.decode()
            assert '<html lang="en">' in page, (persona, url)
            if left := chinese_left(page):
                found[f"{persona} {url}"] = left
    assert not found, found


@pytest.mark.parametrize("page", ["王彬（户主）", "负责范围：", "<p title='合计'>1</p>"])
def test_the_check_sees_interface_chinese(page: str) -> None:
    assert chinese_left(page)


def test_the_check_leaves_the_fixtures_data_alone() -> None:
    page = '<p>阳光小区 1号楼1单元101 · 户主101</p><script>var a = "未送达";</script><!-- 注释 -->'
    assert chinese_left(page) == []


def test_the_home_page_counts_in_the_plural(personas: Personas) -> None:
    # "户" is one household as a field's name but a count on the home page: "48 Households", not "48 Household"
    page = english(personas.community_worker).get("/").content.decode()
    for label in ("Grids", "Compounds", "Buildings", "Households", "People"):
        assert f'<div class="l">{label}</div>' in page, label
