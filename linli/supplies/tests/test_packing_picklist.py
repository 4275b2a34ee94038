"""Pick lists (S4/S5): per drop-off point and the door, as .xlsx (summary + a sheet per point) and PDF."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from linli.supplies.choices import Priority
from linli.supplies.models import Package, PurchaseOrder
from linli.supplies.picklist import door_title, pick_list, picklist_pdf, picklist_xlsx
from linli.supplies.services.aggregation import aggregate, shortfall_allocate
from linli.supplies.tests.test_aggregation import Scene, b, place, scene

__all__ = ["scene"]

pytestmark = pytest.mark.django_db


def _purchase(scene: Scene) -> PurchaseOrder:
    w, veg, eggs = scene.window, scene.veg, scene.eggs
    place(w, b(scene, "b1", "101"), {veg: 2, eggs: 1})
    place(w, b(scene, "b1", "102"), {veg: 1})
    place(w, b(scene, "b2", "101"), {eggs: 3})
    place(w, b(scene, "b3", "201"), {veg: 1, eggs: 1})
    place(w, b(scene, "b1", "201"), {veg: 4}, priority=Priority.SEALED)
    return aggregate(w, actor=scene.personas.community_worker, now=scene.after)


def test_pick_list_has_a_section_per_point_and_the_door_lists_its_households(scene: Scene) -> None:
    purchase = _purchase(scene)
    data = pick_list(purchase)
    titles = [s.title for s in data.sections]
    assert titles == ["阳光小区 1号楼投放点", "阳光小区 北门投放点", door_title()]
    point, gate, door = data.sections
    assert [(line.name, line.quantity) for line in point.lines] == [("标准蔬菜包", 3), ("鸡蛋", 1)]
    assert point.packages == 2 and point.households == []
    assert [(line.name, line.quantity) for line in gate.lines] == [("鸡蛋", 3)]
    assert door.packages == 2
    assert [(h.compound, h.address) for h in door.households] == [
        ("和谐家园", "1号楼1单元201"),
        ("阳光小区", "1号楼1单元201"),
    ]
    sealed = next(h for h in door.households if h.compound == "阳光小区")
    assert sealed.contactless and sealed.items == "标准蔬菜包×4份"
    only = pick_list(purchase, drop_off=scene.gate_point)
    assert [s.title for s in only.sections] == ["阳光小区 北门投放点"]
    every = pick_list(purchase, households=True)
    assert len(every.sections[0].households) == 2


def test_picklist_xlsx_has_a_summary_and_a_sheet_per_section_with_shortfalls(scene: Scene) -> None:
    purchase = _purchase(scene)
    shortfall_allocate(purchase, {scene.veg.pk: 6}, actor=scene.personas.community_worker)  # 8 ordered
    content = picklist_xlsx(purchase)
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    titles = [s.title for s in pick_list(purchase).sections]
    assert book.sheet_names == ["汇总", "阳光小区 1号楼投放点", "阳光小区 北门投放点", door_title()[:28]]
    summary = book.get_sheet_by_name("汇总").to_python()
    veg_total = next(row for row in summary if row[:1] == ["标准蔬菜包"])
    assert veg_total[3:6] == [8, 2, 6]
    assert [row[0] for row in summary if row[0] in titles] == titles
    door = book.get_sheet_by_name(book.sheet_names[3]).to_python()
    assert any(row[:1] == ["交接码"] for row in door)
    codes = {row[0] for row in door}
    assert set(Package.objects.filter(drop_off__isnull=True).values_list("handover_code", flat=True)) <= codes
    # the file opens in openpyxl too (as a stand-in for Excel and WPS), numbers as numbers
    sheet = load_workbook(io.BytesIO(content), read_only=True)["阳光小区 北门投放点"]
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert rows[2][:7] == ("鸡蛋", "份", 11.5, 3, 0, 3, 34.5)


def test_picklist_pdf_prints_every_section(scene: Scene) -> None:
    purchase = _purchase(scene)
    pdf = picklist_pdf(purchase)
    assert pdf[:5] == b"%PDF-"
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("拣货单", "1号楼投放点", "北门投放点", "送货上门", "分户清单", "标准蔬菜包", "无接触 放门口"):
        assert expected in text
    one = PdfReader(io.BytesIO(picklist_pdf(purchase, scene.b1_point.pk)))
    assert len(one.pages) == 1 and "北门" not in one.pages[0].extract_text()


def test_an_empty_purchase_order_still_prints(scene: Scene) -> None:
    purchase = aggregate(scene.window, actor=scene.personas.community_worker, now=scene.after)
    assert PdfReader(io.BytesIO(picklist_pdf(purchase))).pages
    book = CalamineWorkbook.from_filelike(io.BytesIO(picklist_xlsx(purchase)))
    assert book.sheet_names == ["汇总"]
