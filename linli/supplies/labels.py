"""Package labels (SPEC S5): one label per household bag, on printable PDF sheets of common sizes.

A label shows where the bag goes (compound, building-unit-room, the drop-off point, or 无接触 放门口
for a sealed household), the householder's name masked, the items with quantities (what will be
delivered, after any shortfall), the amount due, a payment QR and the hand-over QR with its code in
text. The payment QR carries the supplier's ``payment_code`` (the text its payment-code image encodes,
or a payment link); a supplier without one, or a bag paid in advance or on community credit, gets a
sentence in its place. The hand-over QR carries ``LLP:<handover code>``, which the volunteer's scanner
resolves to the package (``linli.supplies.services.aggregation.parse_handover_reference``).

Drawn straight on a reportlab canvas in the CJK CID font STSong-Light (as the health notices), the QR
codes as vector squares (``segno``'s matrix), so a sheet stays small and prints crisp at any size.
STSong-Light lacks a few punctuation marks (the middle dot): the text uses spaces instead.
"""

from __future__ import annotations

import functools
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from linli.lib.qr import make_qr
from linli.lib.wording import listed
from linli.organisation.notice import FONT
from linli.registry.choices import Relation
from linli.registry.models import Person
from linli.supplies.choices import PaymentMode
from linli.supplies.models import OrderLine, Package, Payment, Supplier
from linli.supplies.services.aggregation import handover_reference

CHUNK = 2000
CODE_FONT = "Helvetica-Bold"


@dataclass(frozen=True)
class LabelSize:
    """A sheet: page size, labels across and down, label size, the first label's corner and the pitch."""

    key: str
    title: Any
    page: tuple[float, float]
    cols: int
    rows: int
    width: float
    height: float
    left: float = 0.0
    top: float = 0.0
    pitch_x: float = 0.0
    pitch_y: float = 0.0

    @property
    def per_page(self) -> int:
        return self.cols * self.rows


# A4 sheets as the common 8-up (99.1 × 67.7 mm) and 21-up (63.5 × 38.1 mm) label stock; thermal rolls.
SIZES: dict[str, LabelSize] = {
    size.key: size
    for size in (
        LabelSize(
            "a4-2x4",
            gettext_lazy("A4 每页 8 张（2×4）"),
            A4,
            2,
            4,
            99.1 * mm,
            67.7 * mm,
            4.65 * mm,
            13.1 * mm,
            101.6 * mm,
            67.7 * mm,
        ),
        LabelSize(
            "a4-3x7",
            gettext_lazy("A4 每页 21 张（3×7）"),
            A4,
            3,
            7,
            63.5 * mm,
            38.1 * mm,
            7.2 * mm,
            15.15 * mm,
            66.0 * mm,
            38.1 * mm,
        ),
        LabelSize("100x100", gettext_lazy("热敏 100×100 毫米"), (100 * mm, 100 * mm), 1, 1, 100 * mm, 100 * mm),
        LabelSize("100x150", gettext_lazy("热敏 100×150 毫米"), (100 * mm, 150 * mm), 1, 1, 100 * mm, 150 * mm),
    )
}
DEFAULT_SIZE = "a4-2x4"


def mask_name(name: str) -> str:
    """张* — the surname only: a bag sits at a drop-off point where anyone can read its label."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


@dataclass
class LabelData:
    """Everything one label shows."""

    handover_code: str
    compound: str
    address: str  # building-unit-room
    recipient: str  # masked
    drop_off: str  # the point's name; blank for a bag delivered to the door
    contactless: bool
    amount: Decimal
    payment_mode: str
    payment_code: str  # the supplier's; blank when it has none
    items: list[tuple[str, int, str]] = field(default_factory=list)  # (name, quantity, unit)
    delivery_on: Any = None
    paid: Decimal = Decimal("0")  # what the household has paid for the order so far (net of refunds)

    @property
    def payment_qr(self) -> str:
        """The payment QR's text, or blank when the label says how to pay instead."""
        return self.payment_code if self.payment_mode == PaymentMode.ON_DELIVERY else ""

    @property
    def payment_note(self) -> str:
        if self.payment_mode == PaymentMode.PREPAID:
            # Only once the grid worker has collected it: a label that says so otherwise is never paid.
            return _("已由网格员代收") if self.paid >= self.amount else _("请向网格员付款")
        if self.payment_mode == PaymentMode.CREDIT:
            return _("社区记账 无需付款")
        return "" if self.payment_code else _("请向网格员付款")


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def label_data(packages: QuerySet[Package] | Iterable[Package]) -> list[LabelData]:
    """Read what the labels of ``packages`` show (a few queries per 2,000 bags), in packing order:
    drop-off point, compound, building, unit, room."""
    ids = (
        [p.pk for p in packages] if not isinstance(packages, QuerySet) else list(packages.values_list("pk", flat=True))
    )
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend(
            Package.objects.filter(pk__in=chunk).values(
                "pk",
                "order_id",
                "household_id",
                "supplier_id",
                "handover_code",
                "contactless",
                "amount",
                "order__payment_mode",
                "household__room",
                "building__name",
                "building__number",
                "unit__name",
                "unit__number",
                "compound__name",
                "drop_off__name",
                "window__delivery_on",
            )
        )
    rows.sort(
        key=lambda r: (
            r["drop_off__name"] or "",
            r["compound__name"],
            r["building__number"],
            r["building__name"],
            r["unit__number"],
            r["unit__name"],
            r["household__room"],
        )
    )
    items: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    names: dict[int, str] = {}
    order_ids = [r["order_id"] for r in rows]
    household_ids = sorted({r["household_id"] for r in rows})
    for chunk in _chunks(order_ids):
        for order_id, name, unit, quantity, short in (
            OrderLine.objects.filter(order_id__in=chunk)
            .order_by("order_id", "offer__category", "offer__name")
            .values_list("order_id", "offer__name", "offer__unit", "quantity", "short")
        ):
            if quantity > short:
                items[order_id].append((name, quantity - short, unit))
    for chunk in _chunks(household_ids):
        for household_id, name, relation in (
            Person.objects.filter(household_id__in=chunk).order_by("pk").values_list("household_id", "name", "relation")
        ):
            if relation == Relation.HOUSEHOLDER or household_id not in names:
                names[household_id] = mask_name(name)
    prepaid = [r["order_id"] for r in rows if r["order__payment_mode"] == PaymentMode.PREPAID]
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for chunk in _chunks(prepaid):
        for order_id, amount in Payment.objects.filter(order_id__in=chunk).values_list("order_id", "amount"):
            paid[order_id] += amount
    codes = dict(Supplier.objects.filter(pk__in={r["supplier_id"] for r in rows}).values_list("pk", "payment_code"))
    return [
        LabelData(
            handover_code=r["handover_code"],
            compound=r["compound__name"],
            address=f"{r['building__name']}{r['unit__name']}{r['household__room']}",
            recipient=names.get(r["household_id"], ""),
            drop_off=r["drop_off__name"] or "",
            contactless=r["contactless"],
            amount=r["amount"],
            payment_mode=r["order__payment_mode"],
            payment_code=(codes.get(r["supplier_id"]) or "").strip(),
            items=items[r["order_id"]],
            delivery_on=r["window__delivery_on"],
            paid=paid.get(r["order_id"], Decimal("0")),
        )
        for r in rows
    ]


# ----------------------------------------------------------------------------------------------
# Drawing


@functools.lru_cache(maxsize=64)
def _qr_runs(text: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """The QR of ``text`` as (modules per side, dark runs as (row, first column, length)); kept for
    the texts drawn again and again — a supplier's payment code is on every label it pays on."""
    matrix = make_qr(text).matrix
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return len(matrix), tuple(runs)


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code as vector squares, ``size`` wide with its quiet zone, lower-left corner at (x, y)."""
    border = 2
    side, runs = _qr_runs(text)
    module = size / (side + 2 * border)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for r, start, length in runs:
        path.rect(x + (start + border) * module, y + size - (r + border + 1) * module, length * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (character by character: Chinese has no spaces)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if stringWidth(current + char, font, size) > width and current:
            lines.append(current)
            current = char.lstrip()
        else:
            current += char
    if current:
        lines.append(current)
    return lines


def _fit(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def draw_label(canvas: Canvas, data: LabelData, x: float, y: float, width: float, height: float) -> None:
    """One label in the box whose lower-left corner is (x, y)."""
    pad = min(3 * mm, height * 0.05)
    caption = max(5.0, min(7.5, height / mm * 0.18))  # pt: under the QR codes
    qr = min((height - 2 * pad - 2 * caption * 1.3) / 2, width * 0.3, 32 * mm)
    text_w = width - 2 * pad - qr - 2 * mm
    base = max(6.0, min(11.0, height / mm * 0.16))  # body font size, pt
    big = base * 1.35
    canvas.saveState()
    canvas.setLineWidth(0.4)
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.rect(x, y, width, height, stroke=1, fill=0)

    # The QR column on the right: hand-over on top (with the code in text), payment below.
    qx = x + width - pad - qr
    top_qr_y = y + height - pad - qr
    draw_qr(canvas, handover_reference(data.handover_code), qx, top_qr_y, qr)
    code_size = min(caption, caption * (qr + pad) / stringWidth(data.handover_code, CODE_FONT, caption))
    canvas.setFont(CODE_FONT, code_size)
    canvas.drawCentredString(qx + qr / 2, top_qr_y - caption * 1.05, data.handover_code)
    pay_y = y + pad + caption * 1.3
    if data.payment_qr:
        draw_qr(canvas, data.payment_qr, qx, pay_y, qr)
        canvas.setFont(FONT, caption)
        canvas.drawCentredString(qx + qr / 2, pay_y - caption * 1.1, _("扫码付款"))
    else:
        canvas.setFont(FONT, caption * 1.15)
        for n, line in enumerate(_wrap(data.payment_note, FONT, caption * 1.15, qr)[:4]):
            canvas.drawCentredString(qx + qr / 2, pay_y + qr / 2 - n * caption * 1.4, line)

    # The text column on the left, top down.
    tx = x + pad
    cursor = y + height - pad - big
    canvas.setFont(FONT, big)
    for line in _wrap(data.address, FONT, big, text_w)[:2]:
        canvas.drawString(tx, cursor, line)
        cursor -= big * 1.2
    canvas.setFont(FONT, base)
    canvas.drawString(tx, cursor, _fit(data.compound, FONT, base, text_w))
    cursor -= base * 1.35
    if data.contactless:
        badge = _("无接触 放门口")
        badge_w = stringWidth(badge, FONT, base) + 2 * mm
        canvas.setFillColorRGB(0, 0, 0)
        canvas.rect(tx, cursor - base * 0.3, badge_w, base * 1.3, stroke=0, fill=1)
        canvas.setFillColorRGB(1, 1, 1)
        canvas.drawString(tx + 1 * mm, cursor, badge)
        canvas.setFillColorRGB(0, 0, 0)
        cursor -= base * 1.5
    recipient = _("收件人：%(name)s") % {"name": data.recipient or "-"}
    where = data.drop_off and _("投放点：%(name)s") % {"name": data.drop_off}
    canvas.drawString(tx, cursor, _fit(f"{recipient}  {where}" if where else recipient, FONT, base, text_w))
    cursor -= base * 1.35

    amount_line = _("应付：%(amount)s元") % {"amount": _money(data.amount)}
    bottom = y + pad + big * 0.2
    small = base * 0.92
    item_text = listed(f"{name}×{quantity}{unit}" for name, quantity, unit in data.items) or _("（无可配送商品）")
    lines = _wrap(item_text, FONT, small, text_w)
    room = max(1, int((cursor - bottom - big * 1.3) // (small * 1.25)) + 1)
    if len(lines) > room:
        more = _fit(_("……共%(n)d种商品") % {"n": len(data.items)}, FONT, small, text_w)
        lines = [*lines[: room - 1], more]
    canvas.setFont(FONT, small)
    for line in lines:
        canvas.drawString(tx, cursor, line)
        cursor -= small * 1.25
    canvas.setFont(FONT, big)
    canvas.drawString(tx, bottom, _fit(amount_line, FONT, big, text_w))
    canvas.restoreState()


def render_labels(labels: Sequence[LabelData], *, size: str = DEFAULT_SIZE) -> bytes:
    """The labels on sheets of ``size`` (a key of ``SIZES``) as PDF bytes; an empty list is one blank page."""
    sheet = SIZES.get(size)
    if sheet is None:
        raise ValueError(f"unknown label size {size!r}")
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=sheet.page, pageCompression=1)
    canvas.setTitle(_("配送标签"))
    page_h = sheet.page[1]
    for index, data in enumerate(labels):
        slot = index % sheet.per_page
        if slot == 0 and index:
            canvas.showPage()
        col, row = slot % sheet.cols, slot // sheet.cols
        x = sheet.left + col * (sheet.pitch_x or sheet.width)
        y = page_h - sheet.top - (row + 1) * (sheet.pitch_y or sheet.height)
        draw_label(canvas, data, x, y, sheet.width, sheet.height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def labels_pdf(packages: QuerySet[Package] | Iterable[Package], *, size: str = DEFAULT_SIZE) -> bytes:
    """The labels of ``packages`` as a printable PDF on sheets of ``size`` (``SIZES``)."""
    if size not in SIZES:
        raise ValueError(f"unknown label size {size!r}")
    return render_labels(label_data(packages), size=size)
