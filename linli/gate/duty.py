"""The duty roster of the checkpoints (A8): shifts, who is on them, gaps ahead, signing in and out.

A shift is a daily time span of a checkpoint with its minimum staffing; the defaults are those of the
spec (08:00–17:00 and 17:00–20:00 with at least 4 on duty, 20:00–08:00 with at least 2) and every
checkpoint's shifts are editable. A shift that ends at or before its start runs overnight and belongs
to the date it starts on: the 20:00–08:00 shift "of 23 November" ends on the morning of the 24th.

Writes are one transaction each and audited; callers have checked scope and role (:func:`can_arrange`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.audit.models import AuditAction
from linli.audit.services import audit_record, diff, snapshot
from linli.gate import quota
from linli.gate.models import Checkpoint, DutyAssignment, Shift, place_kwargs
from linli.lib import scope
from linli.lib.idnumbers import clean_phone, mask_phone
from linli.lib.wording import bracketed
from linli.registry.models import Compound

# Who arranges the roster: the community, its grid workers and the street.
ROSTER_ROLES = frozenset({Role.STREET_COMMAND, Role.COMMUNITY_WORKER, Role.GRID_WORKER})
# Accounts that are never put on a gate shift.
NOT_ON_DUTY = frozenset({Role.RESIDENT, Role.SUPPLIER})


@dataclass(frozen=True)
class ShiftDefault:
    name: str
    starts: datetime.time
    ends: datetime.time
    min_staff: int


# A8: three shifts; "at least 4 on duty by day and 2 by night".
DEFAULT_SHIFTS: tuple[ShiftDefault, ...] = (
    ShiftDefault("白班", datetime.time(8, 0), datetime.time(17, 0), 4),
    ShiftDefault("晚班", datetime.time(17, 0), datetime.time(20, 0), 4),
    ShiftDefault("夜班", datetime.time(20, 0), datetime.time(8, 0), 2),
)
SIGN_IN_EARLY = datetime.timedelta(minutes=30)  # a guard may sign in this long before the shift starts
SIGN_OUT_LATE = datetime.timedelta(hours=2)  # … and sign out up to this long after it ends
MAX_MIN_STAFF = 50
WEEK_DAYS = 7
MAX_DAYS = 31
# The dates a roster or a board may be asked for: any real one, and clear of the calendar's ends,
# where a week's step or a day's bounds in UTC overflow.
FIRST_DATE = datetime.date(2000, 1, 1)
LAST_DATE = datetime.date(2099, 12, 31)


class DutyError(ValueError):
    """A roster request that cannot be carried out; the message is for the user."""


def date_error(date: datetime.date) -> str | None:
    """Why a date cannot be shown or arranged (outside :data:`FIRST_DATE`–:data:`LAST_DATE`), or None."""
    if FIRST_DATE <= date <= LAST_DATE:
        return None
    return _("日期应在 %(first)s 到 %(last)s 之间") % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}


def can_arrange(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in ROSTER_ROLES))


# ----------------------------------------------------------------------------------------------
# Time of a shift


def shift_bounds(shift: Shift, date: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """When the shift of ``date`` starts and ends (aware, local); overnight shifts end the next day."""
    zone = quota.local_zone()
    start = datetime.datetime.combine(date, shift.starts, tzinfo=zone)
    end_date = date + datetime.timedelta(days=1) if shift.ends <= shift.starts else date
    end = datetime.datetime.combine(end_date, shift.ends, tzinfo=zone)
    return start, end


def next_date(shift: Shift, now: datetime.datetime | None = None) -> datetime.date:
    """The date of the shift's next instance that has not ended: today's, or tomorrow's once it has."""
    now = now or timezone.now()
    today = quota.local(now).date()
    _start, end = shift_bounds(shift, today)
    return today if end > now else today + datetime.timedelta(days=1)


def duty_day(shifts: Iterable[Shift], now: datetime.datetime | None = None) -> datetime.date:
    """The first date whose shifts are not all over: yesterday while one of its overnight shifts is
    still on (at 04:00, the night shift that began at 20:00), else today. A roster opened without a
    date starts there, so that the shift on duty now is on it."""
    now = now or timezone.now()
    today = quota.local(now).date()
    yesterday = today - datetime.timedelta(days=1)
    return yesterday if any(shift_bounds(shift, yesterday)[1] > now for shift in shifts) else today


# ----------------------------------------------------------------------------------------------
# Shifts


def default_shifts(checkpoint: Checkpoint, compound: Compound) -> list[Shift]:
    """The three default shifts of a checkpoint of ``compound``, not yet saved."""
    return [
        Shift(
            checkpoint_id=checkpoint.pk,
            name=default.name,
            starts=default.starts,
            ends=default.ends,
            min_staff=default.min_staff,
            order=index,
            **place_kwargs(compound),
        )
        for index, default in enumerate(DEFAULT_SHIFTS)
    ]


def shifts_create_default(checkpoint: Checkpoint) -> list[Shift]:
    """The checkpoint's shifts, creating the three defaults when it has none (idempotent)."""
    existing = list(Shift.objects.filter(checkpoint_id=checkpoint.pk).order_by("order", "starts"))
    if existing:
        return existing
    Shift.objects.bulk_create(default_shifts(checkpoint, checkpoint.compound), ignore_conflicts=True)
    return list(Shift.objects.filter(checkpoint_id=checkpoint.pk).order_by("order", "starts"))


def _shift_values(
    checkpoint_id: int, shift_pk: int | None, name: Any, starts: Any, ends: Any, min_staff: Any
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = str(name or "").strip()
    if not name:
        errors["name"] = [_("请填写班次名称")]
    elif len(name) > 20:
        errors["name"] = [_("班次名称不能超过20个字")]
    else:
        same_name = Shift.objects.filter(checkpoint_id=checkpoint_id, name=name)
        if shift_pk is not None:
            same_name = same_name.exclude(pk=shift_pk)
        if same_name.exists():
            errors["name"] = [_("本卡口已有同名班次")]
    if not isinstance(starts, datetime.time):
        errors["starts"] = [_("请填写开始时间，如 08:00")]
    if not isinstance(ends, datetime.time):
        errors["ends"] = [_("请填写结束时间，如 17:00")]
    if isinstance(starts, datetime.time) and isinstance(ends, datetime.time) and starts == ends:
        errors["ends"] = [_("开始和结束时间不能相同")]
    if not isinstance(min_staff, int) or isinstance(min_staff, bool):
        errors["min_staff"] = [_("最少在岗人数应为整数")]
    elif min_staff < 1:
        errors["min_staff"] = [_("最少在岗人数至少为1人")]
    elif min_staff > MAX_MIN_STAFF:
        errors["min_staff"] = [_("最少在岗人数不能超过%(n)s人") % {"n": MAX_MIN_STAFF}]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "starts": starts, "ends": ends, "min_staff": min_staff}


def shift_create(
    *,
    checkpoint: Checkpoint,
    actor: Any,
    name: str,
    starts: datetime.time,
    ends: datetime.time,
    min_staff: int,
    request: HttpRequest | None = None,
) -> Shift:
    with transaction.atomic():
        values = _shift_values(checkpoint.pk, None, name, starts, ends, min_staff)
        order = Shift.objects.filter(checkpoint_id=checkpoint.pk).count()
        try:
            with transaction.atomic():
                shift = Shift.objects.create(
                    checkpoint_id=checkpoint.pk, order=order, **values, **place_kwargs(checkpoint.compound)
                )
        except IntegrityError as exc:  # the same name added at the same moment
            raise ValidationError({"name": [_("本卡口已有同名班次")]}) from exc
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=shift,
            changes=snapshot(shift, ["name", "starts", "ends", "min_staff"]),
            request=request,
        )
    return shift


def shift_update(*, shift: Shift, actor: Any, request: HttpRequest | None = None, **changes: Any) -> Shift:
    """Change a shift's name, times or minimum staffing; its assignments stay on it."""
    unknown = set(changes) - {"name", "starts", "ends", "min_staff"}
    if unknown:
        raise ValueError(f"unknown shift fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = Shift.objects.select_for_update().get(pk=shift.pk)
        before = snapshot(locked, ["name", "starts", "ends", "min_staff"])
        current = {name: getattr(locked, name) for name in ("name", "starts", "ends", "min_staff")}
        current.update({key: value for key, value in changes.items() if value is not None})
        values = _shift_values(locked.checkpoint_id, locked.pk, **current)
        for key, value in values.items():
            setattr(locked, key, value)
        try:
            with transaction.atomic():
                locked.save(update_fields=list(values))
        except IntegrityError as exc:
            raise ValidationError({"name": [_("本卡口已有同名班次")]}) from exc
        changed = diff(before, snapshot(locked, ["name", "starts", "ends", "min_staff"]))
        if changed:
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked, changes=changed, request=request)
    return locked


def shift_delete(*, shift: Shift, actor: Any, request: HttpRequest | None = None) -> None:
    """Remove a shift that nobody was ever put on (the sign-in record of a past shift is kept)."""
    with transaction.atomic():
        locked = Shift.objects.select_for_update().get(pk=shift.pk)
        if DutyAssignment.objects.filter(shift_id=locked.pk).exists():
            raise DutyError(_("该班次已有排班记录，不能删除；可以修改它的时间或人数"))
        audit_record(actor=actor, action=AuditAction.DELETE, obj=locked, changes={"name": locked.name}, request=request)
        locked.delete()


# ----------------------------------------------------------------------------------------------
# Assignments


def staff_candidates(checkpoint: Checkpoint, actor: Any) -> QuerySet[User]:
    """Staff accounts the actor may put on this checkpoint's shifts.

    Active accounts in the actor's scope whose own scope covers the compound (its street, community,
    grid or the compound itself), not residents or suppliers, and not guards bound to another checkpoint.
    """
    covering = (
        Q(compound_id=checkpoint.compound_id, building_id__isnull=True)
        | Q(compound_id__isnull=True, grid_id=checkpoint.grid_id)
        | Q(grid_id__isnull=True, community_id=checkpoint.community_id)
        | Q(community_id__isnull=True, street_id=checkpoint.street_id)
    )
    users = (
        User.objects.filter(covering, is_active=True)
        .exclude(role__in=NOT_ON_DUTY)
        .exclude(Q(checkpoint_id__isnull=False) & ~Q(checkpoint_id=checkpoint.pk))
    )
    return scope.visible(users, actor).order_by("role", "display_name", "username")


def assignment_add(
    *,
    shift: Shift,
    date: datetime.date,
    actor: Any,
    user: User | None = None,
    volunteer_name: str = "",
    volunteer_phone: str = "",
    now: datetime.datetime | None = None,
    request: HttpRequest | None = None,
) -> DutyAssignment:
    """Put a staff account or a volunteer (name and mobile phone) on a shift of a date."""
    now = now or timezone.now()
    volunteer_name = (volunteer_name or "").strip()
    errors: dict[str, list[str]] = {}
    if user is None and not volunteer_name:
        errors["user"] = [_("请选择值守人员，或填写志愿者姓名和电话")]
    if user is not None and (volunteer_name or volunteer_phone):
        errors["user"] = [_("值守人员和志愿者只能填写其中一项")]
    phone = ""
    if user is None and volunteer_name:
        if len(volunteer_name) > 50:
            errors["volunteer_name"] = [_("志愿者姓名不能超过50个字")]
        if not (volunteer_phone or "").strip():
            errors["volunteer_phone"] = [_("请填写志愿者的手机号")]
        else:
            try:
                phone = clean_phone(volunteer_phone)
            except ValidationError as exc:
                errors["volunteer_phone"] = list(exc.messages)
    if date_error(date):
        errors["date"] = [date_error(date) or ""]
    elif shift_bounds(shift, date)[1] <= now:
        errors.setdefault("date", []).append(_("该日期的班次已经结束，不能再排班"))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Shift.objects.select_for_update().filter(pk=shift.pk).exists()  # one writer per shift at a time
        same = DutyAssignment.objects.filter(shift_id=shift.pk, date=date)
        if user is not None:
            if not staff_candidates(shift.checkpoint, actor).filter(pk=user.pk).exists():
                raise ValidationError({"user": [_("该账号不在本卡口的负责范围内，不能排班")]})
            if same.filter(user_id=user.pk).exists():
                raise ValidationError({"user": [_("%(name)s 已在该班次") % {"name": user}]})
        elif same.filter(volunteer_phone=phone).exists():
            raise ValidationError({"volunteer_phone": [_("该志愿者已在该班次")]})
        assignment = DutyAssignment.objects.create(
            shift=shift,
            date=date,
            user=user,
            volunteer_name=volunteer_name if user is None else "",
            volunteer_phone=phone,
            **place_kwargs(shift.checkpoint.compound),
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=assignment,
            changes={"shift": shift.name, "date": date.isoformat(), "person": assignment.person_name},
            request=request,
        )
    return assignment


def assignment_remove(*, assignment: DutyAssignment, actor: Any, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        locked = DutyAssignment.objects.select_for_update().select_related("shift").get(pk=assignment.pk)
        if locked.signed_in_at is not None:
            raise DutyError(_("已签到的排班不能移除"))
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            obj=locked,
            changes={"shift": locked.shift.name, "date": locked.date.isoformat(), "person": locked.person_name},
            request=request,
        )
        locked.delete()


def sign_window(assignment: DutyAssignment) -> tuple[datetime.datetime, datetime.datetime, datetime.datetime]:
    """(earliest sign-in, shift end, latest sign-out) of an assignment."""
    start, end = shift_bounds(assignment.shift, assignment.date)
    return start - SIGN_IN_EARLY, end, end + SIGN_OUT_LATE


def can_sign_in(assignment: DutyAssignment, now: datetime.datetime) -> bool:
    earliest, end, _latest = sign_window(assignment)
    return assignment.signed_in_at is None and earliest <= now < end


def can_sign_out(assignment: DutyAssignment, now: datetime.datetime) -> bool:
    _earliest, _end, latest = sign_window(assignment)
    return assignment.signed_in_at is not None and assignment.signed_out_at is None and now <= latest


def sign_in(*, assignment: DutyAssignment, user: Any, now: datetime.datetime | None = None) -> DutyAssignment:
    """A guard signs in to their own shift, from 30 minutes before it starts until it ends."""
    now = now or timezone.now()
    if assignment.user_id is None or assignment.user_id != getattr(user, "pk", None):
        raise DutyError(_("这不是您的班次，只能为自己签到"))
    earliest, end, _latest = sign_window(assignment)
    if now < earliest:
        start = earliest + SIGN_IN_EARLY
        raise DutyError(
            _("还没到签到时间：%(name)s %(date)s %(start)s 开始，最早可提前30分钟签到")
            % {
                "name": assignment.shift.name,
                "date": f"{start:%m-%d}",
                "start": f"{start:%H:%M}",
            }
        )
    if now >= end:
        raise DutyError(_("该班次已于 %(end)s 结束，不能再签到") % {"end": f"{quota.local(end):%m-%d %H:%M}"})
    with transaction.atomic():
        done = DutyAssignment.objects.filter(pk=assignment.pk, signed_in_at__isnull=True).update(signed_in_at=now)
        if not done:
            raise DutyError(_("您已签到，无需重复签到"))
        audit_record(actor=user, action=AuditAction.UPDATE, obj=assignment, changes={"signed_in": [None, "yes"]})
    assignment.refresh_from_db()
    return assignment


def sign_out(*, assignment: DutyAssignment, user: Any, now: datetime.datetime | None = None) -> DutyAssignment:
    """A guard signs out of their own shift after signing in, at the latest 2 hours after it ends."""
    now = now or timezone.now()
    if assignment.user_id is None or assignment.user_id != getattr(user, "pk", None):
        raise DutyError(_("这不是您的班次，只能为自己签退"))
    if assignment.signed_in_at is None:
        raise DutyError(_("请先签到再签退"))
    _earliest, _end, latest = sign_window(assignment)
    if now > latest:
        raise DutyError(_("已超过签退时间（班次结束后2小时内），请联系社区补登"))
    with transaction.atomic():
        done = DutyAssignment.objects.filter(pk=assignment.pk, signed_out_at__isnull=True).update(signed_out_at=now)
        if not done:
            raise DutyError(_("您已签退"))
        audit_record(actor=user, action=AuditAction.UPDATE, obj=assignment, changes={"signed_out": [None, "yes"]})
    assignment.refresh_from_db()
    return assignment


# ----------------------------------------------------------------------------------------------
# Reading the roster


@dataclass
class Cell:
    """One shift on one date: who is on it and whether it is short."""

    shift: Shift
    date: datetime.date
    assignments: list[DutyAssignment] = field(default_factory=list)
    is_today: bool = False
    ended: bool = False

    @property
    def count(self) -> int:
        return len(self.assignments)

    @property
    def missing(self) -> int:
        return max(self.shift.min_staff - self.count, 0)

    @property
    def gap(self) -> bool:
        """Short-staffed and still ahead (or under way): flagged before it happens."""
        return self.missing > 0 and not self.ended


@dataclass
class Week:
    checkpoint: Checkpoint
    dates: list[datetime.date]
    rows: list[tuple[Shift, list[Cell]]]
    today: datetime.date

    @property
    def gaps(self) -> list[Cell]:
        return [cell for _shift, cells in self.rows for cell in cells if cell.gap]


def roster(
    checkpoint: Checkpoint, start: datetime.date, days: int = WEEK_DAYS, *, now: datetime.datetime | None = None
) -> Week:
    """The checkpoint's shifts × ``days`` dates from ``start``, with assignments and gaps."""
    now = now or timezone.now()
    today = quota.local(now).date()
    days = max(1, min(days, MAX_DAYS))
    dates = [start + datetime.timedelta(days=offset) for offset in range(days)]
    shifts = list(Shift.objects.filter(checkpoint_id=checkpoint.pk).order_by("order", "starts"))
    by_cell: dict[tuple[int, datetime.date], list[DutyAssignment]] = defaultdict(list)
    for assignment in (
        DutyAssignment.objects.filter(shift__checkpoint_id=checkpoint.pk, date__gte=dates[0], date__lte=dates[-1])
        .select_related("user", "shift")
        .order_by("date", "shift_id", "id")
    ):
        assignment.label = assignment_label(assignment)  # type: ignore[attr-defined]
        by_cell[(assignment.shift_id, assignment.date)].append(assignment)
    rows = []
    for shift in shifts:
        cells = []
        for date in dates:
            _start, end = shift_bounds(shift, date)
            cells.append(
                Cell(
                    shift=shift,
                    date=date,
                    assignments=by_cell.get((shift.pk, date), []),
                    is_today=date == today,
                    ended=end <= now,
                )
            )
        rows.append((shift, cells))
    return Week(checkpoint=checkpoint, dates=dates, rows=rows, today=today)


def assignment_label(assignment: DutyAssignment) -> str:
    """A staff member by account name, a volunteer by name and masked phone."""
    if assignment.user_id:
        return str(assignment.user)
    return bracketed(assignment.volunteer_name, f"{_('志愿者')} {mask_phone(assignment.volunteer_phone)}")


def my_assignments(user: Any, *, now: datetime.datetime | None = None, days: int = WEEK_DAYS) -> list[DutyAssignment]:
    """The account's own assignments from yesterday (an overnight shift still under way) on."""
    now = now or timezone.now()
    today = quota.local(now).date()
    return list(
        DutyAssignment.objects.filter(
            user_id=user.pk,
            date__gte=today - datetime.timedelta(days=1),
            date__lte=today + datetime.timedelta(days=days),
        )
        .select_related("shift", "shift__checkpoint", "compound")
        .order_by("date", "shift__starts")
    )
