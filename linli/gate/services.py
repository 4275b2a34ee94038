"""The gate's writes: rules and checkpoints, passes and holds, scans online and offline (A1–A3, A10).

The server is authoritative. An online scan is decided here, inside one transaction that locks the
household, so two gates cannot both let the last outing of a period through. An offline scan was
decided by the gate; the server keeps it as the gate reported it and then recomputes, for every
household it touches, the quota violations of each window, the household's state (latest scan by
device time) and the overdue alerts — all functions of the set of scans, not of their arrival order.
"""

from __future__ import annotations

import datetime
import itertools
import uuid as uuid_module
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from linli.accounts.choices import GATE_ROLES
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.gate import keys, passes, quota
from linli.gate.choices import AlertKind, Direction, HoldReason, QuotaMode, Reason, Verdict
from linli.gate.models import (
    Checkpoint,
    ExemptPass,
    GateAlert,
    GateRules,
    GateScan,
    HouseholdGateState,
    HouseholdHold,
    HouseholdPass,
    OutingTicket,
    Parcel,
    QuotaViolation,
    place_kwargs,
)
from linli.lib import prepared
from linli.lib.apiauth import LAST_USED_RESOLUTION
from linli.registry.choices import HealthCode
from linli.registry.models import Compound, Household, Person

PASS_VALID_DAYS = 90


class GateError(ValueError):
    """A request the gate cannot carry out; the message is for the user."""


# ----------------------------------------------------------------------------------------------
# Rules and checkpoints


def rules_for(compound: Compound) -> GateRules:
    """The compound's rules, created with the defaults (1 outing per 2 days, 3 hours) on first use.

    When the compound was loaded with ``select_related("gate_rules")`` (as the checkpoint API does,
    in the same query as the checkpoint) those rules are used as loaded.
    """
    descriptor: Any = getattr(Compound, "gate_rules", None)
    if descriptor is not None and descriptor.is_cached(compound):
        loaded = compound._state.fields_cache.get("gate_rules")
        if loaded is not None:
            return loaded  # type: ignore[no-any-return]
    rules = GateRules.objects.filter(compound_id=compound.pk).first()
    if rules is None:
        try:
            with transaction.atomic():
                rules = GateRules.objects.create(**place_kwargs(compound))
        except IntegrityError:
            rules = GateRules.objects.get(compound_id=compound.pk)
    return rules


def quota_rules(rules: GateRules) -> quota.Rules:
    return quota.Rules(
        closed=rules.is_closed,
        ticket_mode=rules.mode == QuotaMode.TICKET,
        outings_per_period=rules.outings_per_period,
        period_days=rules.period_days,
        max_hours_out=Decimal(rules.max_hours_out),
        out_from=rules.out_from,
        out_until=rules.out_until,
        anchor=rules.period_anchor,
    )


def checkpoint_create(*, compound: Compound, name: str, actor: Any = None, note: str = "") -> Checkpoint:
    """A new entrance of the compound, with the default duty shifts (A1, A8)."""
    name = name.strip()
    if not name:
        raise GateError(_("请填写卡口名称"))
    if Checkpoint.objects.filter(compound_id=compound.pk, name=name).exists():
        raise GateError(_("本小区已有同名卡口"))
    with transaction.atomic():
        count = Checkpoint.objects.filter(compound_id=compound.pk).count()
        checkpoint = Checkpoint.objects.create(
            code=f"{compound.code}-K{count + 1:02d}", name=name, note=note, **place_kwargs(compound)
        )
        rules_for(compound)
        from linli.gate.duty import shifts_create_default

        shifts_create_default(checkpoint)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=checkpoint, changes={"name": name})
    return checkpoint


# ----------------------------------------------------------------------------------------------
# Holds (the health module calls these) and passes


def active_hold(household_id: int) -> str | None:
    """The reason passes of the household are suspended now (sealed first), or None."""
    reasons = set(
        HouseholdHold.objects.filter(household_id=household_id, released_at__isnull=True).values_list(
            "reason", flat=True
        )
    )
    for reason in (HoldReason.SEALED, HoldReason.HOME_OBSERVATION, HoldReason.OTHER):
        if reason in reasons:
            return str(reason)
    return None


def hold_set(
    *, household: Household, reason: str, actor: Any = None, source: str = "", note: str = ""
) -> HouseholdHold:
    """Suspend the household's passes (sealed, home observation, …) until :func:`hold_release`.

    Idempotent per reason: an active hold with the same reason is returned as it is. Parcels of the
    household still waiting at the gate are delivered to its door from now on (contactless): nobody
    of a held household comes to the gate to collect them (H7).
    """
    if reason not in HoldReason.values:
        raise GateError(_("未知的暂停原因"))
    with transaction.atomic():
        Household.objects.select_for_update().filter(pk=household.pk).exists()
        existing = HouseholdHold.objects.filter(household=household, reason=reason, released_at__isnull=True).first()
        if existing is not None:
            return existing
        hold = HouseholdHold.objects.create(
            household=household,
            reason=reason,
            source=source,
            note=note,
            started_by=actor if getattr(actor, "is_authenticated", False) else None,
            **place_kwargs(household.compound),
        )
        Parcel.objects.filter(household=household, picked_up_at__isnull=True).update(contactless=True)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=hold, changes={"reason": reason, "source": source})
    return hold


def hold_release(*, household: Household, reason: str | None = None, actor: Any = None) -> int:
    """Release the household's active holds (of one reason, or all); the number released."""
    with transaction.atomic():
        holds = HouseholdHold.objects.select_for_update().filter(household=household, released_at__isnull=True)
        if reason is not None:
            holds = holds.filter(reason=reason)
        released = 0
        for hold in holds:
            hold.released_at = timezone.now()
            hold.released_by = actor if getattr(actor, "is_authenticated", False) else None
            hold.save(update_fields=["released_at", "released_by"])
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=hold, changes={"released": [None, "yes"]})
            released += 1
    return released


def unique_pass_number() -> str:
    """A pass number no household pass, ticket or exempt pass uses (a typed number names one thing)."""
    while True:
        number = passes.new_number()
        if not (
            HouseholdPass.objects.filter(number=number).exists()
            or OutingTicket.objects.filter(number=number).exists()
            or ExemptPass.objects.filter(number=number).exists()
        ):
            return number


def pass_issue(
    *,
    household: Household,
    members: Sequence[Person],
    actor: Any = None,
    valid_days: int = PASS_VALID_DAYS,
    today: datetime.date | None = None,
) -> HouseholdPass:
    """Issue the household's pass for its designated members; the previous pass is revoked (A2)."""
    members = list(members)
    if not members:
        raise GateError(_("请至少指定一名外出人员"))
    if len(members) > passes.MAX_MEMBERS:
        raise GateError(_("指定外出人员最多 %(n)s 人") % {"n": passes.MAX_MEMBERS})
    if any(member.household_id != household.pk for member in members):
        raise GateError(_("指定外出人员必须是本户成员"))
    today = today or timezone.localdate()
    with transaction.atomic():
        Household.objects.select_for_update().filter(pk=household.pk).exists()
        hold = active_hold(household.pk)
        if hold is not None:
            raise GateError(_("本户处于%(reason)s中，解除前不能发放通行证") % {"reason": HoldReason(hold).label})
        previous = HouseholdPass.objects.filter(household=household, is_active=True).first()
        if previous is not None:
            _revoke(previous, _("重新发证"))
        issue_no = (HouseholdPass.objects.filter(household=household).aggregate(n=Max("issue_no"))["n"] or 0) + 1
        kid, private_key = keys.signing_key()
        valid_until = today + datetime.timedelta(days=valid_days)
        payload = passes.Payload(
            kind=passes.Kind.HOUSEHOLD,
            kid=kid,
            subject=household.pk,
            issue_no=issue_no,
            valid_from=today,
            valid_until=valid_until,
            members=tuple(sorted(member.pk for member in members)),
        )
        household_pass = HouseholdPass.objects.create(
            household=household,
            issue_no=issue_no,
            number=unique_pass_number(),
            valid_from=today,
            valid_until=valid_until,
            kid=kid,
            token=passes.sign(payload, private_key),
            issued_by=actor if getattr(actor, "is_authenticated", False) else None,
            **place_kwargs(household.compound),
        )
        household_pass.members.set(members)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=household_pass,
            changes={"issue_no": issue_no, "members": [member.name for member in members]},
        )
    return household_pass


def _revoke(household_pass: HouseholdPass, reason: str) -> None:
    household_pass.is_active = False
    household_pass.revoked_at = timezone.now()
    household_pass.revoked_reason = reason[:100]
    household_pass.save(update_fields=["is_active", "revoked_at", "revoked_reason"])


def pass_revoke(*, household_pass: HouseholdPass, actor: Any = None, reason: str = "") -> HouseholdPass:
    with transaction.atomic():
        if household_pass.is_active:
            _revoke(household_pass, reason or _("作废"))
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=household_pass, changes={"revoked": reason})
    return household_pass


def ticket_issue(*, household: Household, period_start: datetime.date, actor: Any = None) -> OutingTicket:
    """The household's reclaimable ticket 出入券 for one period (ticket mode); one per period."""
    existing = OutingTicket.objects.filter(household=household, period_start=period_start).first()
    if existing is not None:
        return existing
    rules = rules_for(household.compound)
    kid, private_key = keys.signing_key()
    payload = passes.Payload(
        kind=passes.Kind.TICKET,
        kid=kid,
        subject=household.pk,
        issue_no=0,
        valid_from=period_start,
        valid_until=period_start + datetime.timedelta(days=max(rules.period_days, 1) - 1),
    )
    with transaction.atomic():
        return OutingTicket.objects.create(
            household=household,
            period_start=period_start,
            number=unique_pass_number(),
            kid=kid,
            token=passes.sign(payload, private_key),
            **place_kwargs(household.compound),
        )


# ----------------------------------------------------------------------------------------------
# Scans


@dataclass
class ScanInput:
    """A scan as the gate sends it. ``verdict``/``reason`` are the gate's own, for offline scans."""

    uuid: uuid_module.UUID
    credential: str
    direction: str
    device_time: datetime.datetime
    temperature: Decimal | None = None
    mask: bool | None = None
    health_code: str = ""
    person_id: int | None = None
    verdict: str | None = None
    reason: str = ""
    guard_id: int | None = None


@dataclass
class Presented:
    """What a credential turned out to be."""

    household_id: int | None = None
    compound_id: int | None = None
    pass_id: int | None = None
    ticket: OutingTicket | None = None
    exempt: ExemptPass | None = None
    # The hold of the household an exempt pass's holder lives in: a sealed home keeps them in (H7).
    exempt_hold: str | None = None
    members: tuple[int, ...] = ()
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    refusal: str | None = None
    # Names of the pass's designated members, when they came with the pass row (id → name).
    names: dict[int, str] | None = None


@dataclass
class Decision:
    verdict: str
    reason: str = Reason.OK
    message: str = ""
    next_out_at: datetime.datetime | None = None


@dataclass
class ScanResult:
    scan: GateScan
    duplicate: bool = False
    next_out_at: datetime.datetime | None = None
    household: dict[str, Any] | None = field(default=None)

    @property
    def verdict(self) -> str:
        return self.scan.verdict

    @property
    def reason(self) -> str:
        return self.scan.reason

    @property
    def message(self) -> str:
        return self.scan.message


_CN_DIGITS = "零一两三四五六七八九十"


def _count_words(n: int) -> str:
    if get_language() and str(get_language()).startswith("zh") and 0 <= n <= 10:
        return _CN_DIGITS[n] if n != 2 else "两"
    return str(n)


def mask_name(name: str) -> str:
    """张*明 — enough for a guard to check a face against, not a full name on a gate screen."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


_ACTIVE_PASS_SQL = f"""
SELECT p.id, p.issue_no, p.compound_id, m.person_id, pe.name
  FROM gate_householdpass p
  LEFT JOIN {HouseholdPass.members.through._meta.db_table} m ON m.householdpass_id = p.id
  LEFT JOIN registry_person pe ON pe.id = m.person_id
 WHERE p.household_id = %s AND p.is_active = %s
"""


def _present(checkpoint: Checkpoint, credential: str, *, lock: bool) -> Presented:
    """Identify a credential: a signed QR (verified) or a typed pass number."""
    text = (credential or "").strip()
    if text.upper().startswith(passes.PREFIX):
        try:
            payload, _body, _sig = passes.parse(text)
            payload = passes.verify(text, keys.public_keys(payload.kid))
        except passes.PassError:
            return Presented(refusal=Reason.FORGED)
        if payload.kind == passes.Kind.HOUSEHOLD:
            # The active pass and, in the same query, its designated members' names for the guard's
            # screen (SQL: see _HOUSEHOLD_NOW_SQL). Scans of one household are serialised by
            # lock_households, not here.
            with connection.cursor() as cursor:
                cursor.execute(_ACTIVE_PASS_SQL, [payload.subject, True])
                found = cursor.fetchall()
            if not found or payload.issue_no < found[0][1]:
                return Presented(household_id=payload.subject, refusal=Reason.REVOKED)
            row = found[0]
            if payload.issue_no != row[1]:
                return Presented(refusal=Reason.FORGED)
            return Presented(
                household_id=payload.subject,
                compound_id=row[2],
                pass_id=row[0],
                members=payload.members,
                valid_from=payload.valid_from,
                valid_until=payload.valid_until,
                names={member: name for _id, _no, _compound, member, name in found if member is not None},
            )
        if payload.kind == passes.Kind.TICKET:
            tickets = OutingTicket.objects.filter(household_id=payload.subject, period_start=payload.valid_from)
            if lock:
                tickets = tickets.select_for_update()
            ticket = tickets.first()
            if ticket is None:
                return Presented(refusal=Reason.FORGED)
            return Presented(
                household_id=ticket.household_id,
                compound_id=ticket.compound_id,
                ticket=ticket,
                valid_from=payload.valid_from,
                valid_until=payload.valid_until,
            )
        exempt = ExemptPass.objects.filter(pk=payload.subject).first()
        if exempt is None:
            return Presented(refusal=Reason.FORGED)
        return _present_exempt(exempt)
    number = passes.clean_number(text)
    if number is None:
        return Presented(refusal=Reason.FORGED)
    household_pass = HouseholdPass.objects.filter(number=number).first()
    if household_pass is not None:
        if not household_pass.is_active:
            return Presented(household_id=household_pass.household_id, refusal=Reason.REVOKED)
        if lock:
            HouseholdPass.objects.select_for_update().filter(pk=household_pass.pk).exists()
        return Presented(
            household_id=household_pass.household_id,
            compound_id=household_pass.compound_id,
            pass_id=household_pass.pk,
            members=tuple(household_pass.members.values_list("pk", flat=True)),
            valid_from=household_pass.valid_from,
            valid_until=household_pass.valid_until,
        )
    tickets = OutingTicket.objects.filter(number=number)
    if lock:
        tickets = tickets.select_for_update()
    ticket = tickets.first()
    if ticket is not None:
        return Presented(
            household_id=ticket.household_id,
            compound_id=ticket.compound_id,
            ticket=ticket,
            valid_from=ticket.period_start,
            valid_until=ticket.period_start,
        )
    exempt = ExemptPass.objects.filter(number=number).first()
    if exempt is not None:
        return _present_exempt(exempt)
    return Presented(refusal=Reason.FORGED)


def _present_exempt(exempt: ExemptPass) -> Presented:
    household_id = (
        Person.objects.filter(pk=exempt.person_id).values_list("household_id", flat=True).first()
        if exempt.person_id
        else None
    )
    return Presented(
        compound_id=exempt.compound_id,
        exempt=exempt,
        exempt_hold=active_hold(household_id) if household_id else None,
        valid_from=exempt.valid_from,
        valid_until=exempt.valid_until,
        refusal=None if exempt.is_active else Reason.REVOKED,
    )


# The refusal of going out for each hold (any other hold: Reason.HOLD), by a household's pass or a
# resident's exempt pass alike.
HOLD_REFUSALS: dict[str, str] = {HoldReason.SEALED: Reason.SEALED, HoldReason.HOME_OBSERVATION: Reason.OBSERVATION}


def not_yet_valid_text(first_day: str) -> str:
    """A pass (or exempt pass) scanned before its first day: from when it may be used (MM-DD)."""
    return _("通行证尚未生效，%(date)s 起可用") % {"date": first_day}


def _refuse(reason: str, message: str = "") -> Decision:
    return Decision(Verdict.REFUSED, reason, message or str(Reason(reason).label))


def decide(
    checkpoint: Checkpoint,
    rules: quota.Rules,
    data: ScanInput,
    presented: Presented,
    *,
    used: int,
    hold: str | None,
) -> Decision:
    """The verdict on one scan, from what was presented and the household's outings in the window."""
    if presented.refusal is not None:
        return _refuse(presented.refusal)
    if presented.compound_id != checkpoint.compound_id:
        return _refuse(Reason.WRONG_COMPOUND)
    today = quota.local(data.device_time).date()
    if presented.valid_from and presented.valid_until and presented.ticket is None:
        if today < presented.valid_from:
            return _refuse(Reason.NOT_YET_VALID, not_yet_valid_text(presented.valid_from.strftime("%m-%d")))
        if today > presented.valid_until:
            return _refuse(Reason.EXPIRED)
    if quota.is_fever(data.temperature):
        return _refuse(
            Reason.FEVER,
            _("体温 %(t)s℃，禁止通行，已通知社区") % {"t": data.temperature},
        )
    if presented.exempt is not None:
        if presented.exempt_hold is not None and data.direction == Direction.OUT:
            return _refuse(HOLD_REFUSALS.get(presented.exempt_hold, Reason.HOLD))
        return Decision(
            Verdict.ALLOWED, Reason.OK, _("免检通行：%(kind)s") % {"kind": presented.exempt.get_kind_display()}
        )
    if data.direction == Direction.IN:
        if hold is not None:
            return Decision(
                Verdict.ALLOWED, Reason.OK, _("本户处于%(reason)s中，请直接回家") % {"reason": HoldReason(hold).label}
            )
        return Decision(Verdict.ALLOWED, Reason.OK, _("欢迎回家"))
    if hold is not None:
        return _refuse(HOLD_REFUSALS.get(hold, Reason.HOLD))
    if data.health_code in (HealthCode.YELLOW, HealthCode.RED):
        return _refuse(Reason.HEALTH_CODE)
    if not rules.closed:
        return Decision(Verdict.ALLOWED, Reason.OK, _("低风险地区，正常通行"))
    if data.person_id and presented.members and data.person_id not in presented.members:
        return _refuse(Reason.NOT_MEMBER)
    if not quota.within_hours(rules, data.device_time):
        return _refuse(
            Reason.HOURS,
            _("允许外出时段 %(start)s–%(end)s")
            % {"start": rules.out_from.strftime("%H:%M"), "end": rules.out_until.strftime("%H:%M")},
        )
    if rules.ticket_mode:
        ticket = presented.ticket
        if ticket is None:
            return _refuse(Reason.NO_TICKET)
        if ticket.period_start != quota.period_start(rules, data.device_time):
            return _refuse(Reason.EXPIRED, _("不是本期出入券"))
        if ticket.collected_at is not None:
            return _refuse(Reason.TICKET_USED)
        return Decision(Verdict.ALLOWED, Reason.OK, _("出入券已回收，请按时返回"))
    if used >= rules.outings_per_period:
        next_out = quota.next_period(rules, data.device_time)
        return Decision(
            Verdict.REFUSED,
            Reason.QUOTA,
            _("本户%(days)s天内已外出%(used)s次，下次可外出时间 %(next)s")
            % {
                "days": _count_words(rules.period_days),
                "used": _count_words(used),
                "next": next_out.strftime("%m-%d %H:%M"),
            },
            next_out,
        )
    due = data.device_time + rules.max_out
    return Decision(
        Verdict.ALLOWED, Reason.OK, _("可以外出，请于 %(due)s 前返回") % {"due": quota.local(due).strftime("%H:%M")}
    )


def _outings(household_id: Any, period: datetime.date) -> Any:
    """The household's allowed outings in the window starting ``period``."""
    return GateScan.objects.filter(
        household_id=household_id, period_start=period, direction=Direction.OUT, verdict=Verdict.ALLOWED
    )


def _used(household_id: int, period: datetime.date) -> int:
    return int(_outings(household_id, period).count())


@dataclass
class HouseholdNow:
    """A household as one online scan needs it, read in one query once its pass is locked."""

    address: str
    used: int
    hold: str | None
    state: tuple[datetime.datetime, uuid_module.UUID, datetime.datetime | None, datetime.datetime | None] | None


# The household as an online scan needs it, in one statement. Written as SQL because the hot path
# pays for every query Django compiles (this one took ~6 ms to build as a queryset, 0.3 ms to run);
# the same text runs on PostgreSQL and SQLite.
_HOUSEHOLD_NOW_SQL = """
SELECT h.room, b.name, u.name,
       (SELECT COUNT(*) FROM gate_gatescan s
         WHERE s.household_id = h.id AND s.period_start = %s AND s.direction = %s AND s.verdict = %s),
       (SELECT MIN(CASE k.reason WHEN %s THEN 0 WHEN %s THEN 1 ELSE 2 END) FROM gate_householdhold k
         WHERE k.household_id = h.id AND k.released_at IS NULL),
       g.last_time, g.last_uuid, g.out_since, g.due_at
  FROM registry_household h
  JOIN registry_building b ON b.id = h.building_id
  JOIN registry_unit u ON u.id = h.unit_id
  LEFT JOIN gate_householdgatestate g ON g.household_id = h.id
 WHERE h.id = %s
"""
_HOLD_BY_RANK = (HoldReason.SEALED, HoldReason.HOME_OBSERVATION, HoldReason.OTHER)


def _db_datetime(value: Any) -> datetime.datetime | None:
    """A datetime read by raw SQL: aware on PostgreSQL; text or naive UTC on SQLite."""
    if value is None or (isinstance(value, datetime.datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value


def _household_now(household_id: int, period: datetime.date) -> HouseholdNow | None:
    """Address, allowed outings in the window (as :func:`_used`), the hold (as :func:`active_hold`)
    and the gate state (as :func:`_advance_state` reads it), in one query; None if no household."""
    params = [
        GateScan._meta.get_field("period_start").get_db_prep_value(period, connection),
        Direction.OUT.value,
        Verdict.ALLOWED.value,
        HoldReason.SEALED.value,
        HoldReason.HOME_OBSERVATION.value,
        household_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_HOUSEHOLD_NOW_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    room, building, unit, used, hold_rank, last_time, last_uuid, out_since, due_at = row
    hold = None if hold_rank is None else str(_HOLD_BY_RANK[int(hold_rank)])
    state = None
    if last_time is not None:
        key = last_uuid if isinstance(last_uuid, uuid_module.UUID) else uuid_module.UUID(str(last_uuid))
        state = (_db_datetime(last_time), key, _db_datetime(out_since), _db_datetime(due_at))
    return HouseholdNow(address=f"{building}{unit}{room}", used=int(used or 0), hold=hold, state=state)  # type: ignore[arg-type]


def household_summary(
    household_id: int,
    members: Iterable[int] = (),
    *,
    address: str | None = None,
    names: dict[int, str] | None = None,
) -> dict[str, Any] | None:
    """What the guard's screen shows of the household: id, room and the masked names of ``members``.

    ``address`` and ``names`` (already read, e.g. with the pass) save the queries.
    """
    members = list(members)
    if address is None:
        household = (
            Household.objects.filter(pk=household_id)
            .select_related("building", "unit")
            .only("room", "building__name", "unit__name")
        ).first()
        if household is None:
            return None
        address = household.address
    if names is None or any(pk not in names for pk in members):
        names = dict(Person.objects.filter(pk__in=members).values_list("pk", "name")) if members else {}
    return {
        "id": household_id,
        "room": address,
        "members": [mask_name(names[pk]) for pk in members if pk in names],
    }


def _new_scan(checkpoint: Checkpoint, user: Any, data: ScanInput, now: datetime.datetime) -> GateScan:
    return GateScan(
        uuid=data.uuid,
        checkpoint_id=checkpoint.pk,
        street_id=checkpoint.street_id,
        community_id=checkpoint.community_id,
        grid_id=checkpoint.grid_id,
        compound_id=checkpoint.compound_id,
        direction=data.direction,
        device_time=data.device_time,
        received_at=now,
        guard_id=user.pk if getattr(user, "is_authenticated", False) else None,
        temperature=data.temperature,
        mask=data.mask,
        health_code=data.health_code or "",
        person_id=data.person_id,
    )


def scan_record(
    checkpoint: Checkpoint,
    user: Any,
    data: ScanInput,
    *,
    household: Household | None = None,
    rules: GateRules | None = None,
    now: datetime.datetime | None = None,
    fast: bool = True,
) -> ScanResult:
    """Decide and record one online scan; the same uuid again returns the first result.

    ``household`` identifies the household directly (a resident vehicle's pass) instead of a
    credential. On PostgreSQL a household's QR pass takes the fast path (:func:`scan_online`: the
    same decision, two round trips); ``fast=False`` forces this path (the tests compare the two).
    """
    if data.direction not in Direction.values:
        raise GateError(_("方向只能是外出或返回"))
    now = now or timezone.now()
    if fast and household is None and rules is None:
        online = scan_online(checkpoint.pk, data, user=user, checkpoint=checkpoint, now=now)
        if online is not None:
            return online
    gate_rules = rules or rules_for(checkpoint.compound)
    qrules = quota_rules(gate_rules)
    # A uuid already stored makes the insert fail: the transaction (which wrote nothing before the
    # insert) rolls back and the first scan's answer is returned, marked as a duplicate.
    try:
        with transaction.atomic():
            if household is not None:
                presented = Presented(household_id=household.pk, compound_id=household.compound_id)
                if qrules.ticket_mode and data.direction == Direction.OUT:
                    # A resident vehicle goes out on the household's ticket of the period: the
                    # vehicle desk has no ticket to scan, and without it no car could ever leave.
                    presented.ticket = (
                        OutingTicket.objects.select_for_update()
                        .filter(household_id=household.pk, period_start=quota.period_start(qrules, data.device_time))
                        .first()
                    )
            else:
                presented = _present(checkpoint, data.credential, lock=True)
            if presented.household_id is not None and presented.refusal is None:
                # One decision per household at a time, whichever gate or sync asks (see lock_households).
                lock_households([presented.household_id])
            period = None
            used = 0
            hold = None
            now_state: HouseholdNow | None = None
            if presented.household_id is not None and presented.refusal is None:
                period = quota.period_start(qrules, data.device_time)
                now_state = _household_now(presented.household_id, period)
                if now_state is not None:
                    used, hold = now_state.used, now_state.hold
            decision = decide(checkpoint, qrules, data, presented, used=used, hold=hold)
            scan = _new_scan(checkpoint, user, data, now)
            scan.household_id = presented.household_id if presented.compound_id == checkpoint.compound_id else None
            scan.household_pass_id = presented.pass_id
            scan.ticket = presented.ticket
            scan.exempt_pass = presented.exempt
            scan.verdict = decision.verdict
            scan.reason = decision.reason
            scan.message = decision.message[:200]
            scan.period_start = period if scan.household_id else None
            scan.save(force_insert=True)
            if decision.verdict == Verdict.ALLOWED and presented.ticket is not None and data.direction == Direction.OUT:
                OutingTicket.objects.filter(pk=presented.ticket.pk).update(collected_at=data.device_time)
            if scan.household_id and decision.verdict == Verdict.ALLOWED:
                _advance_state(scan, qrules, state=now_state.state if now_state is not None else _UNREAD)
            if decision.reason == Reason.FEVER:
                _fever_alerts([scan])
    except IntegrityError:
        first = GateScan.objects.filter(uuid=data.uuid).first()
        if first is None:
            raise
        return _stored_result(first, duplicate=True)
    summary = None
    if scan.household_id:
        summary = household_summary(
            scan.household_id,
            presented.members,
            address=now_state.address if now_state is not None else None,
            names=presented.names,
        )
    return ScanResult(scan=scan, next_out_at=decision.next_out_at, household=summary)


def lock_households(household_ids: Iterable[int | None]) -> None:
    """Lock the households' rows, in id order (no deadlock between two syncs), until commit.

    Every online scan and every sync that counts a household's outings takes this lock first, so
    their counts are serial per household. ``FOR NO KEY UPDATE``: the scans inserted in the same
    transaction hold key-share locks on the household through their foreign key, which a plain
    ``FOR UPDATE`` from another transaction would deadlock against. A no-op on SQLite, whose
    write transactions are serial anyway.
    """
    ids = sorted({pk for pk in household_ids if pk is not None})
    if ids:
        list(Household.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk"))


def _stored_result(scan: GateScan, *, duplicate: bool) -> ScanResult:
    members: tuple[int, ...] = ()
    if scan.household_pass_id:
        members = tuple(
            HouseholdPass.members.through.objects.filter(householdpass_id=scan.household_pass_id).values_list(
                "person_id", flat=True
            )
        )
    summary = household_summary(scan.household_id, members) if scan.household_id else None
    return ScanResult(scan=scan, duplicate=duplicate, household=summary)


def _state_values(scan: GateScan, rules: quota.Rules) -> dict[str, Any]:
    out = scan.direction == Direction.OUT
    return {
        "last_time": scan.device_time,
        "last_uuid": scan.uuid,
        "out_since": scan.device_time if out else None,
        "due_at": scan.device_time + rules.max_out if out else None,
        "out_scan_id": scan.pk if out else None,
    }


_UNREAD: Any = object()


def _advance_state(scan: GateScan, rules: quota.Rules, *, state: Any = _UNREAD) -> None:
    """Move the household's state to this scan if it is the latest by device time; overdue on return.

    ``state`` is the household's state as (last_time, last_uuid, out_since, due_at), or None when it
    has none, when the caller read it already (under the household's lock); else it is read here.
    """
    assert scan.household_id is not None
    if state is _UNREAD:
        state = (
            HouseholdGateState.objects.filter(household_id=scan.household_id)
            .values_list("last_time", "last_uuid", "out_since", "due_at")
            .first()
        )
    if state is not None:
        last_time, last_uuid, out_since, due_at = state
        if (last_time, str(last_uuid)) >= (scan.device_time, str(scan.uuid)):
            return
        if (
            scan.direction == Direction.IN
            and out_since is not None
            and due_at is not None
            and scan.device_time > due_at
        ):
            _overdue_alert(scan, out_since)
    values = _state_values(scan, rules)
    if state is None:
        HouseholdGateState.objects.create(
            household_id=scan.household_id,
            street_id=scan.street_id,
            community_id=scan.community_id,
            grid_id=scan.grid_id,
            compound_id=scan.compound_id,
            **values,
        )
    else:
        HouseholdGateState.objects.filter(household_id=scan.household_id).update(**values)


# An alert's detail is stored text that the community reads later, whoever scanned: it is written in
# the platform's language (settings.LANGUAGE_CODE), not in the language of the guard's phone.


def _overdue_detail(device_time: datetime.datetime, out_since: datetime.datetime) -> str:
    minutes = int((device_time - out_since).total_seconds() // 60)
    return _overdue_text(minutes // 60, minutes % 60)


def _overdue_text(hours: Any, minutes: Any) -> str:
    with override(settings.LANGUAGE_CODE):
        return _("外出 %(h)s 小时 %(m)s 分钟后返回，超过规定时长") % {"h": hours, "m": minutes}


def _fever_detail(temperature: Any) -> str:
    with override(settings.LANGUAGE_CODE):
        return _("卡口测温 %(t)s℃") % {"t": temperature}


def _overdue_alert(scan: GateScan, out_since: datetime.datetime) -> None:
    GateAlert.objects.bulk_create(
        [
            GateAlert(
                kind=AlertKind.OVERDUE,
                checkpoint_id=scan.checkpoint_id,
                household_id=scan.household_id,
                scan=scan,
                detail=_overdue_detail(scan.device_time, out_since),
                street_id=scan.street_id,
                community_id=scan.community_id,
                grid_id=scan.grid_id,
                compound_id=scan.compound_id,
            )
        ],
        ignore_conflicts=True,
    )


def _fever_alerts(scans: Iterable[GateScan]) -> None:
    """A fever at the gate: the community sees it at once (A3); the health module picks it up (H3)."""
    alerts = []
    for scan in scans:
        name = ""
        if scan.person_id:
            name = Person.objects.filter(pk=scan.person_id).values_list("name", flat=True).first() or ""
        alerts.append(
            GateAlert(
                kind=AlertKind.FEVER,
                checkpoint_id=scan.checkpoint_id,
                household_id=scan.household_id,
                person_name=name,
                scan=scan,
                detail=_fever_detail(scan.temperature),
                street_id=scan.street_id,
                community_id=scan.community_id,
                grid_id=scan.grid_id,
                compound_id=scan.compound_id,
            )
        )
    GateAlert.objects.bulk_create(alerts, ignore_conflicts=True)


# ----------------------------------------------------------------------------------------------
# The online scan's fast path on PostgreSQL (docs/gate.md, "The scan path")
#
# A household's QR pass, verified here, is decided and stored in one call: ``gate_scan_online``
# (migrations 0004 and 0006) checks the bearer token when there is one, reads the checkpoint and its rules,
# admits the caller (the API's accepting case), locks the household, reads its pass, outings, hold
# and state, decides as :func:`decide` does, and writes the scan, the state and the alerts. One
# statement is its own transaction (a savepoint inside a caller's). It is a prepared statement on
# the server, sent with psycopg's server-side binding (Django's cursors bind on the client and
# re-plan each call). The texts come from here, in the request's language. Anything else — typed
# numbers, tickets, exempt passes, a QR that does not verify, a compound without rules yet — takes
# the Python path, which remains the reference.

_ONLINE_SQL = (
    "SELECT * FROM gate_scan_online(%s::text, %s::bigint[], %s::text, %s::boolean, %s::boolean, %s::text,"
    " %s::timestamptz, %s::timestamptz, %s::bigint, %s::bigint, %s::integer, %s::date, %s::date, %s::bigint[],"
    " %s::uuid, %s::text, %s::timestamptz, %s::date, %s::time, %s::numeric, %s::boolean, %s::text, %s::bigint,"
    " %s::text, %s::text, %s::text, %s::text, %s::text)"
)
# Status of gate_scan_online: what it did.
STORED, DUPLICATE, BAD_TOKEN, NO_CHECKPOINT, NO_RULES, NOT_ADMITTED = range(6)
_SCAN_ROLES = ",".join(sorted(str(role) for role in GATE_ROLES))
_DIRECTIONS = frozenset(Direction.values)
# gate_scan_online's p_texts and p_words, per language (see _scan_texts).
_texts_by_language: dict[str | None, tuple[str, str | None]] = {}


def _slot(name: str) -> str:
    """A placeholder in a text gate_scan_online fills in (``\\x01name\\x01``)."""
    return f"\x01{name}\x01"


def _scan_texts() -> tuple[str, str | None]:
    """What :func:`decide` says, in the active language, as ``gate_scan_online`` takes it: refusal
    labels and message templates (in this order), and the counts 0–10 in words (Chinese) or None;
    each list as one text, separated by ``\x02`` (one parameter: arrays cost more to send)."""
    language = get_language()
    texts = _texts_by_language.get(language)
    if texts is None:
        labels = [
            str(Reason(reason).label)
            for reason in (
                Reason.REVOKED,
                Reason.FORGED,
                Reason.WRONG_COMPOUND,
                Reason.EXPIRED,
                Reason.SEALED,
                Reason.OBSERVATION,
                Reason.HOLD,
                Reason.HEALTH_CODE,
                Reason.NOT_MEMBER,
                Reason.NO_TICKET,
            )
        ]
        messages = [
            _("欢迎回家"),
            *(_("本户处于%(reason)s中，请直接回家") % {"reason": HoldReason(hold).label} for hold in _HOLD_BY_RANK),
            _("低风险地区，正常通行"),
            _("允许外出时段 %(start)s–%(end)s") % {"start": _slot("start"), "end": _slot("end")},
            _("本户%(days)s天内已外出%(used)s次，下次可外出时间 %(next)s")
            % {"days": _slot("days"), "used": _slot("used"), "next": _slot("next")},
            _("可以外出，请于 %(due)s 前返回") % {"due": _slot("due")},
            _overdue_text(_slot("h"), _slot("m")),  # the overdue alert's detail (_overdue_detail)
            not_yet_valid_text(_slot("date")),  # last: added by gate 0008, after the others' places
        ]
        words = "\x02".join(_CN_DIGITS) if language and str(language).startswith("zh") else None
        texts = ("\x02".join([*labels, *(str(message) for message in messages)]), words)
        _texts_by_language[language] = texts
    return texts


def fast_path_applies(data: ScanInput) -> bool:
    """Whether :func:`scan_online` can take this scan: PostgreSQL and a household's QR pass."""
    return connection.vendor == "postgresql" and (data.credential or "").lstrip()[:3].upper() == passes.PREFIX


# QR texts whose signature this process has verified, with the key object that verified them (an
# Ed25519 check costs ~0.15 ms; a household shows the same pass every time). A hit counts only while
# that very key object is still the process's verifying key for its kid: after keys.reset() or a
# reload the text is verified again.
_verified: dict[str, tuple[passes.Payload, Any]] = {}
VERIFIED_CACHE_SIZE = 50_000


def _household_payload(credential: str) -> passes.Payload | None:
    """The verified payload of a household's QR pass; None for anything else (the Python path decides)."""
    hit = _verified.get(credential)
    if hit is not None and keys.public_keys(hit[0].kid).get(hit[0].kid) is hit[1]:
        return hit[0]
    try:
        payload, _body, _sig = passes.parse(credential)
        if payload.kind != passes.Kind.HOUSEHOLD:
            return None
        verifying = keys.public_keys(payload.kid)
        payload = passes.verify(credential, verifying)
    except passes.PassError:
        return None
    if len(_verified) >= VERIFIED_CACHE_SIZE:
        _verified.clear()
    _verified[credential] = (payload, verifying[payload.kid])
    return payload


def _int_array(values: Iterable[int | None]) -> str:
    """A bigint[] as its text (``{1,NULL,3}``): one parameter that psycopg sends without a list dumper."""
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def scan_online(
    checkpoint_id: int,
    data: ScanInput,
    *,
    user: Any = None,
    key_hash: str | None = None,
    checkpoint: Checkpoint | None = None,
    admit: bool = False,
    now: datetime.datetime | None = None,
) -> ScanResult | None:
    """:func:`scan_record` of a household's QR pass on PostgreSQL, in one call; None when this scan
    is not one the fast path takes (the caller then takes the Python path; nothing was written).

    The caller is ``user``, or the owner of the bearer token whose hash is ``key_hash`` (checked in
    the same call). With ``admit``, the call writes only for a caller that the API's scope check
    (``api_checkpoint.checkpoint_for``, scanning) lets scan there — its accepting case is in the
    function, and ``test_scan_paths``/``test_scan_api_paths`` hold the two to the same answers for
    every persona; for any other caller (a token that does not hold, a missing or inactive
    checkpoint, out of scope) it writes nothing and answers None, and the API refuses through the
    Python path as before.
    ``checkpoint`` is accepted for the callers' convenience: the call reads the checkpoint itself.
    """
    if data.direction not in _DIRECTIONS or not fast_path_applies(data):
        return None
    payload = _household_payload(data.credential)
    if payload is None:
        return None
    now = now or timezone.now()
    if connection.in_atomic_block:
        with transaction.atomic():
            return _scan_online(checkpoint_id, data, payload, user, key_hash, admit, now)
    return _scan_online(checkpoint_id, data, payload, user, key_hash, admit, now)


def _scan_online(
    checkpoint_id: int,
    data: ScanInput,
    payload: passes.Payload,
    user: Any,
    key_hash: str | None,
    admit: bool,
    now: datetime.datetime,
) -> ScanResult | None:
    local = quota.local(data.device_time)
    texts, words = _scan_texts()
    fever = quota.is_fever(data.temperature)
    user_ids = role = superuser = None
    if key_hash is None and getattr(user, "is_authenticated", False):
        user_ids = _int_array(
            [
                user.pk,
                user.street_id,
                user.community_id,
                user.grid_id,
                user.compound_id,
                user.building_id,
                user.unit_id,
                user.household_id,
                getattr(user, "checkpoint_id", None),
            ]
        )
        role, superuser = user.role, bool(user.is_superuser)
    (row,) = prepared.fetch(
        _ONLINE_SQL,
        [
            key_hash,
            user_ids,
            role,
            superuser,
            admit,
            _SCAN_ROLES,
            now - LAST_USED_RESOLUTION,
            now,
            checkpoint_id,
            payload.subject,
            payload.issue_no,
            payload.valid_from,
            payload.valid_until,
            _int_array(payload.members),
            data.uuid,
            data.direction,
            data.device_time,
            local.date(),
            local.time(),
            data.temperature,
            data.mask,
            data.health_code or "",
            data.person_id,
            _("体温 %(t)s℃，禁止通行，已通知社区") % {"t": data.temperature} if fever else None,
            _fever_detail(data.temperature) if fever else None,
            texts,
            words,
            str(quota.local_zone()),
        ],
    )
    status, guard_id, street_id, community_id, grid_id, compound_id = row[:6]
    if status == DUPLICATE:
        # The uuid was stored before (nothing was written now): the first scan's answer.
        return _stored_result(GateScan.objects.get(uuid=data.uuid), duplicate=True)
    if status != STORED:
        # Nothing was written: a token that does not hold, a missing or inactive checkpoint, a caller
        # the call did not admit, no rules yet. The Python path answers (and refuses as it does).
        return None
    scan_id, household_id, pass_id, verdict, reason, message, period, next_out_at, address, ids, names = row[6:]
    scan = prepared.loaded(
        GateScan,
        {
            "id": scan_id,
            "uuid": data.uuid,
            "checkpoint_id": checkpoint_id,
            "street_id": street_id,
            "community_id": community_id,
            "grid_id": grid_id,
            "compound_id": compound_id,
            "household_id": household_id,
            "household_pass_id": pass_id,
            "ticket_id": None,
            "exempt_pass_id": None,
            "person_id": data.person_id,
            "direction": data.direction,
            "device_time": data.device_time,
            "received_at": now,
            "guard_id": guard_id,
            "temperature": data.temperature,
            "mask": data.mask,
            "health_code": data.health_code or "",
            "verdict": verdict,
            "reason": reason,
            "message": message,
            "offline": False,
            "period_start": period,
        },
    )
    summary = None
    if household_id:
        summary = household_summary(
            household_id, payload.members, address=address, names=dict(zip(ids or (), names or (), strict=True))
        )
    if next_out_at is not None:
        next_out_at = next_out_at.astimezone(quota.local_zone())
    return ScanResult(scan=scan, next_out_at=next_out_at, household=summary)


# ----------------------------------------------------------------------------------------------
# Offline sync


@dataclass
class SyncOutcome:
    stored: list[uuid_module.UUID] = field(default_factory=list)
    duplicates: list[uuid_module.UUID] = field(default_factory=list)
    violations: set[uuid_module.UUID] = field(default_factory=set)


def sync_scans(
    checkpoint: Checkpoint, user: Any, items: Sequence[ScanInput], *, now: datetime.datetime | None = None
) -> SyncOutcome:
    """Store a batch of offline scans as the gate decided them, then recompute what they touch.

    Idempotent (a uuid already stored is a duplicate) and order-independent (see module docstring).
    """
    now = now or timezone.now()
    qrules = quota_rules(rules_for(checkpoint.compound))
    outcome = SyncOutcome()
    seen: set[uuid_module.UUID] = set()
    batch: list[ScanInput] = []
    for item in items:
        if item.direction not in Direction.values or item.verdict not in Verdict.values:
            raise GateError(_("离线记录格式不正确"))
        if item.uuid in seen:
            outcome.duplicates.append(item.uuid)
            continue
        seen.add(item.uuid)
        batch.append(item)
    presented_cache: dict[str, Presented] = {}
    guards: dict[int, Any] = {}
    with transaction.atomic():
        existing = set(GateScan.objects.filter(uuid__in=[item.uuid for item in batch]).values_list("uuid", flat=True))
        rows: list[GateScan] = []
        for item in batch:
            if item.uuid in existing:
                outcome.duplicates.append(item.uuid)
                continue
            presented = presented_cache.get(item.credential)
            if presented is None:
                presented = _present(checkpoint, item.credential, lock=False)
                presented_cache[item.credential] = presented
            scan = _new_scan(checkpoint, _scanning_guard(checkpoint, user, item.guard_id, guards), item, now)
            ours = presented.household_id is not None and presented.compound_id == checkpoint.compound_id
            scan.household_id = presented.household_id if ours else None
            scan.household_pass_id = presented.pass_id if ours else None
            scan.ticket = presented.ticket if ours else None
            scan.exempt_pass = presented.exempt
            scan.verdict = str(item.verdict)
            scan.reason = item.reason if item.reason in Reason.values else Reason.OK
            scan.message = _("离线记录")
            if presented.refusal is not None and item.verdict == Verdict.ALLOWED:
                scan.message = _("离线放行，服务器核验：%(reason)s") % {"reason": Reason(presented.refusal).label}
            scan.offline = True
            scan.period_start = quota.period_start(qrules, item.device_time) if ours else None
            rows.append(scan)
        GateScan.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        stored = {
            scan.uuid: scan for scan in GateScan.objects.filter(uuid__in=[row.uuid for row in rows], received_at=now)
        }
        for row in rows:
            (outcome.stored if row.uuid in stored else outcome.duplicates).append(row.uuid)
        new_scans = list(stored.values())
        tickets = [
            s.ticket_id
            for s in new_scans
            if s.ticket_id and s.verdict == Verdict.ALLOWED and s.direction == Direction.OUT
        ]
        if tickets:
            OutingTicket.objects.filter(pk__in=tickets, collected_at__isnull=True).update(collected_at=now)
        _fever_alerts(s for s in new_scans if s.reason == Reason.FEVER or quota.is_fever(s.temperature))
        counted = [s for s in new_scans if s.household_id and s.verdict == Verdict.ALLOWED]
        if counted:
            # Wait for any other sync or online scan of these households to commit, so that the
            # recount below sees their scans too: two gates syncing at once must not both miss the
            # violation their scans make together.
            lock_households({s.household_id for s in counted})
            outcome.violations = refresh_households(checkpoint.compound_id, qrules, counted)
    return outcome


def _scanning_guard(checkpoint: Checkpoint, syncing: Any, guard_id: int | None, known: dict[int, Any]) -> Any:
    """Who made an offline scan: the guard the phone recorded, if that account may work at this
    checkpoint (a gate role whose scope holds it; a guard since bound to another checkpoint made
    it all the same); else the account that syncs it."""
    if not guard_id or guard_id == getattr(syncing, "pk", None):
        return syncing
    if guard_id not in known:
        from linli.accounts.choices import GATE_ROLES
        from linli.accounts.models import User
        from linli.lib import scope

        guard = User.objects.filter(pk=guard_id, is_active=True).first()
        may = (
            guard is not None and (guard.is_superuser or guard.role in GATE_ROLES) and scope.can_see(checkpoint, guard)
        )
        known[guard_id] = guard if may else syncing
    return known[guard_id]


def refresh_households(compound_id: int, rules: quota.Rules, scans: Sequence[GateScan]) -> set[uuid_module.UUID]:
    """Recompute violations, states and overdue alerts of the households these new scans touch.

    Returns the uuids of the new scans that are part of a quota violation.
    """
    households = {scan.household_id for scan in scans}
    pairs = {(scan.household_id, scan.period_start) for scan in scans if scan.direction == Direction.OUT}
    violating: set[int] = set()
    if pairs:
        violating = _refresh_violations(compound_id, rules, pairs)
    _refresh_states(rules, scans)
    _refresh_overdue(rules, households, min(s.device_time for s in scans), max(s.device_time for s in scans))
    return {scan.uuid for scan in scans if scan.pk in violating}


def _refresh_violations(
    compound_id: int, rules: quota.Rules, pairs: set[tuple[int | None, datetime.date | None]]
) -> set[int]:
    households = {household for household, _period in pairs}
    periods = {period for _household, period in pairs}
    over = {
        (row["household_id"], row["period_start"]): row["n"]
        for row in GateScan.objects.filter(
            household_id__in=households, period_start__in=periods, direction=Direction.OUT, verdict=Verdict.ALLOWED
        )
        .values("household_id", "period_start")
        .annotate(n=Count("id"))
        .filter(n__gt=rules.outings_per_period)
        if (row["household_id"], row["period_start"]) in pairs
    }
    if not over:
        return set()
    compound = Compound.objects.get(pk=compound_id)
    QuotaViolation.objects.bulk_create(
        [
            QuotaViolation(
                household_id=household,
                period_start=period,
                allowed=rules.outings_per_period,
                counted=n,
                **place_kwargs(compound),
            )
            for (household, period), n in over.items()
        ],
        ignore_conflicts=True,
    )
    violations = {
        (v.household_id, v.period_start): v
        for v in QuotaViolation.objects.filter(
            household_id__in={h for h, _p in over}, period_start__in={p for _h, p in over}
        )
    }
    scan_ids: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for pk, household, period in GateScan.objects.filter(
        household_id__in={h for h, _p in over},
        period_start__in={p for _h, p in over},
        direction=Direction.OUT,
        verdict=Verdict.ALLOWED,
    ).values_list("pk", "household_id", "period_start"):
        if (household, period) in over:
            scan_ids[(household, period)].append(pk)
    through = QuotaViolation.scans.through
    links: list[Any] = []
    for key, violation in violations.items():
        if key not in over:
            continue
        if violation.counted != over[key]:
            QuotaViolation.objects.filter(pk=violation.pk).update(counted=over[key], updated_at=timezone.now())
        links.extend(through(quotaviolation_id=violation.pk, gatescan_id=pk) for pk in scan_ids[key])
    through.objects.bulk_create(links, ignore_conflicts=True)
    return {pk for ids in scan_ids.values() for pk in ids}


def _refresh_states(rules: quota.Rules, scans: Sequence[GateScan]) -> None:
    latest: dict[int, GateScan] = {}
    for scan in scans:
        current = latest.get(scan.household_id)  # type: ignore[arg-type]
        if current is None or (scan.device_time, str(scan.uuid)) > (current.device_time, str(current.uuid)):
            latest[scan.household_id] = scan  # type: ignore[index]
    states = {s.household_id: s for s in HouseholdGateState.objects.filter(household_id__in=list(latest))}
    create = []
    for household_id, scan in latest.items():
        state = states.get(household_id)
        if state is not None and (state.last_time, str(state.last_uuid)) >= (scan.device_time, str(scan.uuid)):
            continue
        values = _state_values(scan, rules)
        if state is None:
            create.append(
                HouseholdGateState(
                    household_id=household_id,
                    street_id=scan.street_id,
                    community_id=scan.community_id,
                    grid_id=scan.grid_id,
                    compound_id=scan.compound_id,
                    **values,
                )
            )
        else:
            HouseholdGateState.objects.filter(household_id=household_id).update(**values)
    HouseholdGateState.objects.bulk_create(create, ignore_conflicts=True)


def _refresh_overdue(
    rules: quota.Rules, households: set[Any], first: datetime.datetime, last: datetime.datetime
) -> None:
    """Overdue alerts for returns in [first − 1 day, last + 2 days], paired by device time.

    A return is overdue when the allowed scan just before it (same household, by device time) is an
    outing that started more than the limit earlier. Unacknowledged alerts that no longer hold (a
    scan that arrived later sits between) are removed, so the result does not depend on order.
    """
    window_start = first - datetime.timedelta(days=2)
    window_end = last + datetime.timedelta(days=2)
    judged_from = first - datetime.timedelta(days=1)
    rows = (
        GateScan.objects.filter(
            household_id__in=households,
            verdict=Verdict.ALLOWED,
            device_time__gte=window_start,
            device_time__lte=window_end,
        )
        .order_by("household_id", "device_time", "uuid")
        .only(
            "pk",
            "uuid",
            "household_id",
            "direction",
            "device_time",
            "checkpoint_id",
            "street_id",
            "community_id",
            "grid_id",
            "compound_id",
        )
    )
    by_household: dict[int, list[GateScan]] = defaultdict(list)
    for scan in rows:
        by_household[scan.household_id].append(scan)  # type: ignore[index]
    judged: list[int] = []
    overdue: dict[int, tuple[GateScan, datetime.datetime]] = {}
    for scans in by_household.values():
        scans.sort(key=lambda s: (s.device_time, str(s.uuid)))
        for before, after in itertools.pairwise(scans):
            if after.direction != Direction.IN or after.device_time < judged_from:
                continue
            judged.append(after.pk)
            if before.direction == Direction.OUT and after.device_time - before.device_time > rules.max_out:
                overdue[after.pk] = (after, before.device_time)
    stale = GateAlert.objects.filter(kind=AlertKind.OVERDUE, scan_id__in=judged, acknowledged_at__isnull=True).exclude(
        scan_id__in=list(overdue)
    )
    stale.delete()
    for scan, out_since in overdue.values():
        _overdue_alert(scan, out_since)


# ----------------------------------------------------------------------------------------------
# The offline bundle


def offline_bundle(checkpoint: Checkpoint, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Everything the checkpoint page needs to decide scans without the server (docs/gate.md)."""
    now = now or timezone.now()
    gate_rules = rules_for(checkpoint.compound)
    qrules = quota_rules(gate_rules)
    current = quota.period_start(qrules, now)
    since = current - datetime.timedelta(days=max(qrules.period_days, 1))
    households: dict[str, dict[str, Any]] = {}
    for pk, room, building, unit in Household.objects.filter(compound_id=checkpoint.compound_id).values_list(
        "pk", "room", "building__name", "unit__name"
    ):
        households[str(pk)] = {
            "room": f"{building}{unit}{room}",
            "members": {},
            "issue_no": 0,
            "hold": None,
            "periods": {},
            "out_since": None,
            "due_at": None,
        }
    numbers: dict[str, str] = {}
    active = HouseholdPass.objects.filter(compound_id=checkpoint.compound_id, is_active=True)
    for household_id, issue_no, number, token in active.values_list("household_id", "issue_no", "number", "token"):
        entry = households.get(str(household_id))
        if entry is not None:
            entry["issue_no"] = issue_no
            numbers[number] = token
    member_rows = HouseholdPass.members.through.objects.filter(
        householdpass__compound_id=checkpoint.compound_id, householdpass__is_active=True
    ).values_list("householdpass__household_id", "person_id", "person__name")
    for household_id, person_id, name in member_rows:
        households[str(household_id)]["members"][str(person_id)] = mask_name(name)
    holds: dict[int, set[str]] = defaultdict(set)
    for household_id, reason in HouseholdHold.objects.filter(
        compound_id=checkpoint.compound_id, released_at__isnull=True
    ).values_list("household_id", "reason"):
        holds[household_id].add(reason)
    for household_id, reasons in holds.items():
        for reason in (HoldReason.SEALED, HoldReason.HOME_OBSERVATION, HoldReason.OTHER):
            if reason in reasons and str(household_id) in households:
                households[str(household_id)]["hold"] = str(reason)
                break
    for row in (
        GateScan.objects.filter(
            compound_id=checkpoint.compound_id,
            period_start__gte=since,
            direction=Direction.OUT,
            verdict=Verdict.ALLOWED,
            household_id__isnull=False,
        )
        .values("household_id", "period_start")
        .annotate(n=Count("id"))
    ):
        entry = households.get(str(row["household_id"]))
        if entry is not None:
            entry["periods"][row["period_start"].isoformat()] = row["n"]
    for household_id, out_since, due_at in HouseholdGateState.objects.filter(
        compound_id=checkpoint.compound_id, out_since__isnull=False
    ).values_list("household_id", "out_since", "due_at"):
        entry = households.get(str(household_id))
        if entry is not None and out_since is not None:
            entry["out_since"] = quota.local(out_since).isoformat()
            entry["due_at"] = quota.local(due_at).isoformat() if due_at else None
    exempt = {}
    for item in ExemptPass.objects.filter(compound_id=checkpoint.compound_id, is_active=True).select_related("person"):
        home = households.get(str(item.person.household_id)) if item.person else None
        exempt[str(item.pk)] = {
            "kind": item.kind,
            "kind_label": item.get_kind_display(),
            "name": mask_name(item.name),
            "valid_from": item.valid_from.isoformat(),
            "valid_until": item.valid_until.isoformat(),
            "hold": home["hold"] if home else None,
        }
        numbers[item.number] = item.token
    for household_id, number, token, period, collected in OutingTicket.objects.filter(
        compound_id=checkpoint.compound_id, period_start__gte=since
    ).values_list("household_id", "number", "token", "period_start", "collected_at"):
        numbers[number] = token
        entry = households.get(str(household_id))
        if entry is not None and collected is not None:
            entry.setdefault("tickets_collected", []).append(period.isoformat())
    # Numbers of passes revoked while still within their validity: typed at a gate, they are
    # "revoked", not "forged".
    revoked_numbers = list(
        HouseholdPass.objects.filter(
            compound_id=checkpoint.compound_id, is_active=False, valid_until__gte=quota.local(now).date()
        ).values_list("number", flat=True)
    )
    offset = quota.local(now).utcoffset() or datetime.timedelta(0)
    return {
        "checkpoint": {"id": checkpoint.pk, "name": checkpoint.name, "compound": checkpoint.compound.name},
        "generated_at": quota.local(now).isoformat(),
        "utc_offset_minutes": int(offset.total_seconds() // 60),
        "rules": {
            "closed": qrules.closed,
            "ticket_mode": qrules.ticket_mode,
            "outings_per_period": qrules.outings_per_period,
            "period_days": qrules.period_days,
            "max_hours_out": str(qrules.max_hours_out),
            "out_from": qrules.out_from.strftime("%H:%M"),
            "out_until": qrules.out_until.strftime("%H:%M"),
            "anchor": qrules.anchor.isoformat(),
            "log_when_open": gate_rules.log_when_open,
            "fever_celsius": str(quota.FEVER_CELSIUS),
        },
        "keys": {str(kid): _b64(raw) for kid, raw in keys.public_keys_raw().items()},
        "households": households,
        "numbers": numbers,
        "revoked_numbers": revoked_numbers,
        "exempt": exempt,
        "messages": {str(value): str(label) for value, label in Reason.choices},
    }


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")
