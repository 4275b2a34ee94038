"""The bad-input sweep's second half: every write endpoint of the API (the pages' half and the shared
machinery are in ``test_bad_input_sweep.py``; two modules, so that the suite's two workers share them).
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.test import Client
from django.utils import timezone

from linli.accounts.models import ApiToken
from linli.accounts.services import api_token_create
from linli.tests.test_bad_input_sweep import (
    API_VALUES,
    FILES,
    HUGE,
    LONG,
    MISSING_ID,
    NUL,
    WHOLE_BODIES,
    Sweeper,
    Tally,
    bad_file,
    shown,
)
from linli.tests.test_scope_sweep import (
    API_LISTS,
    API_PREFIX,
    C2,
    CONTROL,
    Operation,
    api_params,
    operations,
    plausible_body,
)
from linli.tests.test_scope_sweep import c2 as c2  # the fixture

# --- the API ----------------------------------------------------------------------------------------------

WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Write operations the sweep sends as another account than C2's worker ("METHOD /path": persona).
API_ALLOWED: dict[str, str] = {
    "PATCH /api/v1/health/rules/{rule_id}": "street_command",
    "POST /api/v1/health/risk-areas/{area_id}/end": "street_command",
    "POST /api/v1/health/risk-areas": "street_command",
    "PATCH /api/v1/health/settings": "street_command",
    "PATCH /api/v1/supplies/suppliers/{supplier_id}": "street_command",
    "POST /api/v1/supplies/suppliers/{supplier_id}/staff": "street_command",
    "PATCH /api/v1/supplies/items/{item_id}": "street_command",
    "PUT /api/v1/supplies/items/{item_id}/parts": "street_command",
    "POST /api/v1/supplies/suppliers": "street_command",
    "POST /api/v1/supplies/suppliers/{supplier_id}/items": "street_command",
    "PATCH /api/v1/supplies/settings": "street_command",
    "POST /api/v1/supplies/items": "street_command",
    "POST /api/v1/supplies/stock-reports": "street_command",
    "POST /api/v1/supplies/price-reports": "street_command",
    "POST /api/v1/supplies/staff-checks": "street_command",
}


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    components = schema.get("components", {}).get("schemas", {})
    ref = node.get("$ref", "")
    if ref:
        return resolve(schema, components[ref.rsplit("/", 1)[-1]])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in node:
            options = [resolve(schema, option) for option in node[key] if option.get("type") != "null"]
            if options:
                return options[0]
    return node


def json_kind(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "")
    fmt = prop.get("format", "")
    if kind == "string" and fmt in ("date", "date-time", "time", "uuid"):
        return fmt
    if (kind == "string" and fmt == "decimal") or ("pattern" in prop and "\\d" in prop.get("pattern", "")):
        return "decimal"
    return kind if kind in API_VALUES else "string"


def api_write_operations(schema: dict[str, Any]) -> list[tuple[Operation, dict[str, Any]]]:
    """Every write of the schema, with its operation object (for multipart bodies)."""
    found = []
    for operation in operations(schema):
        if operation.method in WRITES:
            found.append((operation, schema["paths"][operation.path][operation.method.lower()]))
    return found


def api_url(c2: C2, operation: Operation, override: dict[str, Any] | None = None) -> str:
    params = api_params(operation)
    values = {name: params[name](c2)[0] for name in operation.params}
    return operation.path.format(**{**values, **(override or {})})


def api_body(c2: C2, operation: Operation) -> dict[str, Any]:
    """The scope sweep's body for the operation: its list case's (an order names C2's window), or a plausible one."""
    for case in API_LISTS.get(operation.key, lambda c2: [])(c2):
        if case.body is not None:
            return dict(case.body(c2))
    try:
        return plausible_body(operation, c2) or {}
    except AssertionError:  # a required property the scope sweep never fills (it sends no body): the schema's
        return {}


def sweep_api_operation(
    sweeper: Sweeper, c2: C2, schema: dict[str, Any], operation: Operation, spec: dict[str, Any], token: str
) -> None:
    client = Client()
    url = api_url(c2, operation)

    def send(body: Any, *, language: str = "", raw: bytes | None = None, at: str = "") -> Callable[[], Any]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        if language:
            headers["Accept-Language"] = language
        data = raw if raw is not None else json.dumps(body)
        return lambda: client.generic(
            operation.method, at or url, data, content_type="application/json", headers=headers
        )

    label = f"{operation.method} {url}"
    multipart = "multipart/form-data" in (spec.get("requestBody") or {}).get("content", {})
    if multipart:
        return  # the uploads: swept by sweep_api_uploads
    for name in operation.params:
        for bad in (MISSING_ID, HUGE, "-1"):
            if name == "field":
                continue
            at = api_url(c2, operation, {name: bad})
            sweeper.run(f"{operation.method} {at} ({name} bad)", send(api_body(c2, operation)), language="")
    if operation.body is None:
        return
    body = api_body(c2, operation)
    status = sweeper.run(f"{label} plausible body", send(body), language="")
    if status in (401, 403, 404, 405):
        sweeper.tally.findings.append(f"control: {label} plausible body answered {status}: the sweep proves nothing")
    for index, whole in enumerate(WHOLE_BODIES):
        sweeper.run(f"{label} body={shown(whole)}", send(whole), language="")
        if index == 0:
            sweeper.run(f"{label} body={shown(whole)}", send(whole, language="en"), language="en")
    sweeper.run(f"{label} not UTF-8", send(None, raw=b'{"name": "\xff\xfe"}'), language="")
    for name, prop in operation.body.get("properties", {}).items():
        kind = json_kind(resolve(schema, prop))
        for index, bad in enumerate(API_VALUES[kind]):
            what = f"{label} {name}={shown(bad)} ({kind})"
            sweeper.run(what, send({**body, name: bad}), language="")
            if index == 0:
                sweeper.run(what, send({**body, name: bad}, language="en"), language="en")
        if kind == "array":
            items = resolve(schema, resolve(schema, prop).get("items", {}))
            if items.get("type") == "object" and isinstance(body.get(name), list) and body[name]:
                first = body[name][0]
                for item_name, item_prop in items.get("properties", {}).items():
                    item_kind = json_kind(resolve(schema, item_prop))
                    for bad in API_VALUES[item_kind][:4]:
                        spoiled = {**body, name: [{**first, item_name: bad}]}
                        sweeper.run(f"{label} {name}[0].{item_name}={shown(bad)}", send(spoiled), language="")


def sweep_api_uploads(sweeper: Sweeper, c2: C2, token: str) -> None:
    uploads: dict[str, tuple[str, dict[str, Any], dict[str, Callable[[], Any]]]] = {
        f"{API_PREFIX}/rosters/imports": ("file", {"mode": "all"}, FILES["rosters:index"]),
        f"{API_PREFIX}/supplies/handover/photo": (
            "photo",
            {"code": c2.supplies["delivered"].handover_code},
            {
                "text named .jpg": bad_file("door.jpg", b"not a photo", "image/jpeg"),
                "empty .jpg": bad_file("door.jpg", b"", "image/jpeg"),
                "pdf named .jpg": bad_file("door.jpg", b"%PDF-1.4\n%\xe2\xe3\n", "image/jpeg"),
                "huge name": bad_file("x" * 300 + ".jpg", b"\xff\xd8\xff\xe0" + b"0" * 64 + b"\xff\xd9", "image/jpeg"),
            },
        ),
    }
    client = Client()
    for url, (file_field, fields, files) in uploads.items():
        for label, make in files.items():
            for language in ("", "en"):
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
                if language:
                    headers["Accept-Language"] = language
                body = {**fields, file_field: make()}
                sweeper.run(
                    f"POST {url} file: {label}",
                    partial(client.post, url, body, headers=headers),
                    language=language,
                )
        for name in fields:
            for bad in ("", LONG, NUL):
                body = {**fields, name: bad, file_field: FILES["rosters:index"]["text named .xlsx"]()}
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
                sweeper.run(
                    f"POST {url} {name}={shown(bad)}",
                    partial(client.post, url, body, headers=headers),
                    language="",
                )


def test_every_api_write_refuses_bad_input_clearly_and_writes_nothing(c2: C2) -> None:
    # given
    started = time.monotonic()
    from linli.api import api

    schema = api.get_openapi_schema(path_prefix=API_PREFIX)
    writes = api_write_operations(schema)
    tokens = {
        persona: api_token_create(user=getattr(c2.personas, persona), name="bad-input")[1]
        for persona in (CONTROL, "street_command")
    }
    # Marked used for the day ahead: every request is rolled back, so a token last used over a minute
    # ago would have last_used_at written on every request, and the write counter would then read the
    # full snapshot after each one (most of this test's time).
    ApiToken.objects.filter(name="bad-input").update(last_used_at=timezone.now() + datetime.timedelta(days=1))
    tally = Tally()
    sweeper = Sweeper(c2, tally)  # after the tokens: the baseline counts them

    # when
    for operation, spec in writes:
        persona = API_ALLOWED.get(operation.key, CONTROL)
        sweep_api_operation(sweeper, c2, schema, operation, spec, tokens[persona])
    sweep_api_uploads(sweeper, c2, tokens[CONTROL])

    # then
    print(
        f"\nbad-input API sweep: {len(writes)} write operations, {tally.requests} requests "
        f"({tally.refused} refused, {tally.accepted} taken), {time.monotonic() - started:.1f} s"
    )
    assert not tally.findings, "\n".join(tally.findings)
