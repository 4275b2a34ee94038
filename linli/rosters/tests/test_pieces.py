"""A large sheet read in pieces (``pieces.py``) gives exactly what reading it whole gives."""

from __future__ import annotations

import datetime
import gc
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Person
from linli.rosters import pieces
from linli.rosters.models import ImportStatus
from linli.rosters.reader import RosterSheet
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import HEADERS, person_row


def _cut_small(patch: pytest.MonkeyPatch) -> None:
    """Every sheet is cut, into pieces of a few rows, and the second workbook holds most of them."""
    patch.setattr(pieces, "SPLIT_BYTES", 0)
    patch.setattr(pieces, "FIRST_PIECE_BYTES", 2000)
    patch.setattr(pieces, "PIECE_BYTES", 3000)
    patch.setattr(pieces, "FIRST_WORKBOOK_BYTES", 4000)


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    _cut_small(monkeypatch)


def _people(count: int, start: int = 0) -> list[list[Any]]:
    return [
        person_row(
            姓名=f"人{start + i}",
            身份证号=make_id_number(),
            房号=f"{(start + i) // 3 + 101}",
            重点人群="独居" if i % 7 == 0 else "",
        )
        for i in range(count)
    ]


def _read(path: Path) -> tuple[RosterSheet, list[tuple[int, list[Any]]]]:
    sheet = RosterSheet(path)
    rows = []
    for number, cells in sheet.rows():
        cells = list(cells)
        while cells and cells[-1] == "":  # a piece may be narrower than the whole sheet
            cells.pop()
        rows.append((number, cells))
    return sheet, rows


def _sheet_changed(path: Path, target: Path, change: Callable[[bytes], bytes]) -> Path:
    """A copy of the workbook at ``path`` whose worksheets' XML went through ``change``."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = change(data)
            copy.writestr(info, data)
    return target


def _same_in_pieces(path: Path, monkeypatch: pytest.MonkeyPatch) -> RosterSheet:
    """Read ``path`` whole and in pieces; they agree, and the pieces were really used. The cut sheet."""
    whole, whole_rows = _read(path)
    assert whole._pieces is None
    with monkeypatch.context() as patch:
        _cut_small(patch)
        cut, cut_rows = _read(path)
    assert cut._pieces is not None and cut._pieces.count > 3
    assert cut.header == whole.header
    assert cut_rows == whole_rows
    assert cut.formulas == whole.formulas
    assert cut.total_rows == whole.total_rows
    return cut


def test_plain_rows_read_in_pieces_are_the_rows(roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _same_in_pieces(roster(_people(120)), monkeypatch)


def test_inline_strings_read_in_pieces_are_the_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workbook = Workbook(write_only=True)  # cells as inline strings, as the benchmark's file and our exports
    sheet = workbook.create_sheet("台账")
    sheet.append(HEADERS)
    for row in _people(120):
        sheet.append(row)
    workbook.save(tmp_path / "roster.xlsx")

    _same_in_pieces(tmp_path / "roster.xlsx", monkeypatch)


def test_titles_merged_cells_gaps_and_formulas_survive_the_cuts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["幸福社区人员台账"])
    sheet.merge_cells("A1:R1")
    sheet.append(HEADERS)
    for row in _people(60):
        sheet.append(row)
    for _ in range(40):  # empty rows, where a cut may fall between two pieces' cells
        sheet.append([])
    for row in _people(60, start=60):
        sheet.append(row)
    sheet.merge_cells("C50:C80")  # a compound written once over rows in several pieces
    sheet["R3"] = "=2+2"  # in the first workbook
    sheet["R20"] = "=1+1"  # in the second
    sheet["R30"] = datetime.date(2022, 4, 1)  # a date: the pieces keep the workbook's styles
    sheet["I31"] = 13700001111  # a phone typed as a number
    for number in range(150, 170):  # rows whose first columns are empty: a piece narrower on the left
        for column in "ABC":
            sheet[f"{column}{number}"] = None
    workbook.save(tmp_path / "roster.xlsx")

    cut = _same_in_pieces(tmp_path / "roster.xlsx", monkeypatch)

    assert cut.header.row == 2
    assert cut.formulas == {3: {17}, 20: {17}}


def test_a_sheet_whose_rows_do_not_say_their_number_is_read_whole(
    roster: Callable[..., Path], tmp_path: Path, small_pieces: None
) -> None:
    path = roster(_people(60))
    unnumbered = re.compile(rb'<row r="[0-9]+"')
    stripped = _sheet_changed(path, tmp_path / "stripped.xlsx", lambda data: unnumbered.sub(b"<row ", data))

    sheet, rows = _read(stripped)

    assert sheet._pieces is None
    assert len(rows) == 60 and rows[-1][0] == 61


def test_a_sheet_without_a_header_stops_its_pieces(tmp_path: Path, small_pieces: None) -> None:
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "说明"
    for i in range(300):
        notes.append([f"第{i}条说明"])
    roster_sheet = workbook.create_sheet("台账")
    roster_sheet.append(HEADERS)
    for row in _people(5):
        roster_sheet.append(row)
    workbook.save(tmp_path / "roster.xlsx")

    sheet, rows = _read(tmp_path / "roster.xlsx")

    assert sheet.sheet_index == 1 and len(rows) == 5
    assert all(not thread.is_alive() or thread.name != "roster-pieces" for thread in _threads_after_a_while())


def _threads_after_a_while() -> list[Any]:
    import threading
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(t.name == "roster-pieces" for t in threading.enumerate()):
        time.sleep(0.05)
    return threading.enumerate()


def test_an_import_read_in_pieces_writes_every_row_and_reports_bad_ones_by_their_row(
    personas: Personas, roster: Callable[..., Path], small_pieces: None
) -> None:
    rows = _people(150)
    rows[130] = person_row(姓名="坏", 身份证号="110101199001011234", 房号="999")  # a wrong check digit

    rejected = roster_import(path=roster(rows), user=personas.community_worker)

    assert rejected.status == ImportStatus.REJECTED
    assert [error["row"] for error in rejected.errors] == [132]
    assert not Person.objects.filter(name__startswith="人").exists()

    good = roster_import(path=roster(_people(150)), user=personas.community_worker, only_good_rows=False)

    assert good.status == ImportStatus.DONE, good.errors
    assert (good.created_people, good.processed_rows, good.total_rows) == (150, 150, 150)
    assert Person.objects.get(name="人149").household.room == f"{149 // 3 + 101}"


def test_a_piece_that_cannot_be_read_fails_the_import_as_an_unreadable_file(
    personas: Personas, roster: Callable[..., Path], tmp_path: Path, small_pieces: None
) -> None:
    path = roster(_people(150))
    broken = _sheet_changed(
        path,
        tmp_path / "broken.xlsx",
        lambda data: data.replace(b'<c r="G140"', b'<c r="G140" t="n"><v>not a number</v></c><c r="Z1"', 1),
    )

    job = roster_import(path=broken, user=personas.community_worker)

    assert (job.status, job.message) == (ImportStatus.FAILED, "无法读取文件：文件已损坏、加密，或不是 .xlsx 文件")
    assert not Person.objects.filter(name__startswith="人").exists()


def test_a_file_refused_for_its_header_stops_its_pieces(
    personas: Personas, roster: Callable[..., Path], small_pieces: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pieces, "FIRST_PIECE_BYTES", 20000)  # the header is found without reading the others
    header = [name for name in HEADERS if name != "小区"]
    rows = [[value for name, value in zip(HEADERS, row, strict=True) if name != "小区"] for row in _people(150)]

    job = roster_import(path=roster(rows, header=header), user=personas.community_worker)

    assert job.status == ImportStatus.REJECTED
    gc.collect()
    assert not any(thread.name == "roster-pieces" for thread in _threads_after_a_while())


def test_rows_read_after_their_sheet_is_gone_are_all_there(roster: Callable[..., Path], small_pieces: None) -> None:
    path = roster(_people(120))

    rows = RosterSheet(path).rows()  # nothing holds the sheet any more
    gc.collect()

    assert [number for number, _cells in rows] == list(range(2, 122))


def test_a_sheet_that_cannot_be_cut_for_lack_of_room_is_read_whole(
    roster: Callable[..., Path], small_pieces: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_room(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pieces.tempfile, "mkstemp", no_room)

    sheet, rows = _read(roster(_people(120)))

    assert sheet._pieces is None and len(rows) == 120


def test_no_room_for_the_second_workbook_fails_the_import_and_writes_nothing(
    personas: Personas, roster: Callable[..., Path], small_pieces: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = roster(_people(150))
    made = []
    real_mkstemp = pieces.tempfile.mkstemp

    def room_for_one(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        if len(made) > 1:  # the second workbook, written while the first rows are checked
            raise OSError(28, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(pieces.tempfile, "mkstemp", room_for_one)

    job = roster_import(path=path, user=personas.community_worker)

    assert len(made) == 2
    assert (job.status, job.message) == (ImportStatus.FAILED, "导入失败，没有写入任何数据。请稍后重试或联系管理员")
    assert not Person.objects.filter(name__startswith="人").exists()


def _deflated_member(path: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    return info


@pytest.mark.parametrize("fast", [True, False], ids=["isa-l", "zlib"])
def test_a_sheet_is_read_from_the_archive_as_zipfile_reads_it(
    roster: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        monkeypatch.setattr(pieces, "_fast_zlib", None)
    path = roster(_people(40))
    info = _deflated_member(path)

    with zipfile.ZipFile(path) as archive:
        assert pieces.read_member(str(path), archive, info.filename) == archive.read(info)


def test_a_stored_sheet_is_read_as_it_is(roster: Callable[..., Path], tmp_path: Path) -> None:
    path = roster(_people(5))
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as copy:
        for info in source.infolist():
            copy.writestr(info.filename, source.read(info))

    with zipfile.ZipFile(stored) as archive, zipfile.ZipFile(path) as original:
        data = pieces.read_member(str(stored), archive, "xl/worksheets/sheet1.xml")
        assert data == original.read("xl/worksheets/sheet1.xml")


def _damaged(path: Path, target: Path) -> Path:
    """A copy of the workbook at ``path`` with one byte of its sheet's compressed data changed."""
    info = _deflated_member(path)
    body = bytearray(path.read_bytes())
    local = body[info.header_offset : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    body[start + info.compress_size // 2] ^= 0x55
    target.write_bytes(bytes(body))
    return target


def test_a_damaged_sheet_is_refused(roster: Callable[..., Path], tmp_path: Path) -> None:
    damaged = _damaged(roster(_people(40)), tmp_path / "damaged.xlsx")

    with zipfile.ZipFile(damaged) as archive, pytest.raises(zipfile.BadZipFile):
        pieces.read_member(str(damaged), archive, "xl/worksheets/sheet1.xml")


def test_a_large_damaged_sheet_fails_the_import_as_an_unreadable_file(
    personas: Personas, roster: Callable[..., Path], tmp_path: Path, small_pieces: None
) -> None:
    damaged = _damaged(roster(_people(150)), tmp_path / "damaged.xlsx")

    job = roster_import(path=damaged, user=personas.community_worker)

    assert (job.status, job.message) == (ImportStatus.FAILED, "无法读取文件：文件已损坏、加密，或不是 .xlsx 文件")
    assert not Person.objects.filter(name__startswith="人").exists()


@pytest.mark.parametrize(
    "cell",
    [b'<c r="C7"><f>1+1</f><v>2</v></c>', b'<c r="C7" t="str"><f t="shared" ref="C7:C9" si="0"/><v>x</v></c>'],
    ids=["formula", "shared"],
)
def test_a_formula_far_into_a_sheet_is_found(cell: bytes) -> None:
    row = b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>f&lt;x</t></is></c></row>'
    rows = b"".join(row % (n, n) for n in range(1, 7))
    data = b"<sheetData>" + rows + b'<row r="7">' + cell + b"</row></sheetData>"

    assert pieces.scan_formulas(data, 0, len(data)) == {7: {2}}
    assert pieces.scan_formulas(data, 0, data.find(b'<row r="7"')) == {}
