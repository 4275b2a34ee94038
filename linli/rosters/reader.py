"""Reading a roster .xlsx with python-calamine: find the header, map the columns, stream the rows.

calamine parses the sheet in Rust and hands rows to Python one at a time, which is what lets a
100,000-row file be checked in a couple of seconds. What it does not tell us we work out here:
where the header is (a title row or merged cells above it), which cells are covered by a merged
cell, and which cells hold a formula (calamine gives only a formula's cached value, and nothing
when the file was saved without one). A large sheet is parsed in pieces (``pieces.py``), so that
its first rows are checked while the rest is still being parsed.
"""

from __future__ import annotations

import itertools
import logging
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from linli.rosters import pieces
from linli.rosters.layout import COLUMN_BY_KEY, HEADER_SEARCH_ROWS, match_header

logger = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other Office 97 files)
# A header row must name at least this many known columns, 姓名 among them.
MIN_HEADER_MATCHES = 3
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


class RosterFileError(Exception):
    """The file cannot be read as a roster at all; the message is for the user."""


@dataclass
class Header:
    """Where the header is and which file column holds which roster column."""

    row: int  # Excel row number (1-based) of the header
    columns: dict[str, int]  # roster column key -> 0-based index into the rows this module yields
    labels: dict[str, str]  # roster column key -> the header text as written in the file
    col_offset: int  # absolute 0-based column of index 0
    ignored: list[str] = field(default_factory=list)  # headers we did not recognise
    duplicates: list[str] = field(default_factory=list)  # a second column naming the same thing

    def cell(self, key: str, row: int) -> str:
        """The Excel reference (H12) of a roster column in a row."""
        from linli.rosters.layout import column_letter

        return f"{column_letter(self.col_offset + self.columns[key])}{row}"


def check_file_kind(head: bytes, name: str = "") -> str | None:
    """Why the first bytes of an upload are not an .xlsx file, or None."""
    if head.startswith(ZIP_MAGIC):
        return None
    if head.startswith(OLE_MAGIC) or name.lower().endswith(".xls"):
        return _("这是旧版 Excel（.xls）文件，请在 Excel 或 WPS 中“另存为” .xlsx 后再上传")
    if name.lower().endswith((".csv", ".txt")):
        return _("不支持 CSV 文件，请使用下载的 .xlsx 模板")
    return _("文件不是有效的 Excel（.xlsx）文件")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value)


def _sheet_members(path: Path) -> list[tuple[str, int]]:
    """(zip member, uncompressed size) of the worksheets in workbook order; empty when that cannot be told."""
    try:
        paths = _sheet_paths(path)
        with zipfile.ZipFile(path) as archive:
            return [(member, archive.getinfo(member).file_size) for member in paths]
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return []


def _sheet_paths(path: Path) -> list[str]:
    """The zip members of the worksheets, in workbook order."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.findall("rel:Relationship", _NS)}
    paths = []
    for sheet in workbook.findall("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        paths.append(target.lstrip("/") if target.startswith("/") else f"xl/{target}")
    return paths


def formula_cells(path: Path, sheet_index: int) -> dict[int, set[int]]:
    """{Excel row: {absolute 0-based columns}} of the cells of a sheet that hold a formula.

    The sheet's XML is streamed and only the chunks that contain a formula tag are searched, so a
    file without formulas costs one decompression and nothing more.
    """
    cells: dict[int, set[int]] = {}
    try:
        member = _sheet_paths(path)[sheet_index]
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            tail = b""
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                if b"<f" in data:
                    for match in pieces.FORMULA_CELL.finditer(data):
                        cells.setdefault(int(match.group(2)), set()).add(pieces.column_index(match.group(1)))
                tail = data[-512:]
    except (KeyError, IndexError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    return cells


@dataclass
class _Opened:
    """A sheet opened for reading: its first (or only) calamine sheet, the rows, the formula cells, the last row."""

    sheet: Any
    col_offset: int
    rows: Iterator[tuple[int, list[Any]]]
    formulas: dict[int, set[int]]
    end_row: int
    pieces: pieces.SheetPieces | None


class RosterSheet:
    """The roster sheet of a workbook: its header and its data rows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            problem = check_file_kind(handle.read(8), self.path.name)
        if problem:
            raise RosterFileError(problem)
        try:
            self.workbook = CalamineWorkbook.from_path(str(self.path))
            found = self._find_sheet()
        except (CalamineError, OSError, ValueError) as exc:
            raise RosterFileError(_("无法读取文件：文件已损坏、加密，或不是 .xlsx 文件")) from exc
        if found is None:
            raise RosterFileError(
                _("没有找到表头：请在前%(n)d行中写明“姓名”“小区”“楼栋”等列名（可下载模板对照）")
                % {"n": HEADER_SEARCH_ROWS}
            )
        self.sheet_index, opened, self.header, self._rows = found
        self.formulas: dict[int, set[int]] = opened.formulas
        self._end_row = opened.end_row
        self._pieces = opened.pieces

    @property
    def total_rows(self) -> int:
        """Rows below the header (empty ones included): the denominator of the progress bar."""
        return max(0, self._end_row - self.header.row)

    def _find_sheet(self) -> tuple[int, _Opened, Header, Iterator[tuple[int, list[Any]]]] | None:
        members = _sheet_members(self.path)
        for index, meta in enumerate(self.workbook.sheets_metadata):
            if str(meta.visible).endswith("Hidden"):
                continue
            opened = self._open(index, members[index] if index < len(members) else None)
            found = _find_header(opened.sheet, opened.col_offset, opened.rows)
            if found is not None:
                header, data = found
                return index, opened, header, data
            if opened.pieces is not None:
                opened.pieces.close()
        return None

    def _open(self, index: int, member: tuple[str, int] | None) -> _Opened:
        """A sheet's first rows ready to read: in pieces when it is large (``pieces.py``), else whole."""
        if member is not None and member[1] >= pieces.SPLIT_BYTES:
            try:
                cut = pieces.SheetPieces(str(self.path), member[0])
                first = cut.first() if cut.cut else None
            except (CalamineError, OSError, ValueError, KeyError, zipfile.BadZipFile):
                # No room for the temporary workbook, or a file calamine will refuse whole too: read it whole.
                logger.warning("%s: sheet %d could not be read in pieces", self.path.name, index, exc_info=True)
                first = None
            if first is not None:
                if first.start is not None:
                    col_offset, rows = _absolute_rows(first)
                    rows = itertools.chain(rows, cut.rows(col_offset, first.end[0] + 2))
                    return _Opened(first, col_offset, rows, cut.formulas, cut.last_row, cut)
                cut.close()
        # The formula scan decompresses the sheet's XML again; calamine lets go of the GIL while it
        # parses, so the scan runs alongside at no cost in wall time.
        scanned: dict[int, set[int]] = {}
        scanner = threading.Thread(target=lambda: scanned.update(formula_cells(self.path, index)), daemon=True)
        scanner.start()
        try:
            sheet = self.workbook.get_sheet_by_index(index)
        finally:
            scanner.join()
        col_offset, rows = _absolute_rows(sheet)
        end = sheet.end
        return _Opened(sheet, col_offset, rows, scanned, end[0] + 1 if end else 0, None)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(Excel row number, cell values) for every row below the header, merged cells filled in."""
        return self._rows


def _absolute_rows(sheet: Any) -> tuple[int, Iterator[tuple[int, list[Any]]]]:
    """The absolute column of index 0, and the rows numbered as Excel numbers them.

    Depending on its version, calamine's iter_rows starts at the sheet's first row or at the first
    row with data (and at the first column or the first column with data); the first row with data
    is never all empty and the widths differ, which tells the cases apart.
    """
    start, end = sheet.start, sheet.end
    rows = sheet.iter_rows()
    first = next(rows, None)
    if first is None or start is None or end is None:
        return 0, iter(())
    col_offset = 0 if start[1] and len(first) == end[1] + 1 else start[1]
    number = 1 if start[0] and not any(v != "" for v in first) else start[0] + 1

    # Chained in C: a generator here would cost a resumption per row of a 100,000-row file.
    return col_offset, itertools.chain(((number, first),), enumerate(rows, start=number + 1))


def _merges(sheet: Any, col_offset: int) -> dict[int, list[tuple[int, int, int]]]:
    """{first Excel row: [(first index, last Excel row, last index)]} of the merged ranges."""
    merges: dict[int, list[tuple[int, int, int]]] = {}
    for (row0, col0), (row1, col1) in sheet.merged_cell_ranges or ():
        if (row0, col0) == (row1, col1):
            continue
        merges.setdefault(row0 + 1, []).append((col0 - col_offset, row1 + 1, col1 - col_offset))
    return merges


def _fill_merged(
    rows: Iterator[tuple[int, list[Any]]], merges: dict[int, list[tuple[int, int, int]]]
) -> Iterator[tuple[int, list[Any]]]:
    """Copy a merged cell's value into every cell it covers, as the user sees it on screen."""
    return _filled(rows, merges) if merges else rows


def _filled(
    rows: Iterator[tuple[int, list[Any]]], merges: dict[int, list[tuple[int, int, int]]]
) -> Iterator[tuple[int, list[Any]]]:
    active: list[tuple[int, int, int, Any]] = []  # (first index, last row, last index, value)
    for number, row in rows:
        started = merges.get(number)
        if started:
            for first, last_row, last in started:
                value = row[first] if 0 <= first < len(row) else ""
                active.append((first, last_row, last, value))
        if active:
            active = [item for item in active if item[1] >= number]
            row = list(row)
            for first, _last_row, last, value in active:
                if last >= len(row):
                    row.extend([""] * (last + 1 - len(row)))
                for index in range(max(first, 0), last + 1):
                    row[index] = value
        yield number, row


def _find_header(
    sheet: Any, col_offset: int, rows: Iterator[tuple[int, list[Any]]]
) -> tuple[Header, Iterator[tuple[int, list[Any]]]] | None:
    """The header among the first non-empty rows, and an iterator over the rows below it."""
    merged = _fill_merged(rows, _merges(sheet, col_offset))
    peeked: list[tuple[int, list[Any]]] = []
    for number, row in merged:
        if any(v != "" for v in row):
            peeked.append((number, row))
            if len(peeked) >= HEADER_SEARCH_ROWS:
                break
    best: tuple[int, int] | None = None  # (matches, position in peeked)
    for position, (_number, row) in enumerate(peeked):
        keys = [match_header(value) for value in row]
        matches = len({key for key in keys if key})
        if "name" in keys and matches >= MIN_HEADER_MATCHES and (best is None or matches > best[0]):
            best = (matches, position)
    if best is None:
        return None
    position = best[1]
    number, row = peeked[position]
    header = Header(row=number, columns={}, labels={}, col_offset=col_offset)
    upper = peeked[position - 1][1] if position else []
    for index, value in enumerate(row):
        key = match_header(value)
        label = _text(value)
        if key is None and index < len(upper):
            # Two-row headers: 住址 over 楼栋/单元/房号; a name merged down over both rows.
            key = match_header(upper[index])
            label = _text(upper[index]) if key else label
        if key is None:
            if label:
                header.ignored.append(label)
            continue
        if key in header.columns:
            header.duplicates.append(label)
            continue
        header.columns[key] = index
        header.labels[key] = label or (COLUMN_BY_KEY[key].header if key in COLUMN_BY_KEY else key)

    return header, itertools.chain(peeked[position + 1 :], merged)
