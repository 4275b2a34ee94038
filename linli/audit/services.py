"""Writing the audit log. Services call these; nothing is logged from signals."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.forms.models import model_to_dict
from django.http import HttpRequest

from linli.audit.models import AuditAction, AuditEvent
from linli.lib.idnumbers import mask_id_number, mask_phone

# Secrets never enter the log, not even hashed.
NEVER_LOGGED = frozenset({"password"})
# The log is read by community admins: it records that these changed, never their full values.
MASKED_FIELDS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "helper_phone": mask_phone,
    "landlord_phone": mask_phone,
}


def _place(obj: models.Model | None) -> tuple[int | None, int | None]:
    """The (street id, community id) a record belongs to, for scoping the log."""
    if obj is None:
        return None, None
    for holder in (obj, getattr(obj, "household", None), getattr(obj, "compound", None), getattr(obj, "group", None)):
        if holder is not None and hasattr(holder, "street_id"):
            return holder.street_id, getattr(holder, "community_id", None)
    if getattr(obj, "LEVEL", None) == "street":
        return obj.pk, None
    if getattr(obj, "LEVEL", None) == "community":
        return getattr(obj, "street_id", None), obj.pk
    return None, None


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """A record's field values as JSON-friendly data, to diff before and after a change."""
    data = model_to_dict(obj, fields=fields)
    result: dict[str, Any] = {}
    for key, value in data.items():
        if key in NEVER_LOGGED:
            continue
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = str(value)
        result[key] = value
    return result


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that changed (a field missing on one side counts as None)."""
    keys = list(dict.fromkeys([*before, *after]))
    return {
        key: [_shown(key, before.get(key)), _shown(key, after.get(key))]
        for key in keys
        if before.get(key) != after.get(key)
    }


def _shown(key: str, value: Any) -> Any:
    if key in MASKED_FIELDS and value:
        return MASKED_FIELDS[key](str(value))
    return value


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    model: str = "",
    object_pk: str = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
    street_id: int | None = None,
    community_id: int | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Record one event. Call it inside the same transaction as the change it describes."""
    if obj is not None:
        model = model or obj._meta.label
        object_pk = object_pk or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        place_street, place_community = _place(obj)
        street_id = street_id or place_street
        community_id = community_id or place_community
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_name=str(actor_obj) if actor_obj else str(actor or "system"),
        action=action,
        model=model,
        object_pk=object_pk,
        object_repr=object_repr,
        changes=changes or {},
        street_id=street_id,
        community_id=community_id,
        ip=ip,
    )


def audit_reveal(*, actor: Any, obj: models.Model, field: str, request: HttpRequest | None = None) -> AuditEvent:
    """A masked field was shown in full."""
    return audit_record(actor=actor, action=AuditAction.REVEAL, obj=obj, changes={"field": field}, request=request)
