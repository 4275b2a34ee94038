from django.contrib import admin

from linli.lib.admin import ScopedAdmin
from linli.organisation.models import CoverSlot, GroupMember, ManagingUnit, ResponsibilityChain, WorkingGroup


@admin.register(ResponsibilityChain)
class ResponsibilityChainAdmin(ScopedAdmin):
    list_display = ["compound", "street_leader", "community_leader", "responsible", "responsible_phone", "updated_at"]
    list_select_related = ["compound"]
    search_fields = ["compound__name", "street_leader", "community_leader", "responsible"]


@admin.register(CoverSlot)
class CoverSlotAdmin(ScopedAdmin):
    list_display = ["compound", "name", "kind", "phone", "starts", "ends"]
    list_filter = ["kind"]
    list_select_related = ["compound"]
    search_fields = ["compound__name", "name"]


@admin.register(ManagingUnit)
class ManagingUnitAdmin(ScopedAdmin):
    list_display = ["compound", "name", "buildings", "contact", "phone"]
    list_select_related = ["compound"]
    search_fields = ["compound__name", "name"]


class GroupMemberInline(admin.TabularInline):
    model = GroupMember
    extra = 1


@admin.register(WorkingGroup)
class WorkingGroupAdmin(ScopedAdmin):
    list_display = ["name", "kind", "community", "duty_phone"]
    list_filter = ["kind"]
    list_select_related = ["community"]
    search_fields = ["name", "duties"]
    inlines = [GroupMemberInline]


@admin.register(GroupMember)
class GroupMemberAdmin(ScopedAdmin):
    list_display = ["name", "group", "title", "phone", "is_leader"]
    list_select_related = ["group"]
    search_fields = ["name", "group__name"]
