"""Malformed API input (ninja's 422 and 400) is explained in the caller's language, field by field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from linli.accounts.services import api_token_create
from linli.lib import apierrors
from linli.lib.testing import Personas

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/supplies/orders"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
BAD_ORDER = {
    "window": "第一期",
    "household": 1,
    "lines": [{"offer": 1, "quantity": 1}, {"offer": 2, "quantity": 0}],
    "payment_mode": "cash",
}


def order(personas: Personas, body: Any, language: str = "") -> Any:
    """A resident's phone ordering with its token, as the rush path is reached (malformed, it reaches ninja)."""
    _token, key = api_token_create(user=personas.resident, name="phone")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k-1"}
    if language:
        headers["Accept-Language"] = language
    return Client().post(ORDERS, body, content_type="application/json", headers=headers)


def test_a_malformed_order_names_each_field_and_what_is_wrong_in_chinese(personas: Personas) -> None:
    response = order(personas, BAD_ORDER)

    assert response.status_code == 422
    body = response.json()
    assert (
        body["detail"]
        == "订购窗口：应为整数；数量（第 2 项）：不能小于 1；付款方式：无效的选项，可选：prepaid、on_delivery、credit"
    )
    assert body["code"] == "invalid_input"
    # the machine-readable part is pydantic's, as before: type, loc and ctx per error
    assert [(e["type"], e["loc"], e["msg"]) for e in body["errors"]] == [
        ("int_parsing", ["body", "payload", "window"], "应为整数"),
        ("greater_than_equal", ["body", "payload", "lines", 1, "quantity"], "不能小于 1"),
        ("literal_error", ["body", "payload", "payment_mode"], "无效的选项，可选：prepaid、on_delivery、credit"),
    ]
    assert body["errors"][1]["ctx"] == {"ge": 1}


def test_a_malformed_order_is_explained_in_english_when_asked(personas: Personas, client_for: Any) -> None:
    by_header = order(personas, BAD_ORDER, language="en").json()
    assert by_header["detail"] == (
        "Order window: Must be a whole number; Quantity (item 2): Must be at least 1; "
        "Payment method: Invalid option. Allowed: prepaid, on_delivery, credit"
    )
    assert [e["msg"] for e in by_header["errors"]][:2] == ["Must be a whole number", "Must be at least 1"]

    client = client_for(personas.grid_worker)
    client.cookies["django_language"] = "en"
    by_cookie = client.get("/api/v1/registry/households", {"page": "two"})
    assert by_cookie.status_code == 422
    assert by_cookie.json()["detail"] == "Page: Must be a whole number"


def test_missing_fields_and_a_missing_body(personas: Personas) -> None:
    missing = order(personas, {"window": 1, "lines": []}).json()
    assert missing["detail"] == "住户：必填"
    assert missing["errors"] == [{"type": "missing", "loc": ["body", "payload", "household"], "msg": "必填"}]

    no_body = order(personas, "").json()
    assert no_body["detail"] == "请求内容：必填"
    not_an_object = order(personas, [BAD_ORDER]).json()
    assert not_an_object["detail"] == "请求内容：应为 JSON 对象"


def test_many_errors_are_summed_up_after_the_first_few(personas: Personas) -> None:
    lines = [{"offer": "x", "quantity": "y"} for _ in range(3)]
    body = order(personas, {"window": 1, "household": 1, "lines": lines}).json()
    assert len(body["errors"]) == 6
    assert (
        body["detail"]
        == "上架商品（第 1 项）：应为整数；数量（第 1 项）：应为整数；上架商品（第 2 项）：应为整数；另有 3 处错误"
    )


@pytest.mark.parametrize("language", ["", "en"])
def test_a_body_that_is_not_json_is_400_in_the_callers_language(personas: Personas, language: str) -> None:
    response = order(personas, '{"window": ', language=language)

    assert response.status_code == 400
    expected = "Request body: Is not valid JSON" if language else "请求内容：不是有效的 JSON"
    assert response.json() == {
        "detail": expected,
        "code": "invalid_json",
        "errors": [{"type": "json_invalid", "loc": ["body"], "msg": expected.split(": ")[-1].split("：")[-1]}],
    }


def test_a_refusal_raised_as_an_http_error_is_answered_as_before(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.community_worker).get("/api/v1/registry/nodes", {"level": "planet"})
    assert response.status_code == 422
    assert response.json() == {"detail": "层级无效，可选：street、community、grid、compound、building、unit"}


def test_an_unknown_error_type_or_a_ctx_without_its_value_reads_as_an_invalid_value() -> None:
    assert (
        apierrors.error_message({"type": "url_parsing", "loc": ["body", "payload", "site"], "msg": "…"}) == "无效的值"
    )
    assert apierrors.error_message({"type": "greater_than_equal", "loc": ["query", "page"]}) == "无效的值"
    assert apierrors.error_message({"type": "string_too_long", "ctx": {}}) == "无效的值"
    with translation.override("en"):
        assert apierrors.error_message({"type": "no_such_type"}) == "Invalid value"
    # a validator's ValueError says its own words (ninja has made the exception a string)
    said = apierrors.error_message({"type": "value_error", "ctx": {"error": "体温须在 34.0 到 43.0 之间"}})
    assert said == "体温须在 34.0 到 43.0 之间"


def test_fields_are_named_as_a_user_reads_them() -> None:
    assert apierrors.field_label(["path", "checkpoint_id"]) == "卡口"
    assert apierrors.field_label(["body", "payload", "temperature"]) == "体温"
    assert apierrors.field_label(["body", "payload", "scans", 3, "direction"]) == "方向（第 4 项）"
    assert apierrors.field_label(["body", "payload", "six", "six_team"]) == "six_team"
    assert apierrors.field_label(["form", "mode"]) == "mode"


def test_every_message_and_label_has_its_english() -> None:
    ctx: dict[str, Any] = {
        key: 2 for key in ("max_digits", "decimal_places", "whole_digits", "gt", "ge", "lt", "le", "multiple_of")
    }
    ctx |= {"min_length": 1, "max_length": 2, "expected": "'a' or 'b'"}
    with translation.override("en"):
        untranslated = [
            t for t in [*apierrors.MESSAGES, "?"] if CJK.search(apierrors.error_message({"type": t, "ctx": ctx}))
        ]
        untranslated += [name for name, label in apierrors.LABELS.items() if CJK.search(str(label))]
        untranslated += [f for f in ("a", "b") if CJK.search(apierrors.field_label(["body", "payload", "lines", 0, f]))]
    assert untranslated == []
    with translation.override("en"):
        assert apierrors.error_message({"type": "string_too_short", "ctx": {"min_length": 1}}) == "At least 1 character"
        assert apierrors.error_message({"type": "string_too_long", "ctx": {"max_length": 200}}) == (
            "At most 200 characters"
        )
