"""The printable sign of a drop-off point 物资投放点 (SPEC S6): one A4 page, readable from a distance.

Drawn like the other notices (``linli.organisation.notice``): reportlab in the CJK CID font STSong-Light.
The big name of the point, its compound and location, the buildings it serves, and a QR code carrying
``LLD:<point id>`` (``drop_off_reference``): a volunteer's scanner resolves it to the point, whatever
host the platform is served from.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus.flowables import Flowable

from linli.lib.wording import listed
from linli.organisation.notice import MARGIN, RED, _esc, _qr, _style
from linli.registry.models import Compound
from linli.supplies.models import DropOffPoint

DROP_OFF_PREFIX = "LLD:"
QR_SIZE = 70 * mm


def drop_off_reference(point_id: int) -> str:
    return f"{DROP_OFF_PREFIX}{point_id}"


def parse_drop_off_reference(text: str) -> int | None:
    text = (text or "").strip().upper()
    if not text.startswith(DROP_OFF_PREFIX):
        return None
    number = text[len(DROP_OFF_PREFIX) :]
    return int(number) if number.isascii() and number.isdigit() and int(number) > 0 else None


def served_text(point: DropOffPoint) -> str:
    names = [b.name for b in point.buildings.order_by("name")]
    return listed(names) if names else _("本小区其他楼栋")


def sign_pdf(point: DropOffPoint) -> bytes:
    """The sign as PDF bytes: exactly one A4 page."""
    compound = Compound.objects.get(pk=point.compound_id)
    name = point.name
    size = 72 if len(name) <= 6 else 54 if len(name) <= 9 else 40
    story: list[Flowable] = [
        Paragraph(_esc(_("物资投放点")), _style(40, alignment=TA_CENTER, textColor=RED, spaceAfter=10 * mm)),
        Paragraph(_esc(name), _style(size, leading=size * 1.2, alignment=TA_CENTER, spaceAfter=8 * mm)),
        Paragraph(_esc(compound.name), _style(30, alignment=TA_CENTER, spaceAfter=4 * mm)),
    ]
    if point.location:
        story.append(
            Paragraph(
                _esc(_("位置：%(location)s") % {"location": point.location}),
                _style(20, alignment=TA_CENTER, spaceAfter=3 * mm),
            )
        )
    story.append(
        Paragraph(
            _esc(_("服务楼栋：%(buildings)s") % {"buildings": served_text(point)}),
            _style(22, alignment=TA_CENTER, spaceAfter=8 * mm),
        )
    )
    qr = _qr(drop_off_reference(point.pk), QR_SIZE)
    qr.hAlign = "CENTER"
    story += [
        qr,
        Spacer(1, 4 * mm),
        Paragraph(
            _esc(_("志愿者扫码查看本投放点的配送任务")),
            _style(14, alignment=TA_CENTER, textColor=colors.HexColor("#444444"), spaceAfter=6 * mm),
        ),
        Paragraph(
            _esc(_("物资由志愿者送到楼下或门口，请勿聚集自取；封控户包裹无接触放门口。")),
            _style(16, alignment=TA_CENTER),
        ),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{compound.name} {name}",
    )
    doc.build(story)
    return buffer.getvalue()
