"""The .xlsx files linli hands out: the template, the export, and the bad rows of an import.

All three share the layout of ``layout.COLUMNS`` and carry the same 说明 sheet, so that an export
can be edited and imported back unchanged. They are written with openpyxl; the export in
write-only mode, which streams rows to disk instead of building the sheet in memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from stdnum.cn import ric

from linli.rosters import layout
from linli.rosters.reader import RosterSheet

ROSTER_SHEET = "台账"
HELP_SHEET = "说明"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="FFF2CC")
REQUIRED_FILL = PatternFill("solid", fgColor="F8CBAD")
EXAMPLE_FONT = Font(color="808080", italic=True)


def _example_id_number() -> str:
    body = "11010519491231002"
    return body + ric.calc_check_digit(body + "0")


def example_row(user: Any = None) -> list[str]:
    """The template's example row, named in the user's own community and grid when they have them."""
    community = getattr(getattr(user, "community", None), "name", "") or "幸福社区"
    grid = getattr(getattr(user, "grid", None), "name", "") or "第一网格"
    values = {
        "community": community,
        "grid": grid,
        "compound": "阳光小区",
        "building": "1号楼",
        "unit": "1单元",
        "room": "101",
        "name": f"{layout.EXAMPLE_MARK}张三",
        "id_number": _example_id_number(),
        "phone": "13800138000",
        "relation": "户主",
        "residency": "常住",
        "health_code": "绿码",
        "vulnerable": "独居、慢性病",
        "helper_name": "李四",
        "helper_phone": "13900139000",
        "landlord_name": "",
        "landlord_phone": "",
        "note": _("示例行：姓名以【示例】开头的行导入时会跳过，可以删除"),
    }
    return [values[column.key] for column in layout.COLUMNS]


def _write_help(sheet: Worksheet) -> None:
    sheet.append([_("台账填写说明")])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in (
        _("1. 每行填写一个人；同一户的人填写相同的小区、楼栋、单元、房号。"),
        _("2. 已登记的人按身份证号更新，不会重复登记；没有身份证号的人按“同一户+姓名”更新。"),
        _("3. 台账中没有的小区、楼栋、单元、户会自动建立；社区和网格须已在系统中。"),
        _("4. 只要有一行错误，整个文件都不会导入（也可以选择“只导入正确的行”），并列出每一行错误的原因。"),
        _("5. 文件中没有的列不会改动已登记的内容；空白单元格表示该项为空。"),
        _("6. 身份证号、手机号请使用文本格式，避免 Excel 把它们变成科学计数法。"),
    ):
        sheet.append([line])
    sheet.append([])
    sheet.append([_("列名"), _("必填"), _("说明"), _("可填写的内容"), _("也能识别的列名")])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for column in layout.COLUMNS:
        sheet.append(
            [
                column.header,
                _("是") if column.required else "",
                str(column.help),
                "、".join(column.values),
                "、".join(column.synonyms),
            ]
        )
    for letter, width in zip("ABCDE", (14, 6, 50, 40, 40), strict=True):
        sheet.column_dimensions[letter].width = width


def _format_columns(sheet: Worksheet) -> None:
    for index, column in enumerate(layout.COLUMNS):
        dimension = sheet.column_dimensions[layout.column_letter(index)]
        dimension.width = column.width
        if column.text_format:
            dimension.number_format = "@"


def template_workbook(stream: IO[bytes], user: Any = None) -> None:
    """The import template: the header, one example row, and the 说明 sheet."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = ROSTER_SHEET
    sheet.append(layout.headers())
    for index, column in enumerate(layout.COLUMNS):
        cell = sheet.cell(row=1, column=index + 1)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    sheet.append(example_row(user))
    for cell in sheet[2]:
        cell.font = EXAMPLE_FONT
        cell.number_format = "@"
    _format_columns(sheet)
    sheet.freeze_panes = "A2"
    _write_help(workbook.create_sheet(HELP_SHEET))
    workbook.save(stream)


def export_workbook(stream: IO[bytes], rows: Iterable[list[Any]]) -> int:
    """Write the roster rows (in ``layout.COLUMNS`` order) streaming; the number of rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(ROSTER_SHEET)
    for index, column in enumerate(layout.COLUMNS):
        sheet.column_dimensions[layout.column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    header = []
    for title in layout.headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    help_workbook = Workbook()
    help_sheet = help_workbook.active
    assert help_sheet is not None
    _write_help(help_sheet)
    copy = workbook.create_sheet(HELP_SHEET)
    for values in help_sheet.iter_rows(values_only=True):
        copy.append(list(values))
    workbook.save(stream)
    return count


def bad_rows_workbook(stream: IO[bytes], path: str, errors: list[dict[str, Any]]) -> int:
    """The rows of an import's file that had errors, as they were, with the reasons in a last column."""
    reasons: dict[int, list[str]] = {}
    for error in errors:
        column = f"{error['column']}：" if error.get("column") else ""
        reasons.setdefault(error["row"], []).append(f"{column}{error['reason']}")
    source = RosterSheet(path)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("错误行"))
    width = max(source.header.columns.values()) + 1
    header: list[Any] = [""] * width
    for key, index in source.header.columns.items():
        header[index] = source.header.labels[key]
    sheet.append([_("原行号"), *header, _("错误原因")])
    count = 0
    for number, cells in source.rows():
        if number not in reasons:
            continue
        values = [_plain(value) for value in cells[:width]]
        values += [""] * (width - len(values))
        sheet.append([number, *values, "；".join(reasons[number])])
        count += 1
    workbook.save(stream)
    return count


def _plain(value: Any) -> Any:
    """Cell values as openpyxl writes them back; long texts cut to Excel's limit."""
    if isinstance(value, str):
        return value[:32767]
    if isinstance(value, (datetime.time, datetime.timedelta)):
        return str(value)
    return value
