from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of SPEC's table."""

    STREET_COMMAND = "street_command", _("街道指挥部")
    COMMUNITY_WORKER = "community_worker", _("社区干部")
    GRID_WORKER = "grid_worker", _("网格员")
    BUILDING_LEAD = "building_lead", _("楼栋长/志愿者")
    GATE_GUARD = "gate_guard", _("值守人员")
    MEDIC = "medic", _("医务人员")
    SUPPLIER = "supplier", _("保供商超")
    RESIDENT = "resident", _("居民")


# Roles whose work needs full ID numbers and phone numbers (calling people, registering key
# persons); they may reveal a masked value, and every reveal is audited.
REVEAL_ROLES = frozenset({Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.MEDIC})

# Roles that record and change registry data (people, households, surveys, imports).
REGISTRY_EDIT_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER})

# Roles that work at the gate: record scans at a checkpoint of their part of the tree, see who is out.
GATE_ROLES = frozenset({Role.GATE_GUARD, Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.STREET_COMMAND})

# Roles that run the back office (Django admin) and read the audit log of their part of the tree.
ADMIN_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER})

# The tree level each staff role is normally scoped to (the checkpoint and the supplier of the
# gate and supplies issues attach to these levels).
ROLE_LEVEL = {
    Role.STREET_COMMAND: "street",
    Role.COMMUNITY_WORKER: "community",
    Role.GRID_WORKER: "grid",
    Role.BUILDING_LEAD: "building",
    Role.GATE_GUARD: "compound",
    Role.MEDIC: "community",
    Role.SUPPLIER: None,
    Role.RESIDENT: "household",
}
