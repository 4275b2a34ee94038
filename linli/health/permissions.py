"""Who may do what in the health module (SPEC H1–H8); scope (which records) is linli.lib.scope's job.

Pages and API both ask these; a role outside a set gets 403 (or the page hides the action).
"""

from __future__ import annotations

from typing import Any

from linli.accounts.choices import Role

# Staff who see health records of their part of the tree.
VIEW_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.BUILDING_LEAD, Role.MEDIC})
# Register key persons, start / extend / end orders, schedule tests.
REGISTER_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.MEDIC})
# Record test results.
TEST_ROLES = frozenset({Role.COMMUNITY_WORKER, Role.MEDIC, Role.STREET_COMMAND})
# Report a temperature on someone's behalf (代报): volunteers and building leads too.
PROXY_REPORT_ROLES = frozenset(
    {Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.BUILDING_LEAD, Role.MEDIC}
)
# Record the steps of a fever escalation.
ESCALATION_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.MEDIC})
# Sign a release: the cadre or the medic (services.signing_role says which).
SIGN_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.MEDIC})
# Record cases, close contacts and epidemic points.
CASE_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.MEDIC})
# Confirm a seal and unseal; set property emergency levels.
SEAL_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER})
# The street's tables: rule table, risk areas, reporting clock, isolation sites.
STREET_TABLE_ROLES = frozenset({Role.STREET_COMMAND})


def has_role(user: Any, roles: frozenset[str]) -> bool:
    """The account is active staff with one of ``roles`` (a superuser always is)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or getattr(user, "role", None) in roles)
