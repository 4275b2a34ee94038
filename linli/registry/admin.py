"""The registry in the back office: every node, household, person and travel record, scoped and audited.

Each node stores the ids of all its ancestors; the admin asks only for the direct parent and fills
the rest in, so that a record can never point at a community its grid does not belong to. ID
numbers and phones are never shown in full here (that would be a reveal without an audit record):
lists and forms show them masked, and a new value is typed into a write-only field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.lib import scope
from linli.lib.admin import ScopedAdmin
from linli.lib.idnumbers import birth_date_from_id, clean_id_number, clean_phone, gender_from_id
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, TravelRecord, Unit
from linli.registry.services import PERSON_FIELDS, household_code


class TreeNodeAdmin(ScopedAdmin):
    """A node of the tree: the parent is chosen among the nodes the account may change; ancestors follow."""

    parent_field: str = ""
    list_per_page = 50

    def _ancestor_fields(self) -> list[str]:
        level = self.model.LEVEL  # type: ignore[attr-defined]
        return [name for name in scope.LEVELS[: scope.LEVELS.index(level)] if name != self.parent_field]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*(super().get_exclude(request, obj) or []), *self._ancestor_fields()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """A new node needs a parent the account may change: a community worker adds grids, not communities."""
        user = request.user
        if not super().has_add_permission(request):
            return False
        if scope.is_unrestricted(user):
            return True
        level = scope.user_level(user)
        if level is None or not self.parent_field:
            return False
        return scope.LEVELS.index(level) <= scope.LEVELS.index(self.parent_field)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # The code identifies the record in rosters and imports: fixed once created. The parent is
        # fixed too: every node, household and account below stores this node's ancestors, and a
        # move here would leave them scoped to the old place.
        if obj is None:
            return readonly
        return (*readonly, "code", *((self.parent_field,) if self.parent_field else ()))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == self.parent_field:
            kwargs["queryset"] = scope.editable(db_field.related_model._default_manager.all(), request.user)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if self.parent_field:
            parent = getattr(obj, self.parent_field)
            ids = scope.ancestors_of(parent)
            for level in scope.LEVELS[: scope.LEVELS.index(parent.LEVEL) + 1]:
                setattr(obj, f"{level}_id", ids[f"{level}_id"])
        super().save_model(request, obj, form, change)


@admin.register(Street)
class StreetAdmin(TreeNodeAdmin):
    list_display = ("name", "code", "created_at")
    search_fields = ("name", "code")


@admin.register(Community)
class CommunityAdmin(TreeNodeAdmin):
    parent_field = "street"
    list_display = ("name", "code", "kind", "street")
    list_filter = ("kind", ("street", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "code")
    list_select_related = ("street",)


@admin.register(Grid)
class GridAdmin(TreeNodeAdmin):
    parent_field = "community"
    list_display = ("name", "code", "community")
    list_filter = (("community", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "code")
    list_select_related = ("community",)


@admin.register(Compound)
class CompoundAdmin(TreeNodeAdmin):
    parent_field = "grid"
    list_display = ("name", "code", "kind", "community", "grid", "property_company")
    list_filter = ("kind", ("community", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "code", "address", "property_company")
    list_select_related = ("community", "grid")


@admin.register(Building)
class BuildingAdmin(TreeNodeAdmin):
    parent_field = "compound"
    list_display = ("name", "code", "kind", "compound", "number")
    list_filter = ("kind", ("community", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "code", "compound__name")
    list_select_related = ("compound",)


@admin.register(Unit)
class UnitAdmin(TreeNodeAdmin):
    parent_field = "building"
    list_display = ("name", "code", "building", "compound", "number")
    list_filter = (("community", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "code", "building__name", "compound__name")
    list_select_related = ("building", "compound")


@admin.register(Household)
class HouseholdAdmin(TreeNodeAdmin):
    parent_field = "unit"
    list_display = (
        "__str__",
        "compound",
        "room",
        "is_rented",
        "landlord_name",
        "masked_landlord_phone",
        "surveyed_at",
    )
    list_filter = (
        "is_rented",
        ("community", admin.RelatedOnlyFieldListFilter),
        ("compound", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("code", "room", "landlord_name", "compound__name", "building__name")
    list_select_related = ("compound", "building", "unit")
    exclude = ("landlord_phone",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The code is derived from unit and room (see services.household_create), so both are fixed
        # once the household exists.
        fixed = ("unit", "room") if obj is not None else ()
        fields = (*super().get_readonly_fields(request, obj), "code", "masked_landlord_phone", *fixed)
        return tuple(dict.fromkeys(fields))

    @admin.display(description=_("房东电话"))
    def masked_landlord_phone(self, obj: Household) -> str:
        return obj.masked_landlord_phone

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not obj.code:
            obj.code = household_code(obj.unit, obj.room)
        super().save_model(request, obj, form, change)


class PersonAdminForm(forms.ModelForm):
    """New ID number and phone are write-only: a blank field keeps the stored value."""

    new_id_number = forms.CharField(
        label=_("新身份证号"), required=False, max_length=40, help_text=_("留空表示不修改；可输入全角数字或小写x")
    )
    new_phone = forms.CharField(label=_("新手机号"), required=False, max_length=20, help_text=_("留空表示不修改"))

    class Meta:
        model = Person
        # The person's fields, but ID number and phone come in through the write-only fields above.
        fields = ("household", *(f for f in PERSON_FIELDS if f not in ("id_number", "phone")))

    def clean_new_id_number(self) -> str:
        value = self.cleaned_data.get("new_id_number") or ""
        if not value:
            return ""
        number = clean_id_number(value)
        if Person.objects.filter(id_number=number).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("该身份证号已登记在其他户"))
        return number

    def clean_new_phone(self) -> str:
        value = self.cleaned_data.get("new_phone") or ""
        return clean_phone(value) if value else ""

    def clean_helper_phone(self) -> str:
        value = self.cleaned_data.get("helper_phone") or ""
        return clean_phone(value) if value else ""


@admin.register(Person)
class PersonAdmin(ScopedAdmin):
    form = PersonAdminForm
    list_display = ("name", "masked_id", "masked_phone", "household", "relation", "residency", "health_code")
    list_filter = (
        "residency",
        "health_code",
        "relation",
        ("household__community", admin.RelatedOnlyFieldListFilter),
        "lives_alone",
        "no_smartphone",
    )
    # Lookups on the tails and exact numbers: the full number is searchable but never displayed.
    search_fields = ("name", "=id_number", "=id_tail", "=phone", "=phone_tail", "household__room")
    list_select_related = ("household__building", "household__unit")
    readonly_fields = ("masked_id", "masked_phone", "gender", "birth_date")
    list_per_page = 50

    @admin.display(description=_("身份证号"))
    def masked_id(self, obj: Person) -> str:
        return obj.masked_id_number

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: Person) -> str:
        return obj.masked_phone

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "household":
            qs = Household.objects.select_related("building", "unit")
            kwargs["queryset"] = scope.editable(qs, request.user)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        number = form.cleaned_data.get("new_id_number")
        if number:
            obj.id_number = number
            obj.id_tail = number[-4:]
            obj.birth_date = birth_date_from_id(number)
            obj.gender = gender_from_id(number)
        phone = form.cleaned_data.get("new_phone")
        if phone:
            obj.phone = phone
            obj.phone_tail = phone[-4:]
        super().save_model(request, obj, form, change)


@admin.register(TravelRecord)
class TravelRecordAdmin(ScopedAdmin):
    list_display = ("person", "date", "place", "note")
    list_filter = ("date",)
    search_fields = ("person__name", "place")
    list_select_related = ("person",)
    date_hierarchy = "date"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "person":
            kwargs["queryset"] = scope.editable(Person.objects.all(), request.user)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
