"""The entrance notice 疫情防控包保责任公示 (SPEC R5): one printable A4 page per compound.

Drawn with reportlab in the standard CJK CID font STSong-Light, which every PDF viewer with CJK support
renders without the font being embedded, so the file stays small and needs no font on the server.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from typing import Any

from django.utils import dateformat
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from linli.lib.qr import qr_png
from linli.lib.wording import labelled

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

RED = colors.HexColor("#c8102e")
# STSong-Light has no glyph for some common punctuation (the middle dot, the en dash): the text on
# the notice uses full-width spaces and ASCII hyphens instead.
MARGIN = 15 * mm


@dataclass
class NoticeData:
    """Everything the notice shows, gathered by the view from scoped reads."""

    compound_name: str
    address: str
    community_name: str
    street_name: str
    chain: list[tuple[str, str, str]]  # (role, name, phone)
    lead_label: str
    lead_name: str
    slots: list[tuple[str, str, str, str]]  # (time span, name, kind, phone)
    duty_phones: list[tuple[str, str]]  # (group name, phone)
    date: datetime.date


def _style(size: float, *, leading: float | None = None, **kwargs: Any) -> ParagraphStyle:
    return ParagraphStyle(
        f"s{size}", fontName=FONT, fontSize=size, leading=leading or size * 1.35, wordWrap="CJK", **kwargs
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _qr(data: str, size: float) -> Image:
    return Image(qr_png(data, border=2), width=size, height=size)


def render_notice_pdf(data: NoticeData) -> bytes:
    """The notice as PDF bytes: always exactly one A4 page (long slot lists are shrunk to fit)."""
    title = _style(34, alignment=TA_CENTER, textColor=RED, spaceAfter=4 * mm)
    heading = _style(26, alignment=TA_CENTER, spaceAfter=1 * mm)
    subtle = _style(13, alignment=TA_CENTER, textColor=colors.HexColor("#444444"))
    section = _style(18, textColor=RED, spaceBefore=5 * mm, spaceAfter=2 * mm)
    cell_big = _style(19)
    cell = _style(14)
    body = _style(15)

    story: list[Flowable] = [
        Paragraph(_esc(_("疫情防控包保责任公示")), title),
        Paragraph(_esc(data.compound_name), heading),
    ]
    if data.address:
        story.append(Paragraph(_esc(data.address), subtle))
    story.append(Paragraph(_esc(f"{data.street_name}　{data.community_name}"), subtle))

    story.append(Paragraph(_esc(_("包保责任体系")), section))
    chain_rows = [
        [
            Paragraph(_esc(role), cell_big),
            Paragraph(_esc(name or "—"), cell_big),
            Paragraph(_esc(phone or "—"), cell_big),
        ]
        for role, name, phone in data.chain
    ]
    chain_table = Table(chain_rows, colWidths=[62 * mm, 50 * mm, 68 * mm])
    chain_table.setStyle(_grid_style())
    story.append(chain_table)
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(_esc(labelled(data.lead_label, data.lead_name)), body))

    story.append(Paragraph(_esc(_("包保值守时段")), section))
    if data.slots:
        header = [Paragraph(_esc(text), cell) for text in (_("时段"), _("姓名"), _("身份"), _("电话"))]
        slot_rows = [[Paragraph(_esc(value), cell) for value in slot] for slot in data.slots]
        slot_table = Table([header, *slot_rows], colWidths=[45 * mm, 45 * mm, 30 * mm, 60 * mm], repeatRows=1)
        style = _grid_style()
        style.add("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2"))
        slot_table.setStyle(style)
        story.append(slot_table)
    else:
        story.append(Paragraph(_esc(_("暂未安排")), body))

    story.append(Paragraph(_esc(_("社区24小时值班电话")), section))
    phones = [Paragraph(_esc(labelled(name, phone)), _style(18)) for name, phone in data.duty_phones] or [
        Paragraph(_esc(_("暂未登记，请联系社区")), body)
    ]
    if data.duty_phones:
        qr_size = 34 * mm
        qr_cell = [
            _qr(f"tel:{data.duty_phones[0][1]}", qr_size),
            Paragraph(_esc(_("扫码拨打值班电话")), _style(10, alignment=TA_CENTER)),
        ]
        phone_table = Table([[phones, qr_cell]], colWidths=[180 * mm - qr_size - 6 * mm, qr_size + 6 * mm])
        phone_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        story.append(phone_table)
    else:
        story.extend(phones)

    story.append(Spacer(1, 6 * mm))
    story.append(
        Paragraph(
            _esc(_("如有发热、咳嗽等症状，或14天内有外出行程，请立即联系社区。")), _style(14, alignment=TA_CENTER)
        )
    )
    story.append(
        Paragraph(
            _esc(f"{data.community_name}  {dateformat.format(data.date, _('Y年n月j日'))}"),
            _style(14, alignment=2, spaceBefore=4 * mm),  # right-aligned signature line
        )
    )

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_("疫情防控包保责任公示") + f" {data.compound_name}",
        author=data.community_name,
    )
    # The page frame pads 6 pt on each side; 2 pt more of slack so that rounding never spills a second page.
    doc.build([KeepInFrame(doc.width - 14, doc.height - 14, story, mode="shrink")])
    return buffer.getvalue()


def _grid_style() -> TableStyle:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.8, colors.HexColor("#555555")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]
    )
