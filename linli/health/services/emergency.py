"""Property-company emergency levels (H8) and their checklists' progress."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health.choices import (
    EmergencyLevel,
)
from linli.health.models import (
    PropertyEmergency,
)
from linli.health.services._common import _actor, _now
from linli.registry.models import Community

# ----------------------------------------------------------------------------------------------
# Property emergency levels (H8)


def emergency_set(
    *, community: Community, company: str, level: int, actor: Any, now: datetime.datetime | None = None
) -> PropertyEmergency:
    """Start (or change) a property company's emergency level; the previous level ends."""
    company = (company or "").strip()
    if not company:
        raise ValidationError({"company": _("请填写物业公司")})
    if level not in EmergencyLevel.values:
        raise ValidationError({"level": _("请选择应急等级")})
    moment = _now(now)
    with transaction.atomic():
        PropertyEmergency.objects.select_for_update().filter(
            community=community, company=company, ended_at__isnull=True
        ).update(ended_at=moment)
        emergency = PropertyEmergency.objects.create(
            street_id=community.street_id,
            community=community,
            company=company,
            level=level,
            set_at=moment,
            set_by=_actor(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=emergency,
            changes={"company": company, "level": level},
            street_id=community.street_id,
            community_id=community.pk,
        )
    return emergency


def emergency_tick(emergency: PropertyEmergency, *, item: str, done: bool, actor: Any) -> PropertyEmergency:
    """Tick (or untick) an item of the level's procedure checklist."""
    from linli.health.emergency import items_for

    codes = {i.code for i in items_for(emergency.level)}
    if item not in codes:
        raise ValidationError({"item": _("该等级没有这一事项")})
    with transaction.atomic():
        emergency = PropertyEmergency.objects.select_for_update().get(pk=emergency.pk)
        items = set(emergency.done_items or [])
        items.add(item) if done else items.discard(item)
        emergency.done_items = sorted(items)
        emergency.save(update_fields=["done_items"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=emergency,
            changes={"item": item, "done": done},
            street_id=emergency.street_id,
            community_id=emergency.community_id,
        )
    return emergency
