"""Pick lists (SPEC S4, S5): what the supplier picks for each drop-off point of a purchase order.

One section per drop-off point (the items with what was ordered, what is short and what to pack),
and one for the bags delivered to the door — sealed households, and households whose compound has
no drop-off point — which lists every household with its items, as a sealed zone needs (S4). The
.xlsx has a summary sheet and one sheet per section (written in openpyxl's write-only mode); the PDF
(reportlab, STSong-Light, as the health notices) one page run per section. ``households=True`` adds
the per-household rows to every section (the door's are always there).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus.flowables import Flowable

from linli.organisation.notice import MARGIN, _esc, _grid_style, _style
from linli.supplies.models import DropOffPoint, OrderLine, OrderWindow, Package, PurchaseLine, PurchaseOrder

CHUNK = 2000


@dataclass
class PickLine:
    name: str
    unit: str
    price: Decimal
    quantity: int
    short: int
    amount: Decimal  # of what is packed

    @property
    def packed(self) -> int:
        return self.quantity - self.short


@dataclass
class HouseholdRow:
    handover_code: str
    compound: str
    address: str
    items: str
    amount: Decimal
    contactless: bool


@dataclass
class PickSection:
    drop_off_id: int | None  # None: delivered to the door
    title: str
    location: str
    packages: int
    lines: list[PickLine] = field(default_factory=list)
    households: list[HouseholdRow] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass
class PickList:
    reference: str
    supplier: str
    community: str
    window: str
    delivery_on: Any
    orders: int
    total: Decimal
    sections: list[PickSection]


def door_title() -> str:
    return _("送货上门（封控户及无投放点住户）")


def _household_rows(window_id: int, drop_off_ids: set[int | None], every: bool) -> dict[int | None, list[HouseholdRow]]:
    """The bags of the door section (and of every section when ``every``), with their items."""
    packages = Package.objects.filter(window_id=window_id)
    if not every:
        packages = packages.filter(drop_off__isnull=True)
    rows = list(
        packages.values_list(
            "order_id",
            "drop_off_id",
            "handover_code",
            "compound__name",
            "building__number",
            "building__name",
            "unit__number",
            "unit__name",
            "household__room",
            "amount",
            "contactless",
        )
    )
    rows.sort(key=lambda r: (r[3], r[4], r[5], r[6], r[7], r[8]))
    items: dict[int, list[str]] = defaultdict(list)
    order_ids = [r[0] for r in rows]
    for start in range(0, len(order_ids), CHUNK):
        for order_id, name, unit, quantity, short in (
            OrderLine.objects.filter(order_id__in=order_ids[start : start + CHUNK])
            .order_by("order_id", "offer__category", "offer__name")
            .values_list("order_id", "offer__name", "offer__unit", "quantity", "short")
        ):
            if quantity > short:
                items[order_id].append(f"{name}×{quantity - short}{unit}")
    out: dict[int | None, list[HouseholdRow]] = defaultdict(list)
    for order_id, drop_off_id, code, compound, _bn, building, _un, unit, room, amount, contactless in rows:
        if drop_off_id in drop_off_ids or drop_off_id is None:
            out[drop_off_id].append(
                HouseholdRow(code, compound, f"{building}{unit}{room}", "、".join(items[order_id]), amount, contactless)
            )
    return out


def pick_list(
    purchase: PurchaseOrder, *, drop_off: DropOffPoint | int | None = None, households: bool = False
) -> PickList:
    """Read the pick list of ``purchase``: every section, or only ``drop_off``'s (a point or its id)."""
    window = OrderWindow.objects.select_related("supplier", "community").get(pk=purchase.window_id)
    only = drop_off.pk if isinstance(drop_off, DropOffPoint) else drop_off
    lines = PurchaseLine.objects.filter(purchase=purchase)
    if only is not None:
        lines = lines.filter(drop_off_id=only)
    per_point: dict[int | None, list[PickLine]] = defaultdict(list)
    for drop_off_id, name, unit, price, quantity, short, amount in lines.order_by(
        "offer__category", "offer__name", "offer_id"
    ).values_list("drop_off_id", "offer__name", "offer__unit", "offer__price", "quantity", "short", "amount"):
        per_point[drop_off_id].append(PickLine(name, unit, price, quantity, short, amount - price * short))
    counts: dict[int | None, int] = dict(
        Package.objects.filter(window_id=window.pk)
        .values("drop_off_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("drop_off_id", "n")
    )
    points = {
        p.pk: p
        for p in DropOffPoint.objects.filter(pk__in=[k for k in per_point if k is not None]).select_related("compound")
    }
    house_rows = _household_rows(window.pk, set(per_point), households) if None in per_point or households else {}
    sections = [
        PickSection(
            drop_off_id=pk,
            title=f"{points[pk].compound.name} {points[pk].name}",
            location=points[pk].location,
            packages=counts.get(pk, 0),
            lines=per_point[pk],
            households=house_rows.get(pk, []),
        )
        for pk in sorted(points, key=lambda k: (points[k].compound.name, points[k].name))
    ]
    if None in per_point:
        sections.append(
            PickSection(None, door_title(), "", counts.get(None, 0), per_point[None], house_rows.get(None, []))
        )
    return PickList(
        reference=str(purchase),
        supplier=window.supplier.name,
        community=window.community.name,
        window=str(window),
        delivery_on=window.delivery_on,
        orders=purchase.orders,
        total=purchase.total,
        sections=sections,
    )


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


# ----------------------------------------------------------------------------------------------
# .xlsx


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
# Characters XML 1.0 cannot carry at all (a stray control character in a note would break the file).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name (31 characters, none of []:*?/\\)."""
    base = _SHEET_BAD.sub(" ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        name = f"{base[:25]}({n})"
        n += 1
    taken.add(name.lower())
    return name


def _column(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_LETTERS = [_column(n) for n in range(64)]


class XlsxBook:
    """A plain .xlsx (text and numbers, no styles) written straight as SpreadsheetML.

    openpyxl, even in write-only mode, spends ~50 µs per cell building XML elements; a pick list of
    a big window has ~100,000 cells, so it would take longer than the whole aggregation. Strings are
    written inline (``inlineStr``), which Excel, WPS, LibreOffice, openpyxl and calamine all read.
    """

    def __init__(self) -> None:
        self.sheets: list[tuple[str, list[str]]] = []
        self._taken: set[str] = set()

    def sheet(self, title: str) -> list[str]:
        rows: list[str] = []
        self.sheets.append((_sheet_name(title, self._taken), rows))
        return rows

    @staticmethod
    def row(rows: list[str], values: Sequence[Any]) -> None:
        number = len(rows) + 1
        cells = []
        for index, value in enumerate(values):
            kind = type(value)
            if kind is int or kind is Decimal or kind is float:
                cells.append(f'<c r="{_LETTERS[index]}{number}"><v>{value}</v></c>')
            elif value is not None and value != "":
                text = escape(_XML_BAD.sub("", str(value)))
                cells.append(
                    f'<c r="{_LETTERS[index]}{number}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
        rows.append(f'<row r="{number}">{"".join(cells)}</row>')

    def save(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as archive:
            overrides = "".join(
                f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for n in range(1, len(self.sheets) + 1)
            )
            archive.writestr(
                "[Content_Types].xml",
                f'{_XML}<Types xmlns="{_PKG}/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                f"{overrides}</Types>",
            )
            archive.writestr(
                "_rels/.rels",
                f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
                f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            )
            sheets = "".join(
                f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                for n, (name, _rows) in enumerate(self.sheets, 1)
            )
            archive.writestr(
                "xl/workbook.xml",
                f'{_XML}<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>',
            )
            rels = "".join(
                f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                for n in range(1, len(self.sheets) + 1)
            )
            styles_id = len(self.sheets) + 1
            archive.writestr(
                "xl/_rels/workbook.xml.rels",
                f'{_XML}<Relationships xmlns="{_PKG}/relationships">{rels}'
                f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
            )
            archive.writestr(
                "xl/styles.xml",
                f'{_XML}<styleSheet xmlns="{_NS}">'
                '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                "</styleSheet>",
            )
            for n, (_name, rows) in enumerate(self.sheets, 1):
                archive.writestr(
                    f"xl/worksheets/sheet{n}.xml",
                    f'{_XML}<worksheet xmlns="{_NS}"><sheetData>{"".join(rows)}</sheetData></worksheet>',
                )
        return buffer.getvalue()


def picklist_xlsx(purchase: PurchaseOrder, *, households: bool = False) -> bytes:
    """The pick list of ``purchase`` as .xlsx: a summary sheet, then one sheet per drop-off point and the door."""
    data = pick_list(purchase, households=households)
    book = XlsxBook()
    add = XlsxBook.row
    summary = book.sheet(_("汇总"))
    add(summary, [_("采购单"), data.reference, _("商超"), data.supplier, _("社区"), data.community])
    add(summary, [_("订购窗口"), data.window, _("配送日期"), str(data.delivery_on), _("订单数"), data.orders])
    add(summary, [])
    header = [
        _("品名"),
        pgettext("unit of measure", "单位"),
        _("单价（元）"),
        _("订购数量"),
        _("缺货数量"),
        _("应配数量"),
        _("金额（元）"),
    ]
    totals: dict[tuple[str, str, Decimal], list[Any]] = {}
    for section in data.sections:
        for line in section.lines:
            row = totals.setdefault((line.name, line.unit, line.price), [0, 0, Decimal("0")])
            row[0] += line.quantity
            row[1] += line.short
            row[2] += line.amount
    add(summary, [_("全部投放点合计")])
    add(summary, header)
    for (name, unit, price), (quantity, short, amount) in totals.items():
        add(summary, [name, unit, price, quantity, short, quantity - short, amount])
    add(summary, [])
    add(summary, [_("投放点"), _("位置"), _("包裹数"), _("金额（元）")])
    for section in data.sections:
        add(summary, [section.title, section.location, section.packages, section.amount])
    for section in data.sections:
        sheet = book.sheet(section.title)
        add(sheet, [section.title, section.location, _("包裹数"), section.packages])
        add(sheet, header)
        for line in section.lines:
            add(sheet, [line.name, line.unit, line.price, line.quantity, line.short, line.packed, line.amount])
        if section.households:
            add(sheet, [])
            add(sheet, [_("交接码"), _("小区"), _("住址"), _("商品"), _("应付（元）"), _("无接触配送")])
            for house in section.households:
                contactless = _("是") if house.contactless else ""
                add(sheet, [house.handover_code, house.compound, house.address, house.items, house.amount, contactless])
    return book.save()


# ----------------------------------------------------------------------------------------------
# PDF


def picklist_pdf(
    purchase: PurchaseOrder, drop_off: DropOffPoint | int | None = None, *, households: bool = False
) -> bytes:
    """The pick list of ``purchase`` (every section, or only ``drop_off``'s) as A4 PDF pages."""
    data = pick_list(purchase, drop_off=drop_off, households=households)
    title = _style(18, spaceAfter=2 * mm)
    subtle = _style(10, textColor=colors.HexColor("#444444"))
    cell = _style(9.5)
    head = _style(9.5, textColor=colors.HexColor("#000000"))
    story: list[Flowable] = []
    if not data.sections:
        story.append(Paragraph(_esc(_("拣货单 %(ref)s") % {"ref": data.reference}), title))
        story.append(Paragraph(_esc(_("本采购单没有需要拣货的商品。")), cell))
    for index, section in enumerate(data.sections):
        if index:
            story.append(PageBreak())
        story.append(
            Paragraph(_esc(_("拣货单 %(ref)s　%(title)s") % {"ref": data.reference, "title": section.title}), title)
        )
        facts = _("商超：%(supplier)s　社区：%(community)s　配送日期：%(day)s　包裹数：%(n)d") % {
            "supplier": data.supplier,
            "community": data.community,
            "day": data.delivery_on,
            "n": section.packages,
        }
        story.append(Paragraph(_esc(facts), subtle))
        if section.location:
            story.append(Paragraph(_esc(_("位置：%(where)s") % {"where": section.location}), subtle))
        story.append(Spacer(1, 3 * mm))
        header = [
            _("品名"),
            pgettext("unit of measure", "单位"),
            _("单价"),
            _("订购"),
            _("缺货"),
            _("应配"),
            _("金额（元）"),
            _("已拣"),
        ]
        rows = [[Paragraph(_esc(text), head) for text in header]]
        for line in section.lines:
            rows.append(
                [
                    Paragraph(_esc(line.name), cell),
                    Paragraph(_esc(line.unit), cell),
                    _money(line.price),
                    str(line.quantity),
                    str(line.short) if line.short else "",
                    str(line.packed),
                    _money(line.amount),
                    "",
                ]
            )
        rows.append(["", "", "", "", "", "", _money(section.amount), ""])
        table = Table(
            rows, colWidths=[58 * mm, 14 * mm, 18 * mm, 16 * mm, 14 * mm, 16 * mm, 26 * mm, 16 * mm], repeatRows=1
        )
        style = _grid_style()
        style.add("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2"))
        style.add("FONTNAME", (0, 0), (-1, -1), "Helvetica")
        style.add("FONTSIZE", (0, 0), (-1, -1), 9.5)
        table.setStyle(style)
        story.append(table)
        if section.households:
            story.append(Spacer(1, 4 * mm))
            story.append(Paragraph(_esc(_("分户清单")), _style(13, spaceAfter=1.5 * mm)))
            header = [_("交接码"), _("住址"), _("商品"), _("应付"), _("备注")]
            house_rows = [[Paragraph(_esc(text), head) for text in header]]
            for house in section.households:
                house_rows.append(
                    [
                        house.handover_code,
                        Paragraph(_esc(f"{house.compound} {house.address}"), cell),
                        Paragraph(_esc(house.items), cell),
                        _money(house.amount),
                        Paragraph(_esc(_("无接触 放门口") if house.contactless else ""), cell),
                    ]
                )
            houses = Table(house_rows, colWidths=[26 * mm, 42 * mm, 62 * mm, 18 * mm, 30 * mm], repeatRows=1)
            style = _grid_style()
            style.add("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2"))
            style.add("FONTNAME", (0, 0), (-1, -1), "Helvetica")
            style.add("FONTSIZE", (0, 0), (-1, -1), 9)
            houses.setStyle(style)
            story.append(houses)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_("拣货单 %(ref)s") % {"ref": data.reference},
        author=data.supplier,
    )
    doc.build(story)
    return buffer.getvalue()
