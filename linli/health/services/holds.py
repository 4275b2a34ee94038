"""The gate seam (docs/health.md): the household's gate holds follow its orders and seals."""

from __future__ import annotations

from typing import Any

from linli.gate.choices import HoldReason
from linli.gate.models import HouseholdHold
from linli.gate.services import hold_release, hold_set
from linli.health.choices import (
    OrderStatus,
)
from linli.health.models import (
    QuarantineOrder,
    SealedHousehold,
)
from linli.registry.models import Household

# The ``source`` of the gate holds this module sets and releases.
HOLD_SOURCE = "health"


def sync_household_holds(household: Household, *, actor: Any) -> None:
    """Make the household's gate holds match its orders and seals (the gate refuses with the reason).

    Home observation: held while any member has an active order at home. Sealed: held while the
    household is in an active seal. Releasing one member's order keeps the hold for another's.
    """
    home = QuarantineOrder.objects.filter(household=household, status=OrderStatus.ACTIVE, holds_pass=True).exists()
    sealed = SealedHousehold.objects.filter(household=household, active=True).exists()
    # Only holds this module set are ours to release: a hold set by hand at the gate (or an
    # imported one) stays until someone releases it there.
    ours = set(
        HouseholdHold.objects.filter(household=household, released_at__isnull=True, source=HOLD_SOURCE).values_list(
            "reason", flat=True
        )
    )
    for reason, wanted in ((HoldReason.HOME_OBSERVATION, home), (HoldReason.SEALED, sealed)):
        if wanted:
            hold_set(household=household, reason=reason, actor=actor, source=HOLD_SOURCE)
        elif reason in ours:
            hold_release(household=household, reason=reason, actor=actor)
