"""Ninja's refusals of malformed input, said in the caller's language (pydantic's own words are English).

A 422 keeps each error as pydantic reports it (``type``, ``loc``, ``ctx``), so a client can still tell
which field is wrong and why, but its ``msg`` is ours, chosen by the error's ``type``; ``detail`` names each
field as a user reads it (体温：应为数字). A body that is not JSON at all is 400 in the same shape.
"""

import re
from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy
from ninja.parser import Parser

from linli.lib.wording import listed, sentences

# Where ninja found the value: the first element of every ``loc``. A body's second element is the name of the
# view's schema argument (``payload``), which the client never wrote.
SOURCES = {"path", "query", "header", "cookie", "body", "form", "file"}
DETAIL_ERRORS = 3  # errors spelled out in ``detail``; a list of fifty bad scans is summed up after these

_NUMBER = gettext_lazy("应为数字")
_WHOLE_NUMBER = gettext_lazy("应为整数")
_DATE = gettext_lazy("应为日期，如 2022-04-01")
_DATETIME = gettext_lazy("应为日期和时间，如 2022-04-01T08:30:00+08:00")
_TIME = gettext_lazy("应为时间，如 08:30")
_LIST = gettext_lazy("应为列表")
_OBJECT = gettext_lazy("应为 JSON 对象")
_JSON = gettext_lazy("不是有效的 JSON")

# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/) that our schemas can
# raise; the placeholders are the error's ``ctx``. Any other type reads as UNKNOWN.
MESSAGES: dict[str, Promise] = {
    "missing": gettext_lazy("必填"),
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_parsing_size": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "finite_number": _NUMBER,
    "decimal_max_digits": ngettext_lazy("最多 %(max_digits)s 位数字", "最多 %(max_digits)s 位数字", "max_digits"),
    "decimal_max_places": ngettext_lazy(
        "小数点后最多 %(decimal_places)s 位", "小数点后最多 %(decimal_places)s 位", "decimal_places"
    ),
    "decimal_whole_digits": ngettext_lazy(
        "小数点前最多 %(whole_digits)s 位", "小数点前最多 %(whole_digits)s 位", "whole_digits"
    ),
    "greater_than": gettext_lazy("应大于 %(gt)s"),
    "greater_than_equal": gettext_lazy("不能小于 %(ge)s"),
    "less_than": gettext_lazy("应小于 %(lt)s"),
    "less_than_equal": gettext_lazy("不能大于 %(le)s"),
    "multiple_of": gettext_lazy("应为 %(multiple_of)s 的整数倍"),
    "bool_type": gettext_lazy("应为 true 或 false"),
    "bool_parsing": gettext_lazy("应为 true 或 false"),
    "string_type": gettext_lazy("应为文字"),
    "string_too_short": ngettext_lazy("至少 %(min_length)s 个字", "至少 %(min_length)s 个字", "min_length"),
    "string_too_long": ngettext_lazy("最多 %(max_length)s 个字", "最多 %(max_length)s 个字", "max_length"),
    "string_pattern_mismatch": gettext_lazy("格式不正确"),
    "too_short": ngettext_lazy("至少 %(min_length)s 项", "至少 %(min_length)s 项", "min_length"),
    "too_long": ngettext_lazy("最多 %(max_length)s 项", "最多 %(max_length)s 项", "max_length"),
    "literal_error": gettext_lazy("无效的选项，可选：%(allowed)s"),
    "enum": gettext_lazy("无效的选项，可选：%(allowed)s"),
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "timezone_aware": gettext_lazy("须带时区，如 2022-04-01T08:30:00+08:00"),
    "time_type": _TIME,
    "time_parsing": _TIME,
    "uuid_type": gettext_lazy("应为 UUID"),
    "uuid_parsing": gettext_lazy("应为 UUID"),
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "json_invalid": _JSON,
    "json_type": _JSON,
    "extra_forbidden": gettext_lazy("不接受此项"),
    # ours (JSONParser): past what a database integer holds; a NUL character, which no text column takes
    "number_too_large": gettext_lazy("数值过大"),
    "string_nul": gettext_lazy("不能包含空字符"),
}
UNKNOWN = gettext_lazy("无效的值")

# The fields a user meets (the rush paths' first), by the name the JSON or the query string gives them;
# ``household_id`` reads as ``household``. Any other field is named as the client wrote it.
LABELS: dict[str, Promise] = {
    "": gettext_lazy("请求内容"),
    "window": gettext_lazy("订购窗口"),
    "household": gettext_lazy("住户"),
    "host_household": gettext_lazy("住户"),
    "lines": gettext_lazy("订购明细"),
    "offer": gettext_lazy("上架商品"),
    "quantity": gettext_lazy("数量"),
    "payment_mode": gettext_lazy("付款方式"),
    "note": gettext_lazy("备注"),
    "checkpoint": gettext_lazy("卡口"),
    "credential": gettext_lazy("通行证"),
    "direction": gettext_lazy("方向"),
    "device_time": gettext_lazy("扫码时间"),
    "temperature": gettext_lazy("体温"),
    "mask": gettext_lazy("口罩"),
    "health_code": gettext_lazy("健康码"),
    "person": gettext_lazy("人员"),
    "name": gettext_lazy("名称"),
    "phone": gettext_lazy("手机号"),
    "id_number": gettext_lazy("身份证号"),
    "plate": gettext_lazy("车牌号"),
    "outings_per_period": gettext_lazy("每周期外出次数"),
    "period_days": gettext_lazy("周期天数"),
    "max_hours_out": gettext_lazy("每次外出最长小时数"),
    "reason": gettext_lazy("原因"),
    "date": gettext_lazy("日期"),
    "days": gettext_lazy("天数"),
    "starts_on": gettext_lazy("开始日期"),
    "ends_on": gettext_lazy("结束日期"),
    "status": gettext_lazy("状态"),
    "kind": gettext_lazy("类型"),
    "category": gettext_lazy("类别"),
    "result": gettext_lazy("结果"),
    "street": gettext_lazy("街道"),
    "community": gettext_lazy("社区"),
    "compound": gettext_lazy("小区"),
    "building": gettext_lazy("楼栋"),
    "unit": gettext_lazy("单元"),
    "room": gettext_lazy("房号"),
    "address": gettext_lazy("地址"),
    "supplier": gettext_lazy("商超"),
    "item": gettext_lazy("商品"),
    "order": gettext_lazy("订单"),
    "price": gettext_lazy("价格"),
    "amount": gettext_lazy("金额"),
    "contactless": gettext_lazy("无接触"),
    "file": gettext_lazy("文件"),
    "page": gettext_lazy("页码"),
    "page_size": gettext_lazy("每页条数"),
}


class UnreadableBody(ValueError):
    """A request body that is not JSON (or not UTF-8, or nested too deep)."""


class NumberTooLarge(ValueError):
    """A JSON body with a number no column holds (past a signed 64-bit integer) or a NUL in a text:
    ``errors`` says where."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("number too large")
        self.errors = errors


# The largest number a body may carry: a database integer (an id, a count) holds no more, and a larger one
# reached SQLite as an OverflowError (a 500) instead of "no such record".
MAX_NUMBER = 2**63 - 1


def unstorable(data: Any) -> bool:
    """Whether a parsed JSON body holds what ``too_large`` reports: the quick test (a few µs for a scan's
    or an order's body) that the hot routes make on every request."""
    kind = type(data)
    if kind is str:
        return "\x00" in data
    if kind is int or kind is float:
        return abs(data) > MAX_NUMBER
    if kind is dict:
        return any("\x00" in key or unstorable(value) for key, value in data.items())
    if kind is list:
        return any(unstorable(value) for value in data)
    return False


def too_large(data: Any, path: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Where a parsed JSON body holds a number past MAX_NUMBER, or a text with a NUL character (PostgreSQL
    refuses it in any text column, a lookup too: a 500), as pydantic-shaped errors."""
    if isinstance(data, str):
        if "\x00" in data:
            return [{"type": "string_nul", "loc": ["body", "payload", *path]}]
        return []
    if isinstance(data, bool):
        return []
    if isinstance(data, int | float):
        if abs(data) > MAX_NUMBER:
            return [{"type": "number_too_large", "loc": ["body", "payload", *path], "ctx": {"le": MAX_NUMBER}}]
        return []
    if isinstance(data, dict):
        return [
            error for key, value in data.items() for error in [*too_large(key, path), *too_large(value, (*path, key))]
        ]
    if isinstance(data, list):
        return [error for index, value in enumerate(data) for error in too_large(value, (*path, index))]
    return []


class JSONParser(Parser):
    """Ninja's parser, whose failure the API can tell from other 400s (ninja wraps it in an English HttpError)."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = super().parse_body(request)
        except (ValueError, RecursionError) as exc:
            raise UnreadableBody from exc
        if unstorable(data):
            raise NumberTooLarge(too_large(data))
        return data


def field_label(loc: Sequence[Any]) -> str:
    """The field as a user reads it: 体温, or 数量（第 2 项） for the second order line's quantity."""
    path = list(loc[1:] if loc and loc[0] in SOURCES else loc)
    if loc and loc[0] == "body" and path:
        path = path[1:]  # the view's argument
    names = [part for part in path if isinstance(part, str)]
    name = names[-1] if names else ""
    label = LABELS.get(name) or LABELS.get(name.removesuffix("_id")) or LABELS.get(name.removesuffix("_ids")) or name
    indices = [part for part in path if isinstance(part, int)]
    if indices:
        return _("%(field)s（第 %(number)s 项）") % {"field": label, "number": indices[-1] + 1}
    return str(label)


def error_message(error: dict[str, Any]) -> str:
    """One pydantic error in the caller's language, from its ``type`` and ``ctx``."""
    ctx = dict(error.get("ctx") or {})
    if error.get("type") in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"])  # a validator's own words (ours are translated when raised)
    if "expected" in ctx:
        # pydantic writes the choices as "'prepaid', 'on_delivery' or 'credit'"
        choices = (choice.strip("'\"") for choice in re.split(r", | or ", str(ctx["expected"])))
        ctx["allowed"] = listed(choices)
    message = MESSAGES.get(str(error.get("type")), UNKNOWN)
    # numbers stay numbers: the plural messages pick their English form by them
    params = {key: value if isinstance(value, int) else str(value) for key, value in ctx.items()}
    try:
        return str(message % params)
    except (KeyError, TypeError, ValueError):  # a ctx without the value the message names
        return str(UNKNOWN)


def invalid_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The refusal's body: each error with ``msg`` in the caller's language, and the first few in ``detail``."""
    translated = [{**error, "msg": error_message(error)} for error in errors]
    said = [
        _("%(field)s：%(message)s") % {"field": field_label(error.get("loc", ())), "message": error["msg"]}
        for error in translated[:DETAIL_ERRORS]
    ]
    if len(translated) > DETAIL_ERRORS:
        more = len(translated) - DETAIL_ERRORS
        said.append(ngettext("另有 %(count)s 处错误", "另有 %(count)s 处错误", more) % {"count": more})
    return {"detail": sentences(said), "code": "invalid_input", "errors": translated}
