"""The gate in the back office: rules and checkpoints editable, everything the gate records read-only.

Passes, holds and scans are written through the gate's services (pages and API), which keep the
signed tokens, quotas and alerts consistent; here they are looked up. Signing keys are not shown.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.gate.models import (
    Checkpoint,
    DutyAssignment,
    ExemptPass,
    GateAlert,
    GateRules,
    GateScan,
    HouseholdHold,
    HouseholdPass,
    Parcel,
    QuotaViolation,
    Shift,
    VehicleEntry,
    VehiclePass,
    Visit,
)
from linli.lib.admin import ScopedAdmin

PLACE = ["street", "community", "grid", "compound"]


class GateRecordAdmin(ScopedAdmin):
    """A record of what happened at the gate: readable in scope, never edited or added here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GateRules)
class GateRulesAdmin(ScopedAdmin):
    list_display = ["compound", "risk_level", "mode", "outings_per_period", "period_days", "max_hours_out", "six_done"]
    list_filter = ["risk_level", "mode"]
    readonly_fields = [*PLACE, "updated_at", "updated_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(ScopedAdmin):
    list_display = ["name", "code", "compound", "is_active"]
    list_filter = ["is_active"]
    readonly_fields = [*PLACE, "code", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(HouseholdPass)
class HouseholdPassAdmin(GateRecordAdmin):
    list_display = ["number", "household", "issue_no", "valid_until", "is_active", "issued_at"]
    list_filter = ["is_active"]
    search_fields = ["number"]
    exclude = ["token", "members"]


@admin.register(HouseholdHold)
class HouseholdHoldAdmin(GateRecordAdmin):
    list_display = ["household", "reason", "source", "started_at", "released_at"]
    list_filter = ["reason"]


@admin.register(GateScan)
class GateScanAdmin(GateRecordAdmin):
    list_display = ["device_time", "checkpoint", "household", "direction", "verdict", "reason", "offline"]
    list_filter = ["direction", "verdict", "reason", "offline"]
    date_hierarchy = "device_time"
    exclude = ["person"]


@admin.register(GateAlert)
class GateAlertAdmin(GateRecordAdmin):
    list_display = ["created_at", "kind", "compound", "household", "detail", "acknowledged_at"]
    list_filter = ["kind"]


@admin.register(QuotaViolation)
class QuotaViolationAdmin(GateRecordAdmin):
    list_display = ["household", "period_start", "allowed", "counted", "acknowledged_at"]
    exclude = ["scans"]


@admin.register(ExemptPass)
class ExemptPassAdmin(GateRecordAdmin):
    list_display = ["name", "kind", "organisation", "valid_until", "is_active"]
    list_filter = ["kind", "is_active"]
    exclude = ["token", "person"]


@admin.register(Visit)
class VisitAdmin(GateRecordAdmin):
    list_display = ["name", "masked_id_number", "arrived_at", "left_at", "verdict", "compound"]
    list_filter = ["verdict"]
    exclude = ["id_number", "phone", "host_person"]


@admin.register(VehiclePass)
class VehiclePassAdmin(GateRecordAdmin):
    list_display = ["plate", "household", "is_active"]


@admin.register(VehicleEntry)
class VehicleEntryAdmin(GateRecordAdmin):
    list_display = ["at", "plate", "kind", "direction", "verdict", "compound"]
    list_filter = ["kind", "verdict"]


@admin.register(Parcel)
class ParcelAdmin(GateRecordAdmin):
    list_display = ["logged_at", "household", "carrier", "contactless", "picked_up_at"]
    list_filter = ["contactless"]
    exclude = ["pickup_code"]


@admin.register(Shift)
class ShiftAdmin(GateRecordAdmin):
    list_display = ["checkpoint", "name", "starts", "ends", "min_staff"]


@admin.register(DutyAssignment)
class DutyAssignmentAdmin(GateRecordAdmin):
    list_display = ["date", "shift", "user", "volunteer_name", "signed_in_at", "signed_out_at"]
    exclude = ["volunteer_phone"]
