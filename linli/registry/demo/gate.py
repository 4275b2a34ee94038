"""The demo street's gates (SPEC A1, A2, A10): one checkpoint 东门 per compound with its default shifts,
rules at medium risk (closed management), a pass for every household naming its householder, a few
sealed and home-observation households in the demo accounts' compound, and one compound in ticket
mode with this period's tickets. Written in bulk, without an audit event per row (the seed leaves one).
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from linli.gate import pass_admin
from linli.gate.choices import HoldReason, QuotaMode, RiskLevel
from linli.gate.duty import default_shifts
from linli.gate.models import Checkpoint, GateRules, HouseholdHold, HouseholdPass, Shift, place_kwargs
from linli.gate.services import PASS_VALID_DAYS
from linli.registry.choices import Relation
from linli.registry.demo import bulk
from linli.registry.models import Compound, Household, Person, Street

CHECKPOINT_NAME = "东门"
CHUNK = 5000  # households per batch of passes: bounds the memory of a big seed
DEMO_HOLDS = (
    (HoldReason.SEALED, "演示：同单元有确诊病例，单元封控"),
    (HoldReason.SEALED, "演示：同单元有确诊病例，单元封控"),
    (HoldReason.HOME_OBSERVATION, "演示：密接人员，居家观察14天"),
    (HoldReason.HOME_OBSERVATION, "演示：外地返回，居家观察7天"),
)


@dataclass
class GateSeed:
    checkpoints: dict[int, Checkpoint] = field(default_factory=dict)  # compound id -> its checkpoint
    passes: int = 0
    holds: int = 0
    tickets: int = 0
    ticket_compound: Compound | None = None


def seed_gate(
    street: Street,
    rng: random.Random,
    *,
    guard_compound: Compound | None,
    keep_free: set[int],
    today: datetime.date | None = None,
    say: Callable[[str], None] = lambda message: None,
    holds: bool = True,
) -> GateSeed:
    """Checkpoints, rules, passes, holds and tickets for every compound of the street.

    ``holds=False`` leaves out the raw demo holds: the health demo (``linli/health/demo.py``) holds
    the passes of its sealed and home-observation households through its orders and seals instead.
    """
    today = today or timezone.localdate()
    result = GateSeed()
    compounds = list(Compound.objects.filter(street=street).order_by("code"))
    others = [c for c in compounds if guard_compound is None or c.pk != guard_compound.pk]
    result.ticket_compound = others[-1] if others else None
    GateRules.objects.bulk_create(
        [
            GateRules(
                risk_level=RiskLevel.MEDIUM,
                mode=QuotaMode.TICKET if compound == result.ticket_compound else QuotaMode.QUOTA,
                six_entrance=True,
                six_team=True,
                six_desk=True,
                six_rules=True,
                **place_kwargs(compound),
            )
            for compound in compounds
        ],
        batch_size=1000,
    )
    checkpoints = Checkpoint.objects.bulk_create(
        [
            Checkpoint(code=f"{compound.code}-K01", name=CHECKPOINT_NAME, **place_kwargs(compound))
            for compound in compounds
        ],
        batch_size=1000,
    )
    by_pk = {compound.pk: compound for compound in compounds}
    Shift.objects.bulk_create(
        [shift for checkpoint in checkpoints for shift in default_shifts(checkpoint, by_pk[checkpoint.compound_id])],
        batch_size=1000,
    )
    result.checkpoints = {checkpoint.compound_id: checkpoint for checkpoint in checkpoints}

    result.passes = _seed_passes(street, today)
    say(f"卡口 {len(checkpoints)} 个，通行证 {result.passes:,} 张")

    if guard_compound is not None and holds:
        candidates = list(Household.objects.filter(compound=guard_compound).exclude(pk__in=keep_free).order_by("pk"))
        chosen = rng.sample(candidates, min(len(DEMO_HOLDS), len(candidates)))
        HouseholdHold.objects.bulk_create(
            [
                HouseholdHold(
                    household=household, reason=reason, note=note, source="demo", **place_kwargs(guard_compound)
                )
                for household, (reason, note) in zip(chosen, DEMO_HOLDS, strict=False)
            ]
        )
        result.holds = len(chosen)

    if result.ticket_compound is not None:
        rules = GateRules.objects.get(compound=result.ticket_compound)
        start = pass_admin.period_of(rules)
        rows = list(
            Household.objects.filter(compound=result.ticket_compound)
            .order_by("pk")
            .values_list("pk", "street_id", "community_id", "grid_id", "compound_id")
        )
        result.tickets = pass_admin.write_tickets(rows, period_start=start, period_days=rules.period_days)
    return result


def _seed_passes(street: Street, today: datetime.date) -> int:
    """A pass naming the householder (else the first member) for every household of the street."""
    total = 0
    last = 0
    while True:
        households = list(
            Household.objects.filter(street=street, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "street_id", "community_id", "grid_id", "compound_id")[:CHUNK]
        )
        if not households:
            return total
        low, high = households[0][0], households[-1][0]
        first: dict[int, int] = {}
        householder: dict[int, int] = {}
        people = (
            Person.objects.filter(household_id__gte=low, household_id__lte=high)
            .order_by("household_id", "pk")
            .values_list("household_id", "pk", "relation")
        )
        for household_id, person_id, relation in people:
            first.setdefault(household_id, person_id)
            if relation == Relation.HOUSEHOLDER:
                householder.setdefault(household_id, person_id)
        chosen = {**first, **householder}
        targets = [
            pass_admin.PassTarget(
                household_id=pk, place=(street_id, community_id, grid_id, compound_id), issue_no=1, members=(member,)
            )
            for pk, street_id, community_id, grid_id, compound_id in households
            if (member := chosen.get(pk)) is not None
        ]
        _write(pass_admin.signed_passes(targets, today=today, valid_days=PASS_VALID_DAYS), targets)
        total += len(targets)
        last = high


PASS_COLUMNS = (
    "id",
    "household_id",
    "issue_no",
    "number",
    "valid_from",
    "valid_until",
    "kid",
    "token",
    "is_active",
    "issued_at",
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
)


def _write(rows: list[HouseholdPass], targets: list[pass_admin.PassTarget]) -> None:
    """COPY (PostgreSQL) or executemany (SQLite) with explicit ids, like the rest of the seed."""
    if not rows:
        return
    first = bulk.next_id(HouseholdPass)
    issued_at = timezone.now()
    for offset, row in enumerate(rows):
        row.pk = first + offset
        row.issued_at = issued_at
    bulk.Table(HouseholdPass, PASS_COLUMNS).write(
        [tuple(getattr(row, column) for column in PASS_COLUMNS) for row in rows]
    )
    bulk.Table(HouseholdPass.members.through, ("householdpass_id", "person_id")).write(
        [(row.pk, member) for row, target in zip(rows, targets, strict=True) for member in target.members]
    )
    bulk.reset_sequences(HouseholdPass)


def bind_guard(username: str, checkpoint: Checkpoint | None) -> None:
    """The demo guard works at its compound's checkpoint (the checkpoint page opens straight away)."""
    from linli.accounts.models import User

    User.objects.filter(username=username).update(checkpoint=checkpoint)
