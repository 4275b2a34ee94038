"""Printed pass cards and tickets (A2): eight to an A4 sheet, and every QR on the sheet scans back to
the signed pass it was printed from (decoded with zxing-cpp from the images embedded in the PDF)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import zxingcpp
from django.test import Client
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream

from linli.gate import keys, pass_admin, passes, services
from linli.gate.choices import HoldReason, QuotaMode
from linli.gate.models import HouseholdPass, OutingTicket
from linli.gate.tests.conftest import Gate
from linli.lib.testing import qr_texts
from linli.registry.models import Household

pytestmark = pytest.mark.django_db
ClientFor = Callable[[Any], Client]
MM = 72 / 25.4  # PDF points per millimetre


def pdf_of(client: Client, url: str, query: dict[str, Any] | None = None) -> PdfReader:
    response = client.get(url, query or {})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content))


def decoded_qrs(reader: PdfReader) -> list[str]:
    """The text of every QR code drawn on every page, in drawing order."""
    found = []
    for page in reader.pages:
        for image in page.images:
            picture = image.image
            assert picture is not None
            texts = qr_texts(picture.convert("L"))
            assert len(texts) == 1, f"one QR per image, got {len(texts)}"
            found.append(texts[0])
    return found


def drawn_image_sizes(reader: PdfReader) -> list[tuple[float, float]]:
    """The size on paper (points) of every image drawn: the ``cm`` matrix in force at each ``Do``."""
    sizes = []
    for page in reader.pages:
        matrix: list[float] = []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"cm":
                matrix = [float(value) for value in operands]
            elif operator == b"Do" and matrix:
                sizes.append((matrix[0], matrix[3]))
    return sizes


def issue_all(gate: Gate) -> dict[int, HouseholdPass]:
    pass_admin.passes_issue_missing(gate.personas.tree.p1, gate.personas.community_worker)
    return {
        p.household_id: p for p in HouseholdPass.objects.filter(compound_id=gate.personas.tree.p1.pk, is_active=True)
    }


def test_every_qr_on_the_cards_scans_to_the_signed_pass(gate: Gate, client_for: ClientFor) -> None:
    # given: the 9 households of 阳光小区 hold valid passes
    issued = issue_all(gate)
    assert len(issued) == 9
    url = reverse("gate:cards_pdf", kwargs={"pk": gate.personas.tree.p1.pk})

    # when
    reader = pdf_of(client_for(gate.personas.community_worker), url)

    # then: 8 cards on the first A4 sheet, 1 on the second
    assert len(reader.pages) == 2
    assert [len(page.images) for page in reader.pages] == [8, 1]
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width) / MM), round(float(height) / MM)) == (210, 297)
    texts = decoded_qrs(reader)
    assert sorted(texts) == sorted(p.token for p in issued.values())
    public = keys.public_keys()
    for text in texts:
        payload = passes.verify(text, public)
        assert payload.kind == passes.Kind.HOUSEHOLD
        assert issued[payload.subject].token == text
    # big enough for a cheap phone: at least 3 cm on paper
    assert all(w >= 30 * MM and h >= 30 * MM for w, h in drawn_image_sizes(reader))


def test_card_carries_room_number_and_masked_member_names(gate: Gate, client_for: ClientFor) -> None:
    url = reverse("gate:cards_pdf", kwargs={"pk": gate.personas.tree.p1.pk})
    reader = pdf_of(client_for(gate.personas.community_worker), url, {"household": gate.household.pk})

    assert len(reader.pages) == 1 and len(reader.pages[0].images) == 1
    text = reader.pages[0].extract_text()
    assert "1号楼1单元101" in text
    assert passes.format_number(gate.household_pass.number) in text
    assert services.mask_name(gate.members[0].name) in text  # 户*1: the name as the gate screen shows it
    assert gate.members[0].name not in text
    assert decoded_qrs(reader) == [gate.household_pass.token]


def test_cards_leave_out_households_on_hold_and_filter_by_building(gate: Gate, client_for: ClientFor) -> None:
    tree = gate.personas.tree
    issued = issue_all(gate)
    services.hold_set(household=gate.household, reason=HoldReason.SEALED)
    client = client_for(gate.personas.grid_worker)
    url = reverse("gate:cards_pdf", kwargs={"pk": tree.p1.pk})

    everyone = decoded_qrs(pdf_of(client, url))
    building = decoded_qrs(pdf_of(client, url, {"building": tree.b2.pk}))

    assert issued[gate.household.pk].token not in everyone and len(everyone) == 8
    b2 = set(Household.objects.filter(building=tree.b2).values_list("pk", flat=True))
    assert sorted(building) == sorted(p.token for pk, p in issued.items() if pk in b2)


def test_no_cards_to_print_gives_one_page_saying_so(gate: Gate, client_for: ClientFor) -> None:
    url = reverse("gate:cards_pdf", kwargs={"pk": gate.personas.tree.p2.pk})  # 和谐家园: no passes yet
    reader = pdf_of(client_for(gate.personas.community_worker), url)
    assert len(reader.pages) == 1 and not reader.pages[0].images
    assert "没有可打印的有效通行证" in reader.pages[0].extract_text()


def test_cards_are_for_registry_editors_in_scope(gate: Gate, client_for: ClientFor) -> None:
    url = reverse("gate:cards_pdf", kwargs={"pk": gate.personas.tree.p1.pk})
    assert client_for(gate.personas.outsider).get(url).status_code == 404
    assert client_for(gate.personas.gate_guard).get(url).status_code == 403
    assert client_for(gate.personas.resident).get(url).status_code == 403


def test_ticket_sheet_qrs_scan_to_this_periods_tickets(gate: Gate, client_for: ClientFor) -> None:
    # given: 阳光小区 in ticket mode, tickets issued for the period
    tree = gate.personas.tree
    gate.rules.mode = QuotaMode.TICKET
    gate.rules.save()
    start = pass_admin.period_of(gate.rules)
    pass_admin.tickets_issue_period(tree.p1, gate.personas.community_worker, period_start=start)
    collected = OutingTicket.objects.filter(household=gate.household).get()
    collected.collected_at = collected.issued_at
    collected.save()

    # when
    reader = pdf_of(client_for(gate.personas.community_worker), reverse("gate:tickets_pdf", kwargs={"pk": tree.p1.pk}))

    # then: the 8 tickets not yet collected, each a genuine ticket of this period
    texts = decoded_qrs(reader)
    expected = OutingTicket.objects.filter(compound_id=tree.p1.pk, collected_at__isnull=True)
    assert sorted(texts) == sorted(t.token for t in expected) and len(texts) == 8
    for text in texts:
        payload = passes.verify(text, keys.public_keys())
        assert payload.kind == passes.Kind.TICKET and payload.valid_from == start
    assert "出入券" in reader.pages[0].extract_text()


def test_the_decoder_finds_no_qr_in_a_blank_image() -> None:
    """The decoder is not fooled by a blank image: a white square has no QR in it."""
    assert zxingcpp.read_barcodes(Image.new("L", (200, 200), 255)) == []


def test_a_mistyped_card_link_prints_nothing_and_says_so(gate: Gate, client_for: ClientFor) -> None:
    url = reverse("gate:cards_pdf", kwargs={"pk": gate.personas.tree.p1.pk})
    client = client_for(gate.personas.grid_worker)
    for bad in ({"household": "abc"}, {"building": "1号楼"}, {"household": "-3"}):
        response = client.get(url, bad)
        # not the whole compound's cards in place of the one asked for
        assert response.status_code == 400, bad
        assert response["Content-Type"].startswith("text/html")
        assert "地址里的参数不正确" in response.content.decode()


def test_a_building_or_household_that_cannot_be_an_id_is_a_bad_request(gate: Gate, client_for: ClientFor) -> None:
    # given a grid worker printing cards, and a mistyped link: a superscript digit ("²".isdigit() is
    # true, int() refuses it) or a number past a 64-bit id
    client = client_for(gate.personas.grid_worker)
    url = reverse("gate:cards_pdf", kwargs={"pk": gate.personas.tree.p1.pk})
    for query in ({"building": "²"}, {"household": str(2**63)}):
        # when it is asked for, then the answer is 400, not a 500 nor the whole compound's cards
        assert client.get(url, query).status_code == 400, query
