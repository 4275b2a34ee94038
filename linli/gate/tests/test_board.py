"""The daily public board (A9): people out and in per hour, visitors, parcels — counts only, and its A4 sheet."""

from __future__ import annotations

import datetime
import io
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from linli.gate import board, services
from linli.gate.models import Parcel, Visit, place_kwargs
from linli.gate.tests.conftest import Gate, at
from linli.lib.testing import make_id_number

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 20)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def offline(gate: Gate, token: str, direction: str, when: datetime.datetime, verdict: str = "allowed") -> None:
    services.sync_scans(
        gate.checkpoint,
        gate.personas.gate_guard,
        [
            services.ScanInput(
                uuid=uuid.uuid4(),
                credential=token,
                direction=direction,
                device_time=when,
                verdict=verdict,
                reason="ok" if verdict == "allowed" else "quota",
            )
        ],
    )


@pytest.fixture
def day(gate: Gate) -> Gate:
    """20 November: two households out in the 8 o'clock hour, one back at 9, one late at 23:30; a refusal."""
    tree = gate.personas.tree
    other = tree.households[f"{tree.b1.code}/1单元/102"]
    other_pass = services.pass_issue(
        household=other, members=list(other.members.all()[:1]), today=datetime.date(2026, 11, 1)
    )
    offline(gate, gate.household_pass.token, "out", at(20, 8, 5))
    offline(gate, other_pass.token, "out", at(20, 8, 50))
    offline(gate, gate.household_pass.token, "in", at(20, 9, 40))
    offline(gate, other_pass.token, "in", at(20, 23, 30))
    offline(gate, gate.household_pass.token, "out", at(20, 12, 0), verdict="refused")
    offline(gate, gate.household_pass.token, "out", at(21, 0, 10))  # the next day: not on this board
    place = place_kwargs(gate.checkpoint.compound)
    for name, left in (("来访甲", at(20, 11)), ("来访乙", None)):
        Visit.objects.create(
            checkpoint=gate.checkpoint,
            name=name,
            id_number=make_id_number(),
            temperature=Decimal("36.5"),
            health_code="green",
            coming_from="本市",
            purpose="探望",
            verdict="allowed",
            arrived_at=at(20, 10),
            left_at=left,
            **place,
        )
    parcel = Parcel.objects.create(checkpoint=gate.checkpoint, household=other, pickup_code="1234", **place)
    Parcel.objects.filter(pk=parcel.pk).update(logged_at=at(20, 14), picked_up_at=at(20, 18))
    return gate


def test_board_counts_allowed_people_by_local_hour(day: Gate) -> None:
    result = board.board_day(day.checkpoint.compound, DAY, now=at(22, 12))

    assert result.out_by_hour[8] == 2
    assert result.in_by_hour[9] == 1
    assert result.in_by_hour[23] == 1
    assert (result.total_out, result.total_in, result.refused) == (2, 2, 1)
    assert (result.visitors, result.visitors_left) == (2, 1)
    assert (result.parcels, result.parcels_picked_up) == (1, 1)
    assert result.hours[8]["out_pct"] == 100 and result.hours[9]["in_pct"] == 50


def test_board_page_shows_counts_and_no_names_or_rooms(day: Gate) -> None:
    url = reverse("gate:board", kwargs={"pk": day.checkpoint.compound_id})

    response = logged_in(day.personas.community_worker).get(url, {"date": DAY.isoformat()})

    text = response.content.decode()
    assert response.status_code == 200
    assert 'id="total-out">2<' in text and 'id="total-in">2<' in text
    assert day.household.address not in text
    for member in day.household.members.all():
        assert member.name not in text
    assert "来访甲" not in text


def test_board_pdf_is_one_a4_page(day: Gate) -> None:
    url = reverse("gate:board_pdf", kwargs={"pk": day.checkpoint.compound_id})

    response = logged_in(day.personas.community_worker).get(url, {"date": DAY.isoformat()})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf
    assert b"STSong-Light" in pdf


def test_api_board_data(day: Gate) -> None:
    response = logged_in(day.personas.community_worker).get(
        f"/api/v1/gate/compounds/{day.checkpoint.compound_id}/board", {"date": DAY.isoformat()}
    )

    data = response.json()
    assert response.status_code == 200
    assert data["out_by_hour"][8] == 2 and data["in_by_hour"][23] == 1
    assert (data["total_out"], data["total_in"], data["visitors"], data["parcels"]) == (2, 2, 2, 1)


def test_board_of_another_community_is_not_found(day: Gate) -> None:
    outsider = logged_in(day.personas.outsider)
    compound = day.checkpoint.compound_id

    assert outsider.get(reverse("gate:board", kwargs={"pk": compound})).status_code == 404
    assert outsider.get(reverse("gate:board_pdf", kwargs={"pk": compound})).status_code == 404
    assert outsider.get(f"/api/v1/gate/compounds/{compound}/board").status_code == 404
    assert logged_in(day.personas.supplier).get(reverse("gate:board", kwargs={"pk": compound})).status_code == 403


def test_a_bad_date_shows_today(day: Gate) -> None:
    url = reverse("gate:board", kwargs={"pk": day.checkpoint.compound_id})

    response = logged_in(day.personas.community_worker).get(url, {"date": "2026-13-45"})

    assert response.status_code == 200


def test_board_in_english_has_an_english_date_and_hour_column(day: Gate) -> None:
    # given: a community worker reading the site in English
    client = logged_in(day.personas.community_worker)
    client.cookies["django_language"] = "en"
    url = reverse("gate:board", kwargs={"pk": day.checkpoint.compound_id})

    # then: the page's hour column is headed by the hour, not by a duty shift
    page = client.get(url, {"date": DAY.isoformat()}).content.decode()
    assert "<th>Hour</th>" in page and "<th>Shift</th>" not in page

    # and the printable sheet names the day in English
    pdf = client.get(reverse("gate:board_pdf", kwargs={"pk": day.checkpoint.compound_id}), {"date": DAY.isoformat()})
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "November 20, 2026" in text and "年" not in text
    assert "Hour" in text and "Shift" not in text


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
def test_a_date_at_the_end_of_the_calendar_is_not_a_server_error(gate: Gate, date: str) -> None:
    # given: a community worker who edits the board's address by hand
    client = logged_in(gate.personas.community_worker)
    compound = gate.checkpoint.compound_id

    # when: the page, the sheet and the API are asked for a day the calendar barely holds
    page = client.get(reverse("gate:board", kwargs={"pk": compound}), {"date": date})
    sheet = client.get(reverse("gate:board_pdf", kwargs={"pk": compound}), {"date": date})
    answer = client.get(f"/api/v1/gate/compounds/{compound}/board", {"date": date})

    # then: the pages show today's board (as for a date that does not parse) and the API says why in Chinese
    assert page.status_code == 200 and page.context["day"].date == timezone.localdate()
    assert sheet.status_code == 200 and sheet["Content-Type"] == "application/pdf"
    assert answer.status_code == 400 and answer.json()["detail"] == "日期应在 2000-01-01 到 2099-12-31 之间"
