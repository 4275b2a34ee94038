"""Reading a large worksheet in pieces, so that checking and writing start before the whole sheet is parsed.

python-calamine parses a whole sheet before it hands over its first row (~1.4 s for 100,000
rows), and until then no other stage of an import has anything to do. A worksheet's XML is a
flat list of ``<row>`` elements, though: cut at row boundaries, each slice wrapped in the sheet's
own head and tail (merged cells included) is a worksheet of its own, which calamine reads like the
original, giving the same cells at the same row and column numbers. The slices go, as sheets, into
temporary workbooks with the original's other parts (shared strings, styles, the date system):
a small one with the first pieces (``FIRST_WORKBOOK_BYTES`` of rows), written before checking
starts, and one with all the others, written in a thread of its own from then on while the first
rows are checked (writing all 90 MB of a 100,000-row sheet before checking took ~0.2 s, during
which nothing else had anything to do). The first, small piece is parsed at once and the others
one after another in a second thread — calamine lets go of the GIL while it parses — while the
rows before them are checked and written. The cells holding a formula are found in the same two
steps, before any row of a piece is handed over.

Only sheets laid out as expected are cut (a plain ``<sheetData>``, every cut at a row that states
its number, a workbook part whose sheet list can be rewritten); anything else is read whole.
"""

from __future__ import annotations

import os
import queue
import re
import struct
import tempfile
import threading
import weakref
import zipfile
from collections.abc import Iterator
from typing import Any

from python_calamine import CalamineWorkbook

_fast_zlib: Any
try:  # ISA-L inflates a sheet's XML in half the time zlib takes (~0.06 s instead of ~0.12 s for 90 MB)
    from isal import isal_zlib as _fast_zlib
except ImportError:  # no wheel for this platform: the standard library's zlib
    _fast_zlib = None

# Sheets whose XML is smaller than this are read whole: cutting them would save little.
SPLIT_BYTES = 16 << 20
# The first piece holds the header: small, so that checking starts almost at once; the next ones grow
# fourfold up to PIECE_BYTES.
FIRST_PIECE_BYTES = 256 << 10
PIECE_BYTES = 8 << 20
# The first pieces, up to this many bytes of rows, go into a workbook of their own, written at once;
# the others into a second one, written in the thread while those rows are checked.
FIRST_WORKBOOK_BYTES = 12 << 20
# Parsed pieces waiting for the checking thread (each ~10,000 rows as Python lists).
QUEUE_PIECES = 2

_SHEET_DATA = b"<sheetData>"
_SHEET_DATA_END = b"</sheetData>"
_ROW = b"<row "
_ROW_NUMBER = re.compile(rb'\sr="([0-9]+)"')
# calamine may size a sheet by its <dimension>, which in a piece would be the whole sheet's.
_DIMENSION = re.compile(rb"<dimension\s[^>]*/>")
_SHEETS = re.compile(rb"<sheets>.*?</sheets>", re.DOTALL)
_RELATIONSHIPS_NS = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_CONTENT_TYPES = "[Content_Types].xml"
_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
FORMULA_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"[^>]*><f[ >/]')
_FORMULA_TAG = re.compile(rb"<f[ >/]")
_DONE = object()


def column_index(letters: bytes) -> int:
    index = 0
    for byte in letters:
        index = index * 26 + byte - 64
    return index - 1


def scan_formulas(data: bytes, start: int, end: int) -> dict[int, set[int]]:
    """{Excel row: {absolute 0-based columns}} of the cells holding a formula in a sheet's XML."""
    cells: dict[int, set[int]] = {}
    first = _FORMULA_TAG.search(data, start, end)  # a regular expression finds it ~2.5x faster than bytes.find
    if first is None:
        return cells
    for match in FORMULA_CELL.finditer(data, max(start, first.start() - 512), end):
        cells.setdefault(int(match.group(2)), set()).add(column_index(match.group(1)))
    return cells


def _cuts(data: bytes, start: int, end: int) -> list[int] | None:
    """Where the pieces of the rows between ``start`` and ``end`` begin (and ``end``), or None."""
    cuts = [start]
    size = FIRST_PIECE_BYTES
    while (at := data.find(_ROW, cuts[-1] + size, end)) >= 0:
        if _ROW_NUMBER.search(data, at, data.find(b">", at, end)) is None:
            return None  # a row that does not say its number: calamine would number its piece from 1
        cuts.append(at)
        size = min(PIECE_BYTES, 4 * size)  # growing: the rows checked first are written first
    return [*cuts, end] if len(cuts) > 1 else None


def read_member(path: str, archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, as ``archive.read(name)`` gives them (checked against its CRC-32).

    A large sheet's XML is read before any row can be checked, so its inflating is on every
    import's critical path: a plain deflated member is inflated with ISA-L when it is installed.
    """
    info = archive.getinfo(name)
    if _fast_zlib is None or info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:  # 0x1: encrypted
        return archive.read(info)
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)  # the local file header: signature ... name length, extra length
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"Bad magic number for file header of {name}")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        raw = file.read(info.compress_size)
    try:
        data = _fast_zlib.decompress(raw, wbits=-15, bufsize=max(info.file_size, 1))
    except _fast_zlib.error as exc:
        raise zipfile.BadZipFile(f"Bad compressed data in {name}: {exc}") from exc
    if len(data) != info.file_size or _fast_zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {name}")
    return data


def _last_row(data: bytes, start: int, end: int) -> int | None:
    """The number of the last row with a value (<v> or an inline string): where a whole sheet ends."""
    value = max(data.rfind(b"<v>", start, end), data.rfind(b"<is>", start, end))
    last = data.rfind(_ROW, start, value) if value >= 0 else -1
    found = _ROW_NUMBER.search(data, last, data.find(b">", last, end)) if last >= 0 else None
    return int(found.group(1)) if found else None


def _workbook_parts(parts: dict[str, bytes], count: int) -> dict[str, bytes] | None:
    """The workbook, its relationships and content types listing ``count`` piece sheets; None if they cannot."""
    workbook, rels, types = (parts.get(name) for name in (_WORKBOOK, _WORKBOOK_RELS, _CONTENT_TYPES))
    if workbook is None or rels is None or _RELATIONSHIPS_NS not in workbook or b"</Relationships>" not in rels:
        return None
    if len(_SHEETS.findall(workbook)) != 1:
        return None
    sheets = "".join(f'<sheet name="p{k}" sheetId="{k + 1}" r:id="linliPiece{k}"/>' for k in range(count))
    links = "".join(
        f'<Relationship Id="linliPiece{k}" Type="{_WORKSHEET_REL}" Target="worksheets/linli_piece{k}.xml"/>'
        for k in range(count)
    )
    out = {
        _WORKBOOK: _SHEETS.sub(f"<sheets>{sheets}</sheets>".encode(), workbook),
        _WORKBOOK_RELS: rels.replace(b"</Relationships>", f"{links}</Relationships>".encode()),
    }
    if types is not None and b"</Types>" in types:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/linli_piece{k}.xml" ContentType="{_WORKSHEET}"/>' for k in range(count)
        )
        out[_CONTENT_TYPES] = types.replace(b"</Types>", f"{overrides}</Types>".encode())
    return out


class SheetPieces:
    """A worksheet cut into sheets of a few thousand rows each; ``cut`` says whether it could be."""

    def __init__(self, path: str, member: str) -> None:
        self.cut = False
        with zipfile.ZipFile(path) as archive:
            data = read_member(path, archive, member)
            # The workbook's other parts; the other worksheets (and pictures) are never read.
            parts = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.filename.startswith(("xl/worksheets/", "xl/media/"))
            }
        start = data.find(_SHEET_DATA)
        end = data.rfind(_SHEET_DATA_END)
        if start < 0 or end < start:
            return
        start += len(_SHEET_DATA)
        last_row = _last_row(data, start, end)
        cuts = _cuts(data, start, end)
        if last_row is None or cuts is None:
            return
        count = len(cuts) - 1
        # Pieces [0, split) go into the first workbook, [split, count) into the second.
        split = next((k for k in range(1, count) if cuts[k] - start >= FIRST_WORKBOOK_BYTES), count)
        first_parts = _workbook_parts(parts, split)
        rest_parts = _workbook_parts(parts, count - split) if split < count else {}
        if first_parts is None or rest_parts is None:
            return
        self.last_row = last_row
        # Filled piece by piece: the rows of a piece are handed over after its formulas are in.
        self.formulas = scan_formulas(data, start, cuts[split])
        self.count = count
        sheet = _Sheet(_DIMENSION.sub(b"", data[:start], count=1), data[end:], data)
        self._workbook = sheet.write(cuts[: split + 1], {**parts, **first_parts})
        # What the thread needs to write the second workbook; it lets go of the sheet's XML once written.
        self._rest = (sheet, cuts[split:], {**parts, **rest_parts}) if split < count else None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_PIECES)
        self._stop = threading.Event()
        self.cut = True

    def first(self) -> Any:
        """The first piece as a calamine sheet; the others start being parsed in the background."""
        sheet = self._workbook.get_sheet_by_index(0)
        # The thread holds the queue, not this object: when nobody can read the rows any more, this object
        # goes, and its finalizer stops the thread.
        rest = _Written(*self._rest) if self._rest is not None else None
        work = (self._workbook, rest, self.formulas, self._queue, self._stop)
        self._rest = None
        threading.Thread(target=_produce, args=work, daemon=True, name="roster-pieces").start()
        weakref.finalize(self, self._stop.set)
        return sheet

    def rows(self, col_offset: int, following: int) -> Iterator[tuple[int, list[Any]]]:
        """(Excel row number, cells) of the pieces after the first, aligned on ``col_offset`` as the first
        piece's rows are; the rows between two pieces' cells are given as empty, as a whole sheet gives them.

        ``following`` is the number of the row after the first piece's last row.
        """
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                start, rows = item
                if start is None:
                    continue
                number = start[0] + 1
                while following < number:
                    yield following, []
                    following += 1
                shift = start[1] - col_offset
                for cells in rows:
                    if shift > 0:
                        cells = [*[""] * shift, *cells]
                    elif shift < 0:
                        cells = cells[-shift:]  # columns left of the header's: none is a roster column
                    yield number, cells
                    number += 1
                following = number
        finally:
            self.close()

    def close(self) -> None:
        """Stop parsing (the rows were read, or are no longer wanted)."""
        self._stop.set()


def _put(pieces: queue.Queue[Any], stop: threading.Event, item: Any) -> None:
    while not stop.is_set():
        try:
            pieces.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


class _Sheet:
    """A worksheet's XML and what wraps every piece of it: the head (up to ``<sheetData>``) and the tail."""

    def __init__(self, head: bytes, tail: bytes, data: bytes) -> None:
        self.head = head
        self.tail = tail
        self.data: bytes | None = data

    def write(self, cuts: list[int], parts: dict[str, bytes]) -> Any:
        """The rows between consecutive ``cuts`` as the sheets of a temporary workbook (stored, not
        compressed) with ``parts``, opened by calamine."""
        assert self.data is not None
        rows = memoryview(self.data)
        handle, name = tempfile.mkstemp(prefix="linli-roster-", suffix=".xlsx")  # readable by us only
        try:
            with os.fdopen(handle, "wb") as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
                for part, body in parts.items():
                    archive.writestr(part, body)
                for k in range(len(cuts) - 1):
                    body = b"".join((self.head, rows[cuts[k] : cuts[k + 1]], self.tail))
                    archive.writestr(f"xl/worksheets/linli_piece{k}.xml", body)
            return CalamineWorkbook.from_path(name)
        finally:
            os.unlink(name)  # calamine keeps the file open; the rows it holds (personal data) leave no file behind


class _Written:
    """The second workbook, written in a thread of its own from the start.

    Writing ~80 MB takes 0.15–0.2 s on a busy machine: written after the first workbook's pieces
    were parsed, checking ran out of rows and waited for it.
    """

    def __init__(self, sheet: _Sheet, cuts: list[int], parts: dict[str, bytes]) -> None:
        self.sheet = sheet
        self.cuts = cuts
        self._workbook: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, args=(parts,), daemon=True, name="roster-workbook")
        self._thread.start()

    def _write(self, parts: dict[str, bytes]) -> None:
        try:
            self._workbook = self.sheet.write(self.cuts, parts)
        except BaseException as exc:  # noqa: BLE001 - raised again by workbook()
            self._error = exc

    def workbook(self) -> Any:
        """The opened workbook, once written; the writing's error, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        workbook, self._workbook = self._workbook, None
        return workbook

    def close(self) -> None:
        """Close the workbook if nobody took it (the rows were no longer wanted)."""
        self._thread.join()
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None


def _produce(
    workbook: Any,
    rest: _Written | None,
    formulas: dict[int, set[int]],
    pieces: queue.Queue[Any],
    stop: threading.Event,
) -> None:
    """Parse the first workbook's pieces after the first; then take the second workbook, find its
    formulas and parse its pieces; queue each piece in turn (calamine lets go of the GIL while it parses)."""
    try:
        for number in range(1, len(workbook.sheet_names)):
            if stop.is_set():
                return
            _put(pieces, stop, _parsed(workbook, number))
        if rest is None or stop.is_set():
            return
        workbook.close()
        workbook = None
        workbook = rest.workbook()
        sheet, cuts = rest.sheet, rest.cuts
        assert sheet.data is not None
        formulas.update(scan_formulas(sheet.data, cuts[0], cuts[-1]))
        sheet.data = None  # the sheet's XML (~900 bytes a row) is no longer needed
        for number in range(len(cuts) - 1):
            if stop.is_set():
                return
            _put(pieces, stop, _parsed(workbook, number))
    except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
        _put(pieces, stop, exc)
    finally:
        _put(pieces, stop, _DONE)
        if workbook is not None:
            workbook.close()
        if rest is not None:
            rest.close()


def _parsed(workbook: Any, number: int) -> tuple[Any, list[list[Any]]]:
    sheet = workbook.get_sheet_by_index(number)
    # to_python starts at the piece's first cell; iter_rows would yield every row above it, empty.
    return sheet.start, sheet.to_python()
