from typing import Any

from django.db.models import QuerySet

from linli.audit.models import AuditEvent
from linli.lib import scope


def audit_events_visible(user: Any) -> QuerySet[AuditEvent]:
    """The log of the user's part of the tree; only the back-office roles read it."""
    if not getattr(user, "is_back_office", False):
        return AuditEvent.objects.none()
    return scope.visible(AuditEvent.objects.select_related("actor"), user)
