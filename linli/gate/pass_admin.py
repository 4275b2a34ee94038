"""Household passes in bulk, tickets of a period, and the pass status the pass pages show (A2).

``linli.gate.services`` issues one household's pass at a time (it locks the household, checks the
hold, revokes the previous pass, signs, audits). A compound of 2,000 households needs the same in a
handful of queries: :func:`passes_issue_missing` locks the compound's households in primary-key
order (the order every other writer of a household's pass takes its one lock in), reads what each
lacks, signs in Python and writes with ``bulk_create``. One audit event describes the batch.
"""

from __future__ import annotations

import datetime
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.gate import keys, passes, quota, services
from linli.gate.choices import HoldReason, QuotaMode
from linli.gate.models import ExemptPass, GateRules, HouseholdHold, HouseholdPass, OutingTicket
from linli.lib.qr import make_qr
from linli.lib.wording import bracketed
from linli.registry.choices import Relation
from linli.registry.models import Compound, Household, Person

# Holds in the order a household's status names them: sealed outranks home observation.
HOLD_ORDER = (HoldReason.SEALED, HoldReason.HOME_OBSERVATION, HoldReason.OTHER)

STATUS_LABELS = {
    "valid": gettext_lazy("有效"),
    "held": gettext_lazy("暂停"),
    "expired": gettext_lazy("已过期"),
    "pending": gettext_lazy("未生效"),
    "none": gettext_lazy("未办理"),
}

# What a resident is told instead of a QR while the household is on hold.
HOLD_EXPLANATIONS = {
    HoldReason.SEALED: gettext_lazy(
        "您家目前处于封控管理中，暂停出入，通行证在解除封控后自动恢复。"
        "生活物资由社区和志愿者送到门口；有急事请联系楼栋长或社区。"
    ),
    HoldReason.HOME_OBSERVATION: gettext_lazy(
        "您家目前处于居家观察期间，请不要外出，通行证在观察期结束后自动恢复。需要买菜、取药等请联系楼栋长或社区代办。"
    ),
    HoldReason.OTHER: gettext_lazy("您家的通行证已被社区暂停使用。如有疑问请联系社区或网格员。"),
}


def strongest_hold(reasons: Iterable[str]) -> str | None:
    found = set(reasons)
    for reason in HOLD_ORDER:
        if reason in found:
            return str(reason)
    return None


def pass_status(household_pass: HouseholdPass | None, hold: str | None, today: datetime.date) -> str:
    """valid, held, expired, pending (not yet valid) or none, for one household's active pass."""
    if hold is not None:
        return "held"
    if household_pass is None:
        return "none"
    if household_pass.valid_until < today:
        return "expired"
    if household_pass.valid_from > today:
        return "pending"
    return "valid"


def qr_svg(text: str, *, border: int = 4) -> str:
    """The QR of a pass as inline SVG without a fixed size (it fills its box), black on white."""
    buffer = io.BytesIO()
    make_qr(text).save(
        buffer, kind="svg", border=border, xmldecl=False, svgns=True, omitsize=True, dark="#000", light="#fff"
    )
    return buffer.getvalue().decode("utf-8")


def room_order(household: Household) -> tuple[Any, ...]:
    """Building, unit, then room in numeric order (101, 102, …, 1001), for lists and sheets of cards."""
    building, unit = household.building, household.unit
    return (building.number, building.name, unit.number, unit.name, len(household.room), household.room)


def householder_choice(members: Sequence[Person]) -> Person | None:
    """The member a new pass names by default: the householder, else the first registered member."""
    for member in members:
        if member.relation == Relation.HOUSEHOLDER:
            return member
    return members[0] if members else None


# ----------------------------------------------------------------------------------------------
# Passes in bulk


@dataclass(frozen=True)
class PassTarget:
    """One pass to write: the household, its place in the tree, the issue number and the members."""

    household_id: int
    place: tuple[int, int, int, int]  # street, community, grid, compound ids
    issue_no: int
    members: tuple[int, ...]


@dataclass
class BulkOutcome:
    issued: int = 0
    already: int = 0  # a valid pass already
    held: int = 0  # on hold: no pass until released
    no_members: int = 0  # nobody registered to name on a pass
    renewed: int = 0  # an expired pass revoked and a new one issued (counted in issued too)
    skipped_rooms: list[str] = field(default_factory=list)


def unique_numbers(model: Any, count: int) -> list[str]:
    """``count`` new 10-digit numbers, distinct, and unused by any pass, ticket or exempt pass.

    ``model`` is the kind being numbered; every kind is checked, because a typed number must name
    one thing at the gate (see ``services.unique_pass_number``).
    """
    chosen: set[str] = set()
    while len(chosen) < count:
        batch = {passes.new_number() for _ in range(count - len(chosen))} - chosen
        taken: set[str] = set()
        candidates = sorted(batch)
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            for numbered in (HouseholdPass, OutingTicket, ExemptPass):
                taken.update(numbered.objects.filter(number__in=chunk).values_list("number", flat=True))
        chosen |= batch - taken
    return list(chosen)


def signed_passes(
    targets: Sequence[PassTarget], *, actor: Any = None, today: datetime.date, valid_days: int
) -> list[HouseholdPass]:
    """One new active pass per target, signed, not yet saved (in the order of ``targets``)."""
    if not targets:
        return []
    kid, private_key = keys.signing_key()
    valid_until = today + datetime.timedelta(days=valid_days)
    numbers = unique_numbers(HouseholdPass, len(targets))
    issued_by = actor if getattr(actor, "is_authenticated", False) else None
    rows = []
    for target, number in zip(targets, numbers, strict=True):
        payload = passes.Payload(
            kind=passes.Kind.HOUSEHOLD,
            kid=kid,
            subject=target.household_id,
            issue_no=target.issue_no,
            valid_from=today,
            valid_until=valid_until,
            members=tuple(sorted(target.members)),
        )
        street_id, community_id, grid_id, compound_id = target.place
        rows.append(
            HouseholdPass(
                household_id=target.household_id,
                issue_no=target.issue_no,
                number=number,
                valid_from=today,
                valid_until=valid_until,
                kid=kid,
                token=passes.sign(payload, private_key),
                issued_by=issued_by,
                street_id=street_id,
                community_id=community_id,
                grid_id=grid_id,
                compound_id=compound_id,
            )
        )
    return rows


def write_passes(
    targets: Sequence[PassTarget], *, actor: Any = None, today: datetime.date, valid_days: int
) -> list[HouseholdPass]:
    """Sign and insert one active pass per target; the caller holds the locks and made room for them."""
    rows = signed_passes(targets, actor=actor, today=today, valid_days=valid_days)
    if not rows:
        return []
    created = HouseholdPass.objects.bulk_create(rows, batch_size=500)
    through = HouseholdPass.members.through
    links = [
        through(householdpass_id=row.pk, person_id=member)
        for row, target in zip(created, targets, strict=True)
        for member in target.members
    ]
    through.objects.bulk_create(links, batch_size=1000)
    return created


def _members_by_household(compound_id: int) -> dict[int, int]:
    """household id -> the member a bulk pass names (the householder, else the first registered)."""
    chosen: dict[int, int] = {}
    householders: set[int] = set()
    rows = (
        Person.objects.filter(household__compound_id=compound_id)
        .order_by("household_id", "pk")
        .values_list("household_id", "pk", "relation")
    )
    for household_id, person_id, relation in rows:
        if relation == Relation.HOUSEHOLDER and household_id not in householders:
            chosen[household_id] = person_id
            householders.add(household_id)
        elif household_id not in chosen:
            chosen[household_id] = person_id
    return chosen


def active_holds(compound_id: int) -> dict[int, str]:
    """household id -> the strongest active hold, for the households of a compound on hold."""
    reasons: dict[int, set[str]] = defaultdict(set)
    rows = HouseholdHold.objects.filter(compound_id=compound_id, released_at__isnull=True).values_list(
        "household_id", "reason"
    )
    for household_id, reason in rows:
        reasons[household_id].add(reason)
    return {household_id: strongest_hold(found) or HoldReason.OTHER for household_id, found in reasons.items()}


def passes_issue_missing(
    compound: Compound,
    actor: Any = None,
    *,
    today: datetime.date | None = None,
    valid_days: int = services.PASS_VALID_DAYS,
) -> BulkOutcome:
    """A pass naming the householder for every household of the compound without a valid one.

    Households on hold are left without (A2: no valid pass until released); households with nobody
    registered are left too. An active pass that has expired is revoked and replaced.
    """
    today = today or timezone.localdate()
    outcome = BulkOutcome()
    with transaction.atomic():
        households = list(
            Household.objects.select_for_update()
            .filter(compound_id=compound.pk)
            .order_by("pk")
            .values_list("pk", "street_id", "community_id", "grid_id", "room")
        )
        holds = active_holds(compound.pk)
        current = dict(
            HouseholdPass.objects.filter(compound_id=compound.pk, is_active=True).values_list(
                "household_id", "valid_until"
            )
        )
        last_issue = dict(
            HouseholdPass.objects.filter(compound_id=compound.pk)
            .values("household_id")
            .annotate(last=Max("issue_no"))
            .values_list("household_id", "last")
        )
        members = _members_by_household(compound.pk)
        targets: list[PassTarget] = []
        expired: list[int] = []
        for household_id, street_id, community_id, grid_id, room in households:
            if household_id in holds:
                outcome.held += 1
                continue
            valid_until = current.get(household_id)
            if valid_until is not None and valid_until >= today:
                outcome.already += 1
                continue
            member = members.get(household_id)
            if member is None:
                outcome.no_members += 1
                outcome.skipped_rooms.append(room)
                continue
            if valid_until is not None:
                expired.append(household_id)
            targets.append(
                PassTarget(
                    household_id=household_id,
                    place=(street_id, community_id, grid_id, compound.pk),
                    issue_no=(last_issue.get(household_id) or 0) + 1,
                    members=(member,),
                )
            )
        if expired:
            for start in range(0, len(expired), 500):
                HouseholdPass.objects.filter(household_id__in=expired[start : start + 500], is_active=True).update(
                    is_active=False, revoked_at=timezone.now(), revoked_reason=_("已过期，重新发证")
                )
        write_passes(targets, actor=actor, today=today, valid_days=valid_days)
        outcome.issued = len(targets)
        outcome.renewed = len(expired)
        if targets:
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                model=HouseholdPass._meta.label,
                object_pk=str(compound.pk),
                object_repr=_("%(compound)s 批量发放通行证") % {"compound": compound.name},
                changes={"issued": outcome.issued, "renewed": outcome.renewed, "valid_days": valid_days},
                street_id=compound.street_id,
                community_id=compound.community_id,
            )
    return outcome


# ----------------------------------------------------------------------------------------------
# Tickets (出入券)


def ticket_mode(rules: GateRules) -> bool:
    return rules.mode == QuotaMode.TICKET


def period_of(rules: GateRules, moment: datetime.datetime | None = None, *, following: bool = False) -> datetime.date:
    """The first day of the rules' current period (or of the one after it)."""
    qr = services.quota_rules(rules)
    moment = moment or timezone.now()
    start = quota.period_start(qr, moment)
    if following:
        start += datetime.timedelta(days=max(rules.period_days, 1))
    return start


def period_end(rules: GateRules, start: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=max(rules.period_days, 1) - 1)


def write_tickets(
    households: Sequence[tuple[int, int, int, int, int]], *, period_start: datetime.date, period_days: int
) -> int:
    """Sign and insert one ticket of the period per (household, street, community, grid, compound) row."""
    if not households:
        return 0
    kid, private_key = keys.signing_key()
    numbers = unique_numbers(OutingTicket, len(households))
    valid_until = period_start + datetime.timedelta(days=max(period_days, 1) - 1)
    tickets = []
    for (household_id, street_id, community_id, grid_id, compound_id), number in zip(households, numbers, strict=True):
        payload = passes.Payload(
            kind=passes.Kind.TICKET,
            kid=kid,
            subject=household_id,
            issue_no=0,
            valid_from=period_start,
            valid_until=valid_until,
        )
        tickets.append(
            OutingTicket(
                household_id=household_id,
                period_start=period_start,
                number=number,
                kid=kid,
                token=passes.sign(payload, private_key),
                street_id=street_id,
                community_id=community_id,
                grid_id=grid_id,
                compound_id=compound_id,
            )
        )
    OutingTicket.objects.bulk_create(tickets, batch_size=500)
    return len(tickets)


@dataclass
class TicketOutcome:
    issued: int = 0
    already: int = 0
    held: int = 0


def tickets_issue_period(compound: Compound, actor: Any = None, *, period_start: datetime.date) -> TicketOutcome:
    """One ticket for the period for every household of the compound not on hold (ticket mode)."""
    rules = services.rules_for(compound)
    if not ticket_mode(rules):
        raise services.GateError(_("本小区当前不是出入券管理方式，请先在出入规则中改为出入券"))
    outcome = TicketOutcome()
    with transaction.atomic():
        households = list(
            Household.objects.select_for_update()
            .filter(compound_id=compound.pk)
            .order_by("pk")
            .values_list("pk", "street_id", "community_id", "grid_id")
        )
        holds = active_holds(compound.pk)
        existing = set(
            OutingTicket.objects.filter(compound_id=compound.pk, period_start=period_start).values_list(
                "household_id", flat=True
            )
        )
        todo = []
        for row in households:
            if row[0] in holds:
                outcome.held += 1
            elif row[0] in existing:
                outcome.already += 1
            else:
                todo.append(row)
        if todo:
            outcome.issued = write_tickets(
                [(*row, compound.pk) for row in todo], period_start=period_start, period_days=rules.period_days
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                model=OutingTicket._meta.label,
                object_pk=str(compound.pk),
                object_repr=_("%(compound)s 发放出入券") % {"compound": compound.name},
                changes={"period_start": period_start.isoformat(), "issued": outcome.issued},
                street_id=compound.street_id,
                community_id=compound.community_id,
            )
    return outcome


# ----------------------------------------------------------------------------------------------
# Reads for the pages


@dataclass
class HouseholdRow:
    household_id: int
    address: str
    building_id: int
    status: str
    number: str = ""
    valid_until: datetime.date | None = None
    hold: str | None = None

    @property
    def status_label(self) -> str:
        if self.hold is not None:
            return bracketed(STATUS_LABELS["held"], HoldReason(self.hold).label)
        return str(STATUS_LABELS[self.status])

    @property
    def number_display(self) -> str:
        return passes.format_number(self.number) if self.number else ""


def compound_rows(compound: Compound, *, today: datetime.date | None = None) -> list[HouseholdRow]:
    """Every household of the compound with its pass status, in building, unit, room order (3 queries)."""
    today = today or timezone.localdate()
    holds = active_holds(compound.pk)
    current = {
        household_id: (number, valid_from, valid_until)
        for household_id, number, valid_from, valid_until in HouseholdPass.objects.filter(
            compound_id=compound.pk, is_active=True
        ).values_list("household_id", "number", "valid_from", "valid_until")
    }
    rows = []
    households = sorted(
        Household.objects.filter(compound_id=compound.pk).values_list(
            "pk", "building_id", "building__name", "unit__name", "room", "building__number", "unit__number"
        ),
        key=lambda row: (row[5], row[2], row[6], row[3], len(row[4]), row[4]),
    )
    for household_id, building_id, building, unit, room, _building_number, _unit_number in households:
        hold = holds.get(household_id)
        found = current.get(household_id)
        if hold is not None:
            status = "held"
        elif found is None:
            status = "none"
        elif found[2] < today:
            status = "expired"
        elif found[1] > today:
            status = "pending"
        else:
            status = "valid"
        rows.append(
            HouseholdRow(
                household_id=household_id,
                address=f"{building}{unit}{room}",
                building_id=building_id,
                status=status,
                number=found[0] if found else "",
                valid_until=found[2] if found else None,
                hold=hold,
            )
        )
    return rows


def compound_counts(compound_ids: Sequence[int], *, today: datetime.date | None = None) -> dict[int, dict[str, int]]:
    """Per compound: households, valid passes (not on hold), households on hold — 3 grouped queries."""
    today = today or timezone.localdate()
    counts: dict[int, dict[str, int]] = {pk: {"households": 0, "valid": 0, "held": 0} for pk in compound_ids}
    open_holds = HouseholdHold.objects.filter(compound_id__in=compound_ids, released_at__isnull=True)
    queries: dict[str, Any] = {
        "households": Household.objects.filter(compound_id__in=compound_ids)
        .values("compound_id")
        .annotate(n=Count("pk")),
        "held": open_holds.values("compound_id").annotate(n=Count("household_id", distinct=True)),
        "valid": HouseholdPass.objects.filter(
            compound_id__in=compound_ids, is_active=True, valid_from__lte=today, valid_until__gte=today
        )
        .exclude(household_id__in=open_holds.values("household_id"))
        .values("compound_id")
        .annotate(n=Count("pk")),
    }
    for key, query in queries.items():
        for compound_id, n in query.values_list("compound_id", "n"):
            counts[compound_id][key] = n
    return counts
