"""Who may do what in supplies (SPEC S1–S10); scope (which records) is linli.lib.scope's job.

Supplier staff have no place in the tree; ``linli.lib.scope`` shows them their own supplier's
records (``SUPPLIER_LOOKUP``). Pages and API both ask these sets; a role outside gets 403.
"""

from __future__ import annotations

from typing import Any

from linli.accounts.choices import Role

# Designate suppliers, set the street's supplies thresholds.
STREET_ROLES = frozenset({Role.STREET_COMMAND})
# Manage a catalogue, stock, prices and staff checks: the supplier's own staff, or staff for them.
CATALOGUE_ROLES = frozenset({Role.SUPPLIER, Role.STREET_COMMAND, Role.COMMUNITY_WORKER})
# Create, publish and aggregate order windows; allocate shortfalls; settle with suppliers.
WINDOW_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER})
# Order on behalf of any household in scope (代下单, S3).
PROXY_ORDER_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER})
# Pack: pick lists and labels (the supplier, and staff who print for it).
PACKING_ROLES = frozenset({Role.SUPPLIER, Role.STREET_COMMAND, Role.COMMUNITY_WORKER})
# Set up drop-off points and delivery runs.
DELIVERY_ADMIN_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER})
# Carry bags and confirm hand-overs (volunteers are building leads).
DELIVERY_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.BUILDING_LEAD})
# Collect payments (代收) and record credit.
MONEY_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER})
# Staff who see the supplies back office at all.
VIEW_ROLES = CATALOGUE_ROLES | WINDOW_ROLES | PROXY_ORDER_ROLES | DELIVERY_ROLES


def has_role(user: Any, roles: frozenset[str]) -> bool:
    """The account is signed in with one of ``roles`` (a superuser always is)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or getattr(user, "role", None) in roles)
