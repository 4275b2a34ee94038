"""Accounts in the back office: a community worker manages the accounts of their own subtree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import Role
from linli.accounts.models import SmsMessage, User
from linli.lib import scope
from linli.lib.admin import ScopedAdmin
from linli.lib.idnumbers import mask_phone

# Which roles an account of each role may hand out: never above its own.
GRANTABLE: dict[str, list[Role]] = {
    Role.STREET_COMMAND: [r for r in Role if r != Role.STREET_COMMAND] + [Role.STREET_COMMAND],
    Role.COMMUNITY_WORKER: [
        Role.COMMUNITY_WORKER,
        Role.GRID_WORKER,
        Role.BUILDING_LEAD,
        Role.GATE_GUARD,
        Role.MEDIC,
        Role.RESIDENT,
    ],
}


class UserAdminForm(forms.ModelForm):
    new_password = forms.CharField(
        label=_("设置新密码"), required=False, widget=forms.PasswordInput, help_text=_("留空则不修改")
    )

    class Meta:
        model = User
        fields = [
            "username",
            "display_name",
            "phone",
            "role",
            "is_active",
            "street",
            "community",
            "grid",
            "compound",
            "building",
            "household",
            "supplier_name",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        deepest = None
        for level in reversed(scope.LEVELS):
            if data.get(level):
                deepest = data[level]
                break
        role = data.get("role")
        if role != Role.SUPPLIER and deepest is None:
            raise ValidationError(_("请选择该账号负责的范围（街道、社区、网格、小区、楼栋或住户）。"))
        self._scope_node = deepest
        return data


@admin.register(User)
class UserAdmin(ScopedAdmin):
    form = UserAdminForm

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if not getattr(request.user, "can_reveal", False):
            # Roles that may not see full phone numbers do not get them through the account form.
            kwargs["exclude"] = [*(kwargs.get("exclude") or []), "phone"]
        return super().get_form(request, obj, change, **kwargs)

    list_display = ["username", "display_name", "role", "scope_text", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "display_name"]

    @admin.display(description=_("负责范围"))
    def scope_text(self, obj: User) -> str:
        return " › ".join(str(node) for node in obj.scope_path)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "role" and not scope.is_unrestricted(request.user):
            allowed = GRANTABLE.get(str(getattr(request.user, "role", "")), [])
            kwargs["choices"] = [(r.value, r.label) for r in allowed]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not scope.is_unrestricted(request.user):
            allowed = GRANTABLE.get(str(getattr(request.user, "role", "")), [])
            if obj.role not in allowed:
                raise ValidationError(_("无权授予该角色"))
            obj.is_superuser = False
            obj.is_staff = obj.role in (Role.STREET_COMMAND, Role.COMMUNITY_WORKER)
        node = getattr(form, "_scope_node", None)
        if node is not None:
            obj.set_scope(node)
        if form.cleaned_data.get("new_password"):
            obj.set_password(form.cleaned_data["new_password"])
        elif not change:
            obj.set_unusable_password()
        super().save_model(request, obj, form, change)


@admin.register(SmsMessage)
class SmsMessageAdmin(ScopedAdmin):
    # Login codes are blanked in the stored body except under the development backend.
    list_display = ["created_at", "masked_phone", "backend"]
    fields = ("masked_phone", "body", "backend", "street", "community", "created_at")
    readonly_fields = fields

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: SmsMessage) -> str:
        return mask_phone(obj.phone)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
