"""API of the gate: checkpoints, the offline bundle, online scans and the offline sync (docs/gate.md)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError, HttpError
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel, Field

from linli.accounts.choices import GATE_ROLES
from linli.gate import services
from linli.gate.models import Checkpoint
from linli.lib import hotroutes, scope
from linli.lib.apiauth import DEFERRED_AUTH, PendingToken, bearer_token
from linli.lib.apiutil import ErrorOut, plain_body, tree_staff

router = Router(tags=["gate"])

# Roles that may record scans at a checkpoint of their part of the tree.
SCAN_ROLES = GATE_ROLES
MAX_SYNC_BATCH = 1000
JSON_UTF8 = "application/json; charset=utf-8"


def checkpoint_for(
    request: HttpRequest, checkpoint_id: int, *, scanning: bool = False, handing_in: bool = False
) -> Checkpoint:
    """The checkpoint if the caller may work at it: in scope, and a guard's own checkpoint; else 404/403.

    The compound and its rules come in the same query (the scan needs both). For scanning, the
    common case is one query: the checkpoint among those the caller may change; only when it is not
    there does a second query tell "out of scope" (404) from "in scope, read-only" (403).

    ``handing_in`` (the offline sync): scans already taken at the checkpoint are handed in. The
    caller's scope and role still decide, but not the guard's binding to one checkpoint, nor whether
    the checkpoint is still open: a guard moved to another gate, or whose gate was closed, before
    their phone could sync hands in what they scanned there (docs/gate.md).
    """
    user: Any = tree_staff(request, _("只有工作人员可以使用卡口"))
    checkpoints = Checkpoint.objects.select_related("compound", "compound__gate_rules")
    if not handing_in:
        checkpoints = checkpoints.filter(is_active=True)
    checkpoint = scope.editable(checkpoints, user).filter(pk=checkpoint_id).first() if scanning else None
    editable = checkpoint is not None
    if checkpoint is None:
        checkpoint = scope.get_visible_or_404(checkpoints, user, pk=checkpoint_id)
    bound = getattr(user, "checkpoint_id", None)
    if bound and bound != checkpoint.pk and not user.is_superuser and not handing_in:
        raise HttpError(404, _("未找到"))
    if scanning and not (user.is_superuser or user.role in SCAN_ROLES):
        raise HttpError(403, _("您的角色不能在卡口登记出入"))
    if scanning and not editable:
        raise HttpError(403, _("您不能在该卡口登记出入"))
    return checkpoint


class CheckpointOut(Schema):
    id: int
    code: str
    name: str
    compound_id: int
    compound: str


class ScanIn(BaseModel):
    """A scan as the gate sends it. A plain pydantic model rather than ninja's ``Schema``: the body is
    a JSON object, which pydantic validates directly (``Schema`` reads it through ninja's attribute
    getter, ~0.05 ms a scan); the fields, defaults and error answers are the same."""

    uuid: uuid.UUID
    credential: str = Field(max_length=400)
    direction: Literal["out", "in"]
    device_time: datetime.datetime
    temperature: Decimal | None = Field(default=None, ge=30, le=45, max_digits=3, decimal_places=1)
    mask: bool | None = None
    health_code: Literal["green", "yellow", "red", "unknown", ""] = ""
    person_id: int | None = None


class OfflineScanIn(ScanIn):
    verdict: Literal["allowed", "refused"]
    guard_id: int | None = Field(default=None, description="扫码时登录的值守人员；缺省为同步的账号")
    reason: str = Field(default="ok", max_length=16)


class ScanHouseholdOut(Schema):
    id: int
    room: str
    members: list[str]


class ScanOut(Schema):
    uuid: uuid.UUID
    verdict: str
    reason: str
    message: str
    household: ScanHouseholdOut | None = None
    next_out_at: datetime.datetime | None = None
    duplicate: bool = False


class SyncIn(Schema):
    scans: list[OfflineScanIn] = Field(max_length=MAX_SYNC_BATCH)


class SyncResultOut(Schema):
    uuid: uuid.UUID
    status: Literal["stored", "duplicate"]
    violation: bool


class SyncOut(Schema):
    stored: int
    duplicates: int
    results: list[SyncResultOut]


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=services.quota.local_zone())
    return moment


def _input(item: ScanIn) -> services.ScanInput:
    offline = item if isinstance(item, OfflineScanIn) else None
    return services.ScanInput(
        uuid=item.uuid,
        credential=item.credential,
        direction=item.direction,
        device_time=_aware(item.device_time),
        temperature=item.temperature,
        mask=item.mask,
        health_code=item.health_code,
        person_id=item.person_id,
        verdict=offline.verdict if offline else None,
        guard_id=offline.guard_id if offline else None,
        reason=offline.reason if offline else "",
    )


@router.get("/checkpoints", response=list[CheckpointOut], summary="卡口列表")
def checkpoint_list(request: HttpRequest) -> list[dict[str, Any]]:
    user: Any = tree_staff(request, _("只有工作人员可以查看卡口"))
    checkpoints = scope.visible(Checkpoint.objects.filter(is_active=True).select_related("compound"), user)
    if getattr(user, "checkpoint_id", None) and not user.is_superuser:
        checkpoints = checkpoints.filter(pk=user.checkpoint_id)
    return [
        {"id": c.pk, "code": c.code, "name": c.name, "compound_id": c.compound_id, "compound": c.compound.name}
        for c in checkpoints
    ]


@router.get("/checkpoints/{checkpoint_id}/bundle", summary="离线数据包")
def checkpoint_bundle(request: HttpRequest, checkpoint_id: int) -> dict[str, Any]:
    """Public keys, rules, households' pass numbers, holds and outings: what the page caches offline."""
    checkpoint = checkpoint_for(request, checkpoint_id, scanning=True)
    return services.offline_bundle(checkpoint)


# The one value of a scan's answer that JSON has no type for besides the uuid, encoded as ninja's
# renderer encodes it (Django's encoder); the rest are JSON's own types. Ninja's encoder (one
# instance: json.dumps with cls= makes one per call) stays for anything the Python path might put
# in (a lazy text); the fast path's values never reach it.
_encode_datetime = DjangoJSONEncoder().default
_encode_json = NinjaJSONEncoder().encode


def _scan_out(result: services.ScanResult) -> dict[str, Any]:
    return {
        "uuid": str(result.scan.uuid),
        "verdict": result.verdict,
        "reason": result.reason,
        "message": result.message,
        "household": result.household,
        "next_out_at": None if result.next_out_at is None else _encode_datetime(result.next_out_at),
        "duplicate": result.duplicate,
    }


def _scan_response(result: services.ScanResult) -> HttpResponse:
    # ScanOut's JSON, written directly: the same keys and encoding as ninja's renderer, without
    # validating our own answer again (~0.06 ms a scan). The type as a header rather than
    # content_type=: Django then finds it set instead of looking it up and failing (a KeyError per
    # response); bytes (ASCII: ensure_ascii) need no charset lookup.
    return HttpResponse(_encode_json(_scan_out(result)).encode(), headers={"Content-Type": JSON_UTF8})


def hot_scan(request: HttpRequest, params: Mapping[str, Any]) -> HttpResponse | None:
    """The answer to a bearer-token scan that the fast path stores; None for anything else. Before
    Django's handler (the hot route of ``linli.wsgi``), else before ninja's parsing (around the
    operation: ``hotroutes.answered_first``).

    What ninja's operation does before the view (the bearer header, the path parameter, ``ScanIn``
    from the JSON body), done here only for a request that passes all three as they are: a header
    that is not a bearer token (the session), a checkpoint id that is not plain digits, a body that
    is not a JSON object or does not validate — None, and ninja answers as ever (401, 422, …); a
    refusal by the fast path wrote nothing, and the view asks again and refuses.
    """
    checkpoint_id = params.get("checkpoint_id")
    if not (isinstance(checkpoint_id, str) and checkpoint_id.isascii() and checkpoint_id.isdigit()):
        return None
    if len(checkpoint_id) > 18:  # beyond bigint: ninja's path
        return None
    pending = bearer_token(request)
    if pending is None:
        return None
    payload = plain_body(request, ScanIn)
    if payload is None:
        return None
    request.auth = pending  # type: ignore[attr-defined]
    result = services.scan_online(int(checkpoint_id), _input(payload), key_hash=pending.key_hash, admit=True)
    return None if result is None else _scan_response(result)


@router.post(
    "/checkpoints/{checkpoint_id}/scan",
    response={200: ScanOut, 400: ErrorOut},
    summary="扫码（在线）",
    auth=DEFERRED_AUTH,
)
@decorate_view(hotroutes.answered_first(hot_scan))
def checkpoint_scan(request: HttpRequest, checkpoint_id: int, payload: ScanIn) -> Any:
    """A household's QR pass on PostgreSQL takes the fast path (token, scope, decision and write in
    one round trip: docs/gate.md, "The scan path"); anything else, and every refusal of the caller,
    the Python path."""
    data = _input(payload)
    auth = getattr(request, "auth", None)  # set by ninja
    pending = auth if isinstance(auth, PendingToken) else None
    try:
        result = services.scan_online(
            checkpoint_id,
            data,
            user=None if pending else request.user,
            key_hash=pending.key_hash if pending else None,
            admit=True,
        )
        if result is None:
            if pending is not None and pending.resolve(request) is None:
                raise AuthenticationError
            checkpoint = checkpoint_for(request, checkpoint_id, scanning=True)
            result = services.scan_record(checkpoint, request.user, data, fast=False)
    except services.GateError as exc:
        return Status(400, {"detail": str(exc)})
    return _scan_response(result)


@router.post(
    "/checkpoints/{checkpoint_id}/sync",
    response={200: SyncOut, 400: ErrorOut},
    summary="同步离线扫码记录",
)
def checkpoint_sync(request: HttpRequest, checkpoint_id: int, payload: SyncIn) -> Any:
    checkpoint = checkpoint_for(request, checkpoint_id, scanning=True, handing_in=True)
    try:
        outcome = services.sync_scans(checkpoint, request.user, [_input(item) for item in payload.scans])
    except services.GateError as exc:
        return Status(400, {"detail": str(exc)})
    duplicates = set(outcome.duplicates)
    return {
        "stored": len(outcome.stored),
        "duplicates": len(outcome.duplicates),
        "results": [
            {
                "uuid": item.uuid,
                "status": "duplicate" if item.uuid in duplicates else "stored",
                "violation": item.uuid in outcome.violations,
            }
            for item in payload.scans
        ],
    }
