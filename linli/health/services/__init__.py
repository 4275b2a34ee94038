"""What the health module does (SPEC H1–H8): every write goes through here, in one transaction.

Refusals are ``ValidationError`` with a message in the user's language (field-keyed where a form
field is to blame). Clocks are parameters (``now``/``today``) so that tests control them; callers
pass nothing and get the current time.

One module per part — ``orders`` (isolation sites, key persons, orders, tests, release), ``reports``
(temperatures, fever escalation), ``cases`` (cases, contacts, epidemic points, community status),
``seals``, ``emergency`` (property levels), ``holds`` (the gate seam) — each public name re-exported
here, so that ``from linli.health import services; services.seal_create(…)`` is the way to call them.
"""

from __future__ import annotations

from linli.health.services.cases import (
    MEASURES,
    POINT_DAYS_BEFORE_ONSET,
    POINT_MIN_HOURS,
    STRATEGY,
    StatusFinding,
    case_record,
    classify,
    contact_add,
    point_add,
    point_window,
    status_of,
    status_refresh,
)
from linli.health.services.emergency import (
    emergency_set,
    emergency_tick,
)
from linli.health.services.holds import (
    HOLD_SOURCE,
    sync_household_holds,
)
from linli.health.services.orders import (
    CADRE_ROLES,
    MEDIC_ROLES,
    SIGN_CADRE,
    SIGN_MEDIC,
    SITE_FIELDS,
    Registration,
    SignOutcome,
    isolation_site_add,
    isolation_site_update,
    key_person_register,
    order_end,
    order_extend,
    order_start,
    release_blockers,
    release_sign,
    signing_role,
    test_add,
    test_result_record,
)
from linli.health.services.reports import (
    STEP_NEEDS,
    ReportOutcome,
    escalation_open,
    escalation_step_done,
    parse_symptoms,
    slot_for,
    steps_overdue,
    temperature_report,
)
from linli.health.services.seals import (
    SEAL_TARGETS,
    UNSEAL_CONDITIONS,
    SealSuggestion,
    seal_create,
    seal_label,
    seal_release,
    seal_suggestions,
    unseal_blockers,
)

__all__ = [
    "CADRE_ROLES",
    "HOLD_SOURCE",
    "MEASURES",
    "MEDIC_ROLES",
    "POINT_DAYS_BEFORE_ONSET",
    "POINT_MIN_HOURS",
    "SEAL_TARGETS",
    "SIGN_CADRE",
    "SIGN_MEDIC",
    "SITE_FIELDS",
    "STEP_NEEDS",
    "STRATEGY",
    "UNSEAL_CONDITIONS",
    "Registration",
    "ReportOutcome",
    "SealSuggestion",
    "SignOutcome",
    "StatusFinding",
    "case_record",
    "classify",
    "contact_add",
    "emergency_set",
    "emergency_tick",
    "escalation_open",
    "escalation_step_done",
    "isolation_site_add",
    "isolation_site_update",
    "key_person_register",
    "order_end",
    "order_extend",
    "order_start",
    "parse_symptoms",
    "point_add",
    "point_window",
    "release_blockers",
    "release_sign",
    "seal_create",
    "seal_label",
    "seal_release",
    "seal_suggestions",
    "signing_role",
    "slot_for",
    "status_of",
    "status_refresh",
    "steps_overdue",
    "sync_household_holds",
    "temperature_report",
    "test_add",
    "test_result_record",
    "unseal_blockers",
]
