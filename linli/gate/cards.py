"""Printable pass cards and tickets (A2): eight cards per A4 sheet (2 × 4), cut along the dashed lines.

Each card carries the compound, the room, the designated members, the number a guard can type and the
signed QR, 44 mm square (a cheap phone camera reads it from 15–30 cm). Names are masked (张*明) the way
the checkpoint screen shows them: the guard compares the same text, and a lost card gives away less.
Drawn with reportlab in the CID font STSong-Light (see ``linli.organisation.notice``).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from linli.gate import passes
from linli.gate.models import HouseholdPass, OutingTicket
from linli.gate.services import mask_name
from linli.lib.qr import qr_png
from linli.lib.wording import listed
from linli.organisation.notice import FONT

COLUMNS, ROWS = 2, 4
PAGE_MARGIN = 8 * mm
QR_SIZE = 44 * mm
PADDING = 4 * mm
RED = colors.HexColor("#c8102e")
GREY = colors.HexColor("#555555")


@dataclass
class Card:
    title: str
    compound: str
    address: str
    number: str
    qr_text: str
    lines: list[str] = field(default_factory=list)
    footer: str = ""


def _fit(text: str, size: float, width: float, *, smallest: float = 6) -> float:
    """The largest font size up to ``size`` at which ``text`` fits in ``width``."""
    while size > smallest and stringWidth(text, FONT, size) > width:
        size -= 0.5
    return size


def _clip(text: str, size: float, width: float) -> str:
    if stringWidth(text, FONT, size) <= width:
        return text
    while text and stringWidth(text + "…", FONT, size) > width:
        text = text[:-1]
    return text + "…"


def _qr_image(text: str) -> ImageReader:
    return ImageReader(qr_png(text))


def _draw_card(pdf: canvas.Canvas, card: Card, x: float, y: float, width: float, height: float) -> None:
    """One card with its lower left corner at (x, y)."""
    pdf.saveState()
    pdf.setDash(3, 3)
    pdf.setStrokeColor(colors.HexColor("#999999"))
    pdf.setLineWidth(0.5)
    pdf.rect(x, y, width, height)
    pdf.restoreState()

    top = y + height - PADDING
    pdf.setFillColor(RED)
    pdf.rect(x + PADDING, top - 8 * mm, width - 2 * PADDING, 8 * mm, stroke=0, fill=1)
    pdf.setFillColor(colors.white)
    title_width = width - 2 * PADDING - 4 * mm
    pdf.setFont(FONT, _fit(card.title, 13, title_width))
    pdf.drawString(x + PADDING + 2 * mm, top - 5.6 * mm, card.title)

    qr_top = top - 10 * mm
    pdf.drawImage(_qr_image(card.qr_text), x + PADDING, qr_top - QR_SIZE, QR_SIZE, QR_SIZE)

    text_x = x + PADDING + QR_SIZE + 3 * mm
    text_width = x + width - PADDING - text_x
    pdf.setFillColor(colors.black)
    line_y = qr_top - 5 * mm
    size = _fit(card.compound, 10, text_width)
    pdf.setFont(FONT, size)
    pdf.drawString(text_x, line_y, card.compound)
    line_y -= 7.5 * mm
    size = _fit(card.address, 16, text_width)
    pdf.setFont(FONT, size)
    pdf.drawString(text_x, line_y, card.address)
    line_y -= 6 * mm
    pdf.setFont(FONT, 9)
    for line in card.lines:
        pdf.drawString(text_x, line_y, _clip(line, 9, text_width))
        line_y -= 4.6 * mm
    number = passes.format_number(card.number)
    pdf.setFont(FONT, 8)
    pdf.setFillColor(GREY)
    pdf.drawString(text_x, qr_top - QR_SIZE + 7 * mm, _("号码（扫码失败时输入）"))
    pdf.setFillColor(colors.black)
    pdf.setFont(FONT, _fit(number, 14, text_width))
    pdf.drawString(text_x, qr_top - QR_SIZE + 1.5 * mm, number)

    if card.footer:
        pdf.setFont(FONT, 7)
        pdf.setFillColor(GREY)
        pdf.drawString(x + PADDING, y + PADDING - 1 * mm, _clip(card.footer, 7, width - 2 * PADDING))
        pdf.setFillColor(colors.black)


def render_cards(cards: Sequence[Card], *, title: str, empty_text: str) -> bytes:
    """The cards as PDF bytes, eight to an A4 page; one page saying ``empty_text`` when there are none."""
    buffer = io.BytesIO()
    page_width, page_height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    if not cards:
        pdf.setFont(FONT, 16)
        pdf.drawCentredString(page_width / 2, page_height / 2, empty_text)
        pdf.showPage()
    width = (page_width - 2 * PAGE_MARGIN) / COLUMNS
    height = (page_height - 2 * PAGE_MARGIN) / ROWS
    per_page = COLUMNS * ROWS
    for start in range(0, len(cards), per_page):
        for index, card in enumerate(cards[start : start + per_page]):
            row, column = divmod(index, COLUMNS)
            x = PAGE_MARGIN + column * width
            y = page_height - PAGE_MARGIN - (row + 1) * height
            _draw_card(pdf, card, x, y, width, height)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def pass_card(household_pass: HouseholdPass, *, compound: str, address: str, members: Sequence[str]) -> Card:
    names = listed(mask_name(name) for name in members)
    return Card(
        title=_("出入通行证（一户一证）"),
        compound=compound,
        address=address,
        number=household_pass.number,
        qr_text=household_pass.token,
        lines=[
            _("指定外出：%(names)s") % {"names": names},
            _("有效期至 %(date)s") % {"date": household_pass.valid_until.isoformat()},
            _("第 %(n)s 次发证") % {"n": household_pass.issue_no},
        ],
        footer=_("出入请主动出示，配合测温；不得转借，遗失请告知社区补办"),
    )


def ticket_card(
    ticket: OutingTicket, *, compound: str, address: str, period_start: datetime.date, period_end: datetime.date
) -> Card:
    return Card(
        title=_("出入券（每期一张，出门时交卡口回收）"),
        compound=compound,
        address=address,
        number=ticket.number,
        qr_text=ticket.token,
        lines=[
            _("本期 %(start)s 至 %(end)s") % {"start": period_start.isoformat(), "end": period_end.isoformat()},
            _("仅限本期使用一次"),
        ],
        footer=_("凭券外出，返回时出示通行证；券号遗失不补"),
    )
