"""Checking roster rows: every cell of every row, and the row's place inside the importer's scope.

Nothing here writes. A good row becomes a tuple for the staging table (see ``staging.py``); a bad
row becomes one error per bad cell, in Chinese, with ID numbers and phones masked. Places that do
not exist yet (compounds, buildings, units) get negative reference numbers here and are created
only when the import is written.
"""

from __future__ import annotations

import datetime
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from stdnum.cn import ric

from linli.lib import scope
from linli.lib.idnumbers import (
    id_number_error,
    mask_id_number,
    mask_phone,
    normalise_id_number,
    normalise_phone,
    phone_error,
)
from linli.lib.wording import listed
from linli.registry.models import Building, Community, Compound, Grid, Unit
from linli.rosters import layout
from linli.rosters.reader import Header

MASKED_COLUMNS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "helper_phone": mask_phone,
    "landlord_phone": mask_phone,
}
SHOWN_VALUE_LENGTH = 30
# The place levels a row names, top down.
PLACE_LEVELS = ("community", "grid", "compound", "building", "unit")
# Stands in for a cell already reported (too long, a formula without a value): neither empty, which
# would report it a second time as missing, nor a value any check accepts.
REPORTED = "\0"


class PlaceError(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass
class Planned:
    """A compound, building or unit a row names that does not exist yet."""

    level: str
    name: str
    parent: int  # compound: the grid id; building: the compound ref; unit: the building ref
    community_id: int


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def cell_text(value: Any) -> str:
    """A cell as text the way the user typed it: 101 not 101.0, dates as 2022-04-01."""
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (int, datetime.date, datetime.time, datetime.timedelta)):
        return str(value)
    return str(value or "").strip()


def shown_value(key: str, text: str) -> str:
    """A cell's value as the error report may show it: masked and short."""
    mask = MASKED_COLUMNS.get(key)
    if mask is not None and len(text) <= 40:
        text = mask(text)
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[:SHOWN_VALUE_LENGTH] + "…"


class Places:
    """Resolves a row's 社区/网格/小区/楼栋/单元 to a unit inside the importer's scope.

    Levels at and above the importer's own node are fixed: the cell may be left empty and, when
    filled, must name that node. Levels below are looked up by name under their parent; compounds,
    buildings and units that are missing are planned (negative refs) and created on write. Grids and
    communities are never created by an import.

    The nodes of the scope are loaded once, up front: checking then never touches the database,
    which lets the writer use the connection meanwhile (see ``writer.py``).
    """

    def __init__(self, user: Any) -> None:
        self.unrestricted = user is None or scope.is_unrestricted(user)
        self.level = None if self.unrestricted else scope.user_level(user)
        depth = -1 if self.level is None else scope.LEVELS.index(self.level)
        self.fixed: dict[str, tuple[int, str]] = {}
        for level in PLACE_LEVELS:
            if 0 < scope.LEVELS.index(level) <= depth:
                node = getattr(user, level)
                self.fixed[level] = (node.pk, norm(node.name))
        self.planned: dict[int, Planned] = {}
        self._next_ref = -1
        self._cache: dict[tuple[str, ...], int | PlaceError] = {}
        self._load(user)

    def _load(self, user: Any) -> None:
        def within(model: Any) -> dict[str, Any]:
            if self.unrestricted:
                return {}
            return {model.SCOPE_LOOKUPS[self.level]: getattr(user, f"{self.level}_id")}

        self._communities: dict[str, list[int]] = {}
        if "community" not in self.fixed:
            street = {"street_id": user.street_id} if not self.unrestricted else {}
            for name, pk in Community.objects.filter(**street).values_list("name", "pk"):
                self._communities.setdefault(norm(name), []).append(pk)
        # Grids and compounds of the whole community: a grid worker is told that a compound of
        # another grid is outside their scope rather than getting a second one of the same name.
        community = {"community_id": user.community_id} if "community" in self.fixed else within(Grid)
        self._grids: dict[int, dict[str, list[int]]] = {}
        for name, pk, community_id in Grid.objects.filter(**community).values_list("name", "pk", "community_id"):
            self._grids.setdefault(community_id, {}).setdefault(norm(name), []).append(pk)
        self._compounds: dict[int, dict[str, list[tuple[int, int]]]] = {}
        rows = Compound.objects.filter(**community).values_list("name", "pk", "grid_id", "community_id")
        for name, pk, grid_id, community_id in rows:
            self._compounds.setdefault(community_id, {}).setdefault(norm(name), []).append((pk, grid_id))
        self._children: dict[tuple[str, int], dict[str, int]] = {}
        for name, pk, parent in Building.objects.filter(**within(Building)).values_list("name", "pk", "compound_id"):
            self._children.setdefault(("building", parent), {}).setdefault(norm(name), pk)
        for name, pk, parent in Unit.objects.filter(**within(Unit)).values_list("name", "pk", "building_id"):
            self._children.setdefault(("unit", parent), {}).setdefault(norm(name), pk)

    def required(self) -> set[str]:
        """The place columns a file must have for this importer."""
        needed = {"compound", "building", "unit", "room"} - set(self.fixed)
        if "community" not in self.fixed:
            needed.add("community")
        return needed

    def resolve(self, community: str, grid: str, compound: str, building: str, unit: str) -> int:
        key = (community, grid, compound, building, unit)
        found = self._cache.get(key)
        if found is None:
            try:
                found = self._resolve(*key)
            except PlaceError as exc:
                found = exc
            self._cache[key] = found
        if isinstance(found, PlaceError):
            raise found
        return found

    def _plan(self, level: str, name: str, parent: int, community_id: int) -> int:
        ref = self._next_ref
        self._next_ref -= 1
        self.planned[ref] = Planned(level, name, parent, community_id)
        return ref

    def _check_fixed(self, level: str, text: str, label: str) -> int:
        node_id, name = self.fixed[level]
        if text and norm(text) != name:
            raise PlaceError(level, _("%(label)s“%(name)s”不在您的管辖范围内") % {"label": label, "name": text})
        return node_id

    def _resolve(self, community: str, grid: str, compound: str, building: str, unit: str) -> int:
        community_id = self._community(community)
        grid_id = self._grid(community_id, grid)
        compound_ref = self._compound(community_id, grid_id, compound, bool(grid))
        building_ref = self._child("building", compound_ref, building, community_id)
        return self._child("unit", building_ref, unit, community_id)

    def _community(self, text: str) -> int:
        if "community" in self.fixed:
            return self._check_fixed("community", text, _("社区"))
        if not text:
            raise PlaceError("community", _("请填写社区"))
        found = self._communities.get(norm(text), [])
        if not found:
            if self.unrestricted:
                raise PlaceError("community", _("社区“%(name)s”不存在") % {"name": text})
            raise PlaceError("community", _("社区“%(name)s”不在您的管辖范围内") % {"name": text})
        if len(found) > 1:
            raise PlaceError("community", _("有多个名为“%(name)s”的社区，无法确定") % {"name": text})
        return found[0]

    def _grid(self, community_id: int, text: str) -> int | None:
        if "grid" in self.fixed:
            return self._check_fixed("grid", text, _("网格"))
        if not text:
            return None
        found = self._grids.get(community_id, {}).get(norm(text), [])
        if not found:
            raise PlaceError("grid", _("网格“%(name)s”不存在，请先在台账中建立该网格") % {"name": text})
        if len(found) > 1:
            raise PlaceError("grid", _("有多个名为“%(name)s”的网格，无法确定") % {"name": text})
        return found[0]

    def _compound(self, community_id: int, grid_id: int | None, text: str, grid_named: bool) -> int:
        if "compound" in self.fixed:
            return self._check_fixed("compound", text, _("小区"))
        name = norm(text)
        candidates = self._compounds.setdefault(community_id, {}).setdefault(name, [])
        if grid_id is not None:
            in_grid = [ref for ref, grid in candidates if grid == grid_id]
            if len(in_grid) == 1:
                return in_grid[0]
            if len(in_grid) > 1:
                raise PlaceError("compound", _("网格内有多个名为“%(name)s”的小区，无法确定") % {"name": text})
            if candidates:
                if grid_named and "grid" not in self.fixed:
                    raise PlaceError("compound", _("小区“%(name)s”不在所填的网格中") % {"name": text})
                raise PlaceError("compound", _("小区“%(name)s”不在您的管辖范围内") % {"name": text})
        else:
            if len(candidates) == 1:
                return candidates[0][0]
            if len(candidates) > 1:
                raise PlaceError("compound", _("有多个名为“%(name)s”的小区，请填写网格") % {"name": text})
            grids = [pk for pks in self._grids.get(community_id, {}).values() for pk in pks]
            if len(grids) != 1:
                raise PlaceError("grid", _("新小区“%(name)s”须填写所属网格") % {"name": text})
            grid_id = grids[0]
        ref = self._plan("compound", name, grid_id, community_id)
        candidates.append((ref, grid_id))
        return ref

    def _child(self, level: str, parent: int, text: str, community_id: int) -> int:
        """A building of a compound or a unit of a building, planned when missing."""
        if level in self.fixed:
            return self._check_fixed(level, text, _("楼栋") if level == "building" else _("单元"))
        children = self._children.setdefault((level, parent), {})
        name = norm(text)
        ref = children.get(name)
        if ref is None:
            ref = children[name] = self._plan(level, name, parent, community_id)
        return ref


class RowChecker:
    """Checks rows one by one and remembers what later rows are checked against.

    ``check`` returns the staged person tuple of a good row (see ``staging.PERSON_COLUMNS``), None
    for a row to skip (empty, or the template's example), or a list of errors. It runs once per row
    of files of 100,000 rows, so the common case (plain ASCII numbers, known labels) takes the
    short paths.
    """

    def __init__(self, *, header: Header, places: Places, formulas: dict[int, set[int]]) -> None:
        self.header = header
        self.places = places
        self.formulas = formulas
        self.index = header.columns
        self.plan = [
            (key, index, layout.COLUMN_BY_KEY[key].max_length)
            for key, index in header.columns.items()
            if not key.startswith("flag:")
        ]
        self.flag_columns = [(key[5:], index) for key, index in header.columns.items() if key.startswith("flag:")]
        # The same columns for the common row (no formula, nothing too long), taken and measured in C.
        self._keys = tuple(key for key, _index, _limit in self.plan)
        self._limits = tuple(limit for _key, _index, limit in self.plan)
        indexes = [index for _key, index, _limit in self.plan]
        self._width = max(indexes, default=-1) + 1
        self._take: Callable[[list[Any]], Iterable[Any]] = (
            operator.itemgetter(*indexes) if len(indexes) > 1 else lambda cells: [cells[i] for i in indexes]
        )
        self.required_places = [
            key for key in ("compound", "building", "unit", "room") if key in self.index and key not in places.fixed
        ]
        self.seen_ids: dict[str, int] = {}
        self.seen_names: dict[tuple[int, str, str], tuple[int, bool]] = {}
        # Households the good rows live in: (unit ref, room) -> [ref, unit ref, room, landlord name,
        # landlord phone]; the same lists by ref - 1 in ``by_ref``.
        self.households: dict[tuple[int, str], list[Any]] = {}
        self.by_ref: list[list[Any]] = []
        self.skipped_examples = 0
        # The short path (``_quick``) reads every roster column by position, an absent one as "" (the
        # empty cell appended to each row); it does not know the yes/no flag columns.
        self._quick_enabled = not self.flag_columns
        self._quick_take = operator.itemgetter(*(self.index.get(key, -1) for key in _QUICK_KEYS))
        # A file with every roster column (the template, an export): the cells are taken as they are.
        self._quick_direct = self._quick_take if all(key in self.index for key in _QUICK_KEYS) else None
        self._quick_limits = tuple(layout.COLUMN_BY_KEY[key].max_length for key in _QUICK_KEYS)
        self._quick_required = tuple(_QUICK_KEYS.index(key) for key in self.required_places)
        # 重点人群 cells seen before: the flags of those that list only known words.
        self._quick_flags: dict[str, list[bool]] = {}
        # The first 14 characters of ID numbers ``id_number_error`` passed: their birth dates.
        self._quick_births: dict[str, datetime.date] = {}

    def household_rows(self, refs: Iterable[int]) -> list[tuple[int, int, str, str, str]]:
        """The households with these refs, as the writer takes them."""
        return [tuple(self.by_ref[ref - 1]) for ref in refs]  # type: ignore[misc]

    def missing_columns(self) -> list[str]:
        needed = self.places.required() | {"name"}
        keys = (*layout.PLACE_KEYS, "name")
        return [layout.COLUMN_BY_KEY[key].header for key in keys if key in needed and key not in self.index]

    def _error(self, errors: list[dict[str, Any]], number: int, key: str, text: str, reason: str) -> None:
        label = self.header.labels.get(key) or layout.COLUMN_BY_KEY[key].header
        cell = self.header.cell(key, number) if key in self.index else ""
        errors.append({"row": number, "column": label, "cell": cell, "value": shown_value(key, text), "reason": reason})

    def check(self, number: int, cells: list[Any]) -> tuple[Any, ...] | list[dict[str, Any]] | None:
        if self._quick_enabled and not (self.formulas and self.formulas.get(number)):
            try:
                if len(cells) >= self._width:
                    direct = self._quick_direct
                    values = list(map(str.strip, direct(cells) if direct else self._quick_take([*cells, ""])))
                else:
                    values = list(map(str.strip, self._quick_take([*cells, *[""] * (self._width - len(cells) + 1)])))
            except TypeError:  # a cell that is not text (a number, a date): the full path turns it into text
                pass
            else:
                if not any(map(operator.gt, map(len, values), self._quick_limits)) and REPORTED not in values:
                    found = self._quick(number, values)
                    if found is not None:
                        return found
        return self._check_full(number, cells)

    def _quick(self, number: int, values: list[str]) -> tuple[Any, ...] | None:
        """The staged tuple of a row whose every cell is plainly right, or None for ``_check_full`` to decide.

        It accepts only what the full path accepts unchanged (an 18-character ASCII ID number that
        ``id_number_error`` passes, 11-digit phones, choice labels as written, known 重点人群 words),
        gives the same tuple, and remembers nothing until the row is known good: a row it declines is
        checked from scratch, with every error reported.
        """
        (
            community,
            grid,
            compound,
            building,
            unit,
            room,
            name,
            id_number,
            phone,
            relation,
            residency,
            health_code,
            vulnerable,
            helper_name,
            helper_phone,
            landlord_name,
            landlord_phone,
            note,
        ) = values
        if not name or name.startswith(layout.EXAMPLE_MARK):
            return None
        for index in self._quick_required:
            if not values[index]:
                return None
        person_id: str | None = None
        birth_date = None
        gender = ""
        id_tail = ""
        if id_number:
            if len(id_number) != 18 or not id_number.isascii() or not id_number.isalnum():
                return None
            person_id = id_number.upper()
            if person_id in self.seen_ids:
                return None
            # The birth date and the area code (the first 14 characters) are shared by many people:
            # once ``id_number_error`` has passed them, only the digits and the check digit are left.
            birth_date = self._quick_births.get(person_id[:14])
            if birth_date is None or not person_id[:17].isdigit() or person_id[17] != ric.calc_check_digit(person_id):
                if id_number_error(person_id) is not None:
                    return None
                birth_date = self._quick_births[person_id[:14]] = datetime.date(
                    int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14])
                )
            gender = "M" if person_id[16] in "13579" else "F"
            id_tail = person_id[-4:]
        if (
            (phone and not _QUICK_PHONE(phone))
            or (helper_phone and not _QUICK_PHONE(helper_phone))
            or (landlord_phone and not _QUICK_PHONE(landlord_phone))
        ):
            return None
        relation_value = _RELATIONS.get(relation) if relation else _DEFAULT_RELATION
        residency_value = _RESIDENCIES.get(residency) if residency else _DEFAULT_RESIDENCY
        health_code_value = _HEALTH_CODES.get(health_code) if health_code else _DEFAULT_HEALTH_CODE
        if relation_value is None or residency_value is None or health_code_value is None:
            return None
        if vulnerable:
            flags = self._quick_flags.get(vulnerable)
            if flags is None:
                chosen, unknown = layout.parse_vulnerable(vulnerable)
                if unknown:
                    return None
                flags = self._quick_flags[vulnerable] = (
                    [field in chosen for field in layout.VULNERABLE_FIELDS] if chosen else NO_FLAGS
                )
        else:
            flags = NO_FLAGS
        places = self.places
        key = (community, grid, compound, building, unit)
        unit_ref = places._cache.get(key)
        if unit_ref is None:
            try:
                unit_ref = places.resolve(*key)
            except PlaceError:
                return None
        elif not isinstance(unit_ref, int):  # a PlaceError: the full path reports it
            return None
        same_name = (unit_ref, room, name)
        first = self.seen_names.setdefault(same_name, (number, person_id is not None))
        if first[0] != number:
            return None
        # The row is good: remember it as the full path would.
        if person_id is not None:
            self.seen_ids[person_id] = number
        household = self.households.get((unit_ref, room))
        if household is None:
            household = self.households[(unit_ref, room)] = [len(self.by_ref) + 1, unit_ref, room, "", ""]
            self.by_ref.append(household)
        if landlord_name and not household[3]:
            household[3] = landlord_name
        if landlord_phone and not household[4]:
            household[4] = landlord_phone
        return (
            number,
            household[0],
            name,
            person_id,
            id_tail,
            phone,
            phone[-4:],
            gender,
            birth_date,
            relation_value,
            residency_value,
            health_code_value,
            *flags,
            helper_name,
            helper_phone,
            note,
        )

    def _check_full(self, number: int, cells: list[Any]) -> tuple[Any, ...] | list[dict[str, Any]] | None:
        if not any(cells):
            return None
        size = len(cells)
        errors: list[dict[str, Any]] = []
        formula_columns = self.formulas.get(number) if self.formulas else None
        if not formula_columns:
            padded = cells if size >= self._width else [*cells, *[""] * (self._width - size)]
            values = [value.strip() if value.__class__ is str else cell_text(value) for value in self._take(padded)]
            if not any(map(operator.gt, map(len, values), self._limits)):
                text = dict(zip(self._keys, values, strict=True))
                return self._check_text(number, cells, text, errors, REPORTED in values)
        text = {}
        for key, index, limit in self.plan:
            value = cells[index] if index < size else ""
            value = value.strip() if value.__class__ is str else cell_text(value)
            if not value:
                if formula_columns and self.header.col_offset + index in formula_columns:
                    self._error(errors, number, key, value, _("公式单元格没有计算结果，请复制后“粘贴为数值”"))
                    text[key] = REPORTED
                    continue
            elif len(value) > limit:
                self._error(errors, number, key, value, _("内容过长（最多%(n)d个字）") % {"n": limit})
                value = REPORTED
            text[key] = value
        return self._check_text(number, cells, text, errors, True)

    def _check_text(
        self, number: int, cells: list[Any], text: dict[str, str], errors: list[dict[str, Any]], reported: bool
    ) -> tuple[Any, ...] | list[dict[str, Any]] | None:
        """The rest of ``check``, on the row's stripped cells; ``reported``: some cell may be REPORTED."""
        if not any(text.values()):
            return None
        get = text.get
        name = get("name", "")
        if name.startswith(layout.EXAMPLE_MARK):
            self.skipped_examples += 1
            return None
        if not name:
            self._error(errors, number, "name", "", _("请填写姓名"))

        id_number, birth_date, gender = self._id_number(number, cells, get("id_number", ""), errors)
        phone = self._phone(number, "phone", get("phone", ""), errors)
        helper_phone = self._phone(number, "helper_phone", get("helper_phone", ""), errors)
        landlord_phone = self._phone(number, "landlord_phone", get("landlord_phone", ""), errors)
        relation = self._choice(number, "relation", get("relation", ""), errors)
        residency = self._choice(number, "residency", get("residency", ""), errors)
        health_code = self._choice(number, "health_code", get("health_code", ""), errors)
        flags = self._flags(number, cells, get("vulnerable", ""), errors)

        unit_ref = 0
        room = get("room", "")
        missing = False
        for key in self.required_places:
            if not text[key]:
                self._error(
                    errors, number, key, "", _("请填写%(column)s") % {"column": layout.COLUMN_BY_KEY[key].header}
                )
                missing = True
        if not missing and not (reported and REPORTED in (room, *(get(key, "") for key in PLACE_LEVELS))):
            try:
                unit_ref = self.places.resolve(
                    get("community", ""), get("grid", ""), get("compound", ""), get("building", ""), get("unit", "")
                )
            except PlaceError as exc:
                self._error(errors, number, exc.key, get(exc.key, ""), exc.reason)
        if unit_ref and name and name != REPORTED:
            self._check_same_name(number, unit_ref, room, name, id_number is not None, errors)
        if errors:
            return errors

        household = self.households.get((unit_ref, room))
        if household is None:
            household = self.households[(unit_ref, room)] = [len(self.by_ref) + 1, unit_ref, room, "", ""]
            self.by_ref.append(household)
        landlord_name = get("landlord_name", "")
        if landlord_name and not household[3]:
            household[3] = landlord_name
        if landlord_phone and not household[4]:
            household[4] = landlord_phone
        return (
            number,
            household[0],
            name,
            id_number,
            id_number[-4:] if id_number else "",
            phone,
            phone[-4:],
            gender,
            birth_date,
            relation,
            residency,
            health_code,
            *flags,
            get("helper_name", ""),
            helper_phone,
            get("note", ""),
        )

    def _id_number(
        self, number: int, cells: list[Any], raw: str, errors: list[dict[str, Any]]
    ) -> tuple[str | None, datetime.date | None, str]:
        if not raw or raw == REPORTED:
            return None, None, ""
        # Most numbers arrive as 18 plain ASCII characters: nothing to normalise but the x.
        value = raw.upper() if len(raw) == 18 and raw.isascii() and raw.isalnum() else normalise_id_number(raw)
        problem = id_number_error(value)
        if problem:
            cell = cells[self.index["id_number"]]
            if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                problem = _("%(problem)s：Excel 把身份证号存成了数字，末几位可能已丢失，请把该列设为文本后重新填写") % {
                    "problem": problem
                }
            self._error(errors, number, "id_number", raw, problem)
            return None, None, ""
        first = self.seen_ids.setdefault(value, number)
        if first != number:
            self._error(errors, number, "id_number", raw, _("与第%(row)d行的身份证号重复") % {"row": first})
        birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        return value, birth, "M" if int(value[16]) % 2 else "F"

    def _phone(self, number: int, key: str, raw: str, errors: list[dict[str, Any]]) -> str:
        if not raw or raw == REPORTED:
            return ""
        if len(raw) == 11 and raw.isascii() and raw.isdigit() and raw[0] == "1" and raw[1] in "3456789":
            return raw
        value = normalise_phone(raw)
        problem = phone_error(value)
        if problem:
            self._error(errors, number, key, raw, problem)
            return ""
        return value

    def _choice(self, number: int, key: str, raw: str, errors: list[dict[str, Any]]) -> str:
        if not raw or raw == REPORTED:
            return layout.CHOICE_DEFAULTS[key]
        values = layout.CHOICE_VALUES[key]
        value = values.get(raw) or values.get(layout.normalise_value(raw))
        if value is None:
            allowed = listed(layout.CHOICE_LABELS[key].values())
            reason = _("无法识别“%(value)s”，可填：%(allowed)s") % {"value": raw, "allowed": allowed}
            self._error(errors, number, key, raw, reason)
            return layout.CHOICE_DEFAULTS[key]
        return value

    def _flags(self, number: int, cells: list[Any], raw: str, errors: list[dict[str, Any]]) -> list[bool]:
        chosen: set[str] = set()
        if raw and raw != REPORTED:
            chosen, unknown = layout.parse_vulnerable(raw)
            if unknown:
                allowed = listed(layout.VULNERABLE_LABELS.values())
                reason = _("无法识别“%(words)s”，可填：%(allowed)s") % {"words": listed(unknown), "allowed": allowed}
                self._error(errors, number, "vulnerable", raw, reason)
        for field, index in self.flag_columns:
            value = cell_text(cells[index] if index < len(cells) else "")
            answer = layout.parse_yes_no(value[: layout.FLAG_MAX_LENGTH + 1])
            if answer is None:
                errors.append(
                    {
                        "row": number,
                        "column": self.header.labels[f"flag:{field}"],
                        "cell": self.header.cell(f"flag:{field}", number),
                        "value": shown_value("", value),
                        "reason": _("请填“是”或“否”"),
                    }
                )
            elif answer:
                chosen.add(field)
        if not chosen:
            return NO_FLAGS
        return [field in chosen for field in layout.VULNERABLE_FIELDS]

    def _check_same_name(
        self, number: int, unit_ref: int, room: str, name: str, has_id: bool, errors: list[dict[str, Any]]
    ) -> None:
        """People without an ID number are matched by household and name, so those must be unique."""
        first = self.seen_names.setdefault((unit_ref, room, name), (number, has_id))
        if first[0] != number and not (has_id and first[1]):
            reason = _("同一户中已有同名的人（第%(row)d行），没有身份证号时无法区分") % {"row": first[0]}
            self._error(errors, number, "name", name, reason)


NO_FLAGS = [False] * len(layout.VULNERABLE_FIELDS)
# The roster columns in the order ``RowChecker._quick`` unpacks them.
_QUICK_KEYS = (
    "community",
    "grid",
    "compound",
    "building",
    "unit",
    "room",
    "name",
    "id_number",
    "phone",
    "relation",
    "residency",
    "health_code",
    "vulnerable",
    "helper_name",
    "helper_phone",
    "landlord_name",
    "landlord_phone",
    "note",
)
assert set(_QUICK_KEYS) == set(layout.COLUMN_BY_KEY), "RowChecker._quick must read every roster column"
# A phone the full path takes as it is (ASCII digits only: \d would let other scripts' digits through).
_QUICK_PHONE = re.compile(r"1[3-9][0-9]{9}").fullmatch
_RELATIONS = layout.CHOICE_VALUES["relation"]
_RESIDENCIES = layout.CHOICE_VALUES["residency"]
_HEALTH_CODES = layout.CHOICE_VALUES["health_code"]
_DEFAULT_RELATION = layout.CHOICE_DEFAULTS["relation"]
_DEFAULT_RESIDENCY = layout.CHOICE_DEFAULTS["residency"]
_DEFAULT_HEALTH_CODE = layout.CHOICE_DEFAULTS["health_code"]
