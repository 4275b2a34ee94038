import datetime
import io
import os
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from linli.organisation.models import WorkingGroup
from linli.organisation.services import cover_slot_add, responsibility_chain_save, working_groups_seed_defaults

A4_POINTS = (595.3, 841.9)
CHAIN: dict[str, Any] = {
    "street_leader": "王街道",
    "street_leader_phone": "13900000001",
    "community_leader": "李社区",
    "community_leader_phone": "0551-62345678",
    "responsible": "张责任",
    "responsible_phone": "13900000003",
}


def notice_url(compound) -> str:
    return reverse("org:notice_pdf", args=[compound.pk])


def read_pdf(response) -> PdfReader:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = response.content
    if os.environ.get("LINLI_KEEP_NOTICE"):  # to look at it: pdftoppm -png -r 60 <file> /tmp/notice
        with open(os.environ["LINLI_KEEP_NOTICE"], "wb") as out:
            out.write(content)
    return PdfReader(io.BytesIO(content))


def assert_one_a4_page(reader: PdfReader) -> None:
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == A4_POINTS


@pytest.fixture
def furnished(personas):
    """阳光小区 with a chain, three slots and the community's groups with a duty phone."""
    compound = personas.tree.p1
    responsibility_chain_save(compound=compound, actor=None, **CHAIN)
    for starts, ends, name in ((8, 17, "甲干部"), (17, 20, "乙干部"), (20, 8, "丙志愿者")):
        cover_slot_add(
            compound=compound,
            actor=None,
            name=name,
            phone="13900000009",
            starts=datetime.time(starts),
            ends=datetime.time(ends),
        )
    working_groups_seed_defaults(community=personas.tree.c1)
    WorkingGroup.objects.filter(community=personas.tree.c1, kind="leading").update(duty_phone="0551-88886666")
    return compound


def test_notice_is_one_a4_page_with_the_compound_and_the_chain(personas, client_for, furnished):
    reader = read_pdf(client_for(personas.grid_worker).get(notice_url(furnished)))

    assert_one_a4_page(reader)
    text = reader.pages[0].extract_text()
    assert "疫情防控包保责任公示" in text
    assert "阳光小区" in text
    assert "张责任" in text and "13900000003" in text
    assert "王街道" in text and "李社区" in text
    assert "丙志愿者" in text and "20:00 - 08:00" in text
    assert "0551-88886666" in text
    assert "阳光物业" in text


def test_notice_without_a_chain_still_prints(personas, client_for):
    reader = read_pdf(client_for(personas.community_worker).get(notice_url(personas.tree.p2)))

    assert_one_a4_page(reader)
    text = reader.pages[0].extract_text()
    assert "和谐家园" in text
    assert "暂未安排" in text
    assert "幸福社区" in text  # no property company, no former manager: the community leads


def test_a_long_slot_list_is_shrunk_onto_one_page(personas, client_for, furnished):
    for hour in range(24):
        cover_slot_add(
            compound=furnished,
            actor=None,
            name=f"志愿者{hour}",
            phone="13900000009",
            starts=datetime.time(hour),
            ends=datetime.time((hour + 1) % 24),
        )

    reader = read_pdf(client_for(personas.community_worker).get(notice_url(furnished)))

    assert_one_a4_page(reader)
    assert "志愿者23" in reader.pages[0].extract_text()


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("supplier", 403), ("resident", 403)])
def test_notice_refuses_accounts_outside_the_scope(personas, client_for, furnished, persona, status):
    response = client_for(getattr(personas, persona)).get(notice_url(furnished))

    assert response.status_code == status
    assert b"%PDF" not in response.content[:10]
