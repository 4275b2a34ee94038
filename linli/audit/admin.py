from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.audit.models import AuditEvent
from linli.lib.admin import ScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    """Read-only: the log is never edited, not even by the back office."""

    list_display = ["at", "actor_name", "action", "model", "object_repr"]
    list_filter = ["action", "model"]
    search_fields = ["actor_name", "object_repr", "object_pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
