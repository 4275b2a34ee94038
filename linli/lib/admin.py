"""The back office (Django admin) under the same scoping as every page: one mixin for every ModelAdmin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.lib import scope


class ScopedAdmin(admin.ModelAdmin):
    """Lists only what the account may see, changes only what it may change, and audits every write.

    Foreign-key choices are narrowed to the account's scope too, so that a community worker cannot
    attach a record to another community through a drop-down.
    """

    def _allowed(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_back_office", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and (obj is None or scope.can_see(obj, request.user))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and (obj is None or scope.can_edit(obj, request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and (obj is None or scope.can_edit(obj, request.user))

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return scope.visible(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if hasattr(related, "SCOPE_LOOKUPS"):
            kwargs["queryset"] = scope.visible(related._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if hasattr(related, "SCOPE_LOOKUPS"):
            kwargs["queryset"] = scope.visible(related._default_manager.all(), request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
            super().save_model(request, obj, form, change)
            if not scope.is_unrestricted(request.user) and not scope.can_edit(obj, request.user):
                # The object ended up outside the account's subtree: undo by raising inside the atomic block.
                raise PermissionError("out of scope")
            audit_record(
                actor=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                obj=obj,
                changes=diff(before, snapshot(obj)),
                request=request,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit_record(
                actor=request.user, action=AuditAction.DELETE, obj=obj, changes=diff(snapshot(obj), {}), request=request
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in scope.editable(queryset, request.user):
            self.delete_model(request, obj)
