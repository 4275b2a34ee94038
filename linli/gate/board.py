"""Reads for the community's live board (who is out, who is overdue, open alerts) and the daily public
board of comings and goings (A3, A9), with its printable A4 sheet.

The public board shows counts only — never a name, a room or a phone — so it can be posted at the gate.
The live board is for staff; it shows rooms and masked names, and links to the household's record.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from linli.gate import quota
from linli.gate.choices import Direction, Verdict
from linli.gate.models import (
    GateAlert,
    GateRules,
    GateScan,
    HouseholdGateState,
    HouseholdPass,
    Parcel,
    QuotaViolation,
    Visit,
)
from linli.gate.services import mask_name
from linli.lib import scope
from linli.lib.idnumbers import mask_phone
from linli.registry.choices import Relation
from linli.registry.models import Compound, Person

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
LIVE_LIMIT = 500  # rows per list on the live board; the counts above them are exact


# ----------------------------------------------------------------------------------------------
# Live board


@dataclass
class OutRow:
    household_id: int
    room: str
    members: list[str]
    phone: str
    out_since: datetime.datetime
    due_at: datetime.datetime | None
    overdue_minutes: int

    @property
    def overdue(self) -> bool:
        return self.overdue_minutes > 0


@dataclass
class Live:
    compound: Compound
    rules: GateRules | None
    now: datetime.datetime
    out: list[OutRow] = field(default_factory=list)
    out_count: int = 0
    overdue_count: int = 0
    alerts: list[GateAlert] = field(default_factory=list)
    violations: list[QuotaViolation] = field(default_factory=list)

    @property
    def overdue(self) -> list[OutRow]:
        return [row for row in self.out if row.overdue]


def live_compound(compound: Compound, *, now: datetime.datetime | None = None) -> Live:
    """Who of the compound is out now, who is overdue, and what is not yet handled."""
    now = now or timezone.now()
    states = HouseholdGateState.objects.filter(compound_id=compound.pk, out_since__isnull=False)
    counts = states.aggregate(out=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    rows = list(
        states.select_related("household", "household__building", "household__unit").order_by("due_at", "out_since")[
            :LIVE_LIMIT
        ]
    )
    household_ids = [state.household_id for state in rows]
    members: dict[int, list[str]] = {}
    for household_id, name in (
        HouseholdPass.members.through.objects.filter(
            householdpass__household_id__in=household_ids, householdpass__is_active=True
        )
        .order_by("person_id")
        .values_list("householdpass__household_id", "person__name")
    ):
        members.setdefault(household_id, []).append(mask_name(name))
    phones: dict[int, str] = {}
    # The householder's phone first, else the first member's with one: masked, for the worker to call.
    for household_id, phone, relation in (
        Person.objects.filter(household_id__in=household_ids)
        .exclude(phone="")
        .order_by("household_id", "pk")
        .values_list("household_id", "phone", "relation")
    ):
        if relation == Relation.HOUSEHOLDER or household_id not in phones:
            phones[household_id] = mask_phone(phone)
    live = Live(
        compound=compound,
        rules=GateRules.objects.filter(compound_id=compound.pk).first(),
        now=now,
        out_count=counts["out"],
        overdue_count=counts["overdue"],
    )
    for state in rows:
        assert state.out_since is not None
        late = int((now - state.due_at).total_seconds() // 60) if state.due_at and state.due_at < now else 0
        live.out.append(
            OutRow(
                household_id=state.household_id,
                room=state.household.address,
                members=members.get(state.household_id, []),
                phone=phones.get(state.household_id, ""),
                out_since=state.out_since,
                due_at=state.due_at,
                overdue_minutes=late,
            )
        )
    live.alerts = list(
        GateAlert.objects.filter(compound_id=compound.pk, acknowledged_at__isnull=True)
        .select_related("household", "household__building", "household__unit", "checkpoint")
        .order_by("-created_at")[:LIVE_LIMIT]
    )
    live.violations = list(
        QuotaViolation.objects.filter(compound_id=compound.pk, acknowledged_at__isnull=True)
        .select_related("household", "household__building", "household__unit")
        .order_by("-period_start", "household_id")[:LIVE_LIMIT]
    )
    return live


def alert_person(alert: GateAlert) -> str:
    return mask_name(alert.person_name) if alert.person_name else ""


@dataclass
class OverviewRow:
    compound: Compound
    out: int = 0
    overdue: int = 0
    alerts: int = 0
    violations: int = 0
    risk_level: str = ""
    risk_label: str = ""


def live_overview(user: Any, *, now: datetime.datetime | None = None) -> list[OverviewRow]:
    """Per compound the account sees: people out, overdue, open alerts and violations (a few grouped queries)."""
    now = now or timezone.now()
    compounds = list(scope.visible(Compound.objects.all(), user).order_by("community_id", "code"))
    ids = [compound.pk for compound in compounds]
    rows = {compound.pk: OverviewRow(compound=compound) for compound in compounds}
    for row in (
        HouseholdGateState.objects.filter(compound_id__in=ids, out_since__isnull=False)
        .values("compound_id")
        .annotate(out=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    ):
        rows[row["compound_id"]].out = row["out"]
        rows[row["compound_id"]].overdue = row["overdue"]
    for row in (
        GateAlert.objects.filter(compound_id__in=ids, acknowledged_at__isnull=True)
        .values("compound_id")
        .annotate(n=Count("pk"))
    ):
        rows[row["compound_id"]].alerts = row["n"]
    for row in (
        QuotaViolation.objects.filter(compound_id__in=ids, acknowledged_at__isnull=True)
        .values("compound_id")
        .annotate(n=Count("pk"))
    ):
        rows[row["compound_id"]].violations = row["n"]
    for rules in GateRules.objects.filter(compound_id__in=ids):
        rows[rules.compound_id].risk_level = rules.risk_level
        rows[rules.compound_id].risk_label = str(rules.get_risk_level_display())
    return list(rows.values())


# ----------------------------------------------------------------------------------------------
# Public board (A9)


@dataclass
class BoardDay:
    """One compound's comings and goings on one local day: counts only."""

    compound: Compound
    date: datetime.date
    generated_at: datetime.datetime
    out_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    in_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    refused: int = 0
    visitors: int = 0
    visitors_left: int = 0
    visitors_refused: int = 0
    parcels: int = 0
    parcels_picked_up: int = 0
    out_now: int = 0

    @property
    def total_out(self) -> int:
        return sum(self.out_by_hour)

    @property
    def total_in(self) -> int:
        return sum(self.in_by_hour)

    @property
    def peak(self) -> int:
        return max([*self.out_by_hour, *self.in_by_hour, 1])

    @property
    def hours(self) -> list[dict[str, Any]]:
        """Per hour: the counts and the bar heights in percent of the busiest hour, for the chart."""
        return [
            {
                "hour": hour,
                "out": self.out_by_hour[hour],
                "in": self.in_by_hour[hour],
                "out_pct": round(100 * self.out_by_hour[hour] / self.peak),
                "in_pct": round(100 * self.in_by_hour[hour] / self.peak),
            }
            for hour in range(24)
        ]


def day_bounds(date: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = quota.local_zone()
    start = datetime.datetime.combine(date, datetime.time(0, 0), tzinfo=zone)
    return start, datetime.datetime.combine(date + datetime.timedelta(days=1), datetime.time(0, 0), tzinfo=zone)


def board_day(compound: Compound, date: datetime.date, *, now: datetime.datetime | None = None) -> BoardDay:
    """Allowed scans by direction and local hour, refusals, visitors and parcels of one day."""
    now = now or timezone.now()
    start, end = day_bounds(date)
    day = BoardDay(compound=compound, date=date, generated_at=now)
    scans = GateScan.objects.filter(compound_id=compound.pk, device_time__gte=start, device_time__lt=end)
    for row in (
        scans.filter(verdict=Verdict.ALLOWED)
        .annotate(hour=ExtractHour("device_time", tzinfo=quota.local_zone()))
        .values("direction", "hour")
        .annotate(n=Count("pk"))
    ):
        target = day.out_by_hour if row["direction"] == Direction.OUT else day.in_by_hour
        target[int(row["hour"])] += row["n"]
    day.refused = scans.filter(verdict=Verdict.REFUSED).count()
    visits = Visit.objects.filter(compound_id=compound.pk)
    day.visitors = visits.filter(arrived_at__gte=start, arrived_at__lt=end, verdict=Verdict.ALLOWED).count()
    day.visitors_refused = visits.filter(arrived_at__gte=start, arrived_at__lt=end, verdict=Verdict.REFUSED).count()
    day.visitors_left = visits.filter(left_at__gte=start, left_at__lt=end).count()
    parcels = Parcel.objects.filter(compound_id=compound.pk)
    day.parcels = parcels.filter(logged_at__gte=start, logged_at__lt=end).count()
    day.parcels_picked_up = parcels.filter(picked_up_at__gte=start, picked_up_at__lt=end).count()
    if start <= now < end:
        day.out_now = HouseholdGateState.objects.filter(compound_id=compound.pk, out_since__isnull=False).count()
    return day


def _style(size: float, **kwargs: Any) -> ParagraphStyle:
    return ParagraphStyle(f"b{size}", fontName=FONT, fontSize=size, leading=size * 1.35, wordWrap="CJK", **kwargs)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_board_pdf(day: BoardDay) -> bytes:
    """The day's board as one A4 page: totals, an hour-by-hour table, visitors and parcels; no names."""
    title = _style(28, alignment=TA_CENTER, textColor=colors.HexColor("#c8102e"), spaceAfter=3 * mm)
    heading = _style(20, alignment=TA_CENTER, spaceAfter=2 * mm)
    section = _style(15, spaceBefore=4 * mm, spaceAfter=2 * mm)
    cell = _style(11)
    big = _style(16)
    date_text = dateformat.format(day.date, _("Y年n月j日"))
    story: list[Flowable] = [
        Paragraph(_esc(_("出入情况公示")), title),
        Paragraph(_esc(f"{day.compound.name}　{date_text}"), heading),
    ]
    totals = [
        [Paragraph(_esc(_("外出人次")), big), Paragraph(str(day.total_out), big)],
        [Paragraph(_esc(_("返回人次")), big), Paragraph(str(day.total_in), big)],
        [Paragraph(_esc(_("劝返（未放行）人次")), big), Paragraph(str(day.refused), big)],
        [
            Paragraph(_esc(_("来访登记")), big),
            Paragraph(_esc(_("%(n)s 人，离开 %(left)s 人") % {"n": day.visitors, "left": day.visitors_left}), big),
        ],
        [
            Paragraph(_esc(_("快递登记")), big),
            Paragraph(_esc(_("%(n)s 件，已取 %(done)s 件") % {"n": day.parcels, "done": day.parcels_picked_up}), big),
        ],
    ]
    totals_table = Table(totals, colWidths=[80 * mm, 100 * mm])
    totals_table.setStyle(_grid())
    story.append(totals_table)
    story.append(Paragraph(_esc(_("分时段出入人次")), section))
    header = [Paragraph(_esc(text), cell) for text in (pgettext("每小时", "时段"), _("外出"), _("返回"))] * 2
    rows: list[list[Any]] = [header]
    for hour in range(12):
        row: list[Any] = []
        for h in (hour, hour + 12):
            row += [
                Paragraph(f"{h:02d}:00-{h + 1:02d}:00" if h < 23 else "23:00-24:00", cell),
                Paragraph(str(day.out_by_hour[h]), cell),
                Paragraph(str(day.in_by_hour[h]), cell),
            ]
        rows.append(row)
    hours_table = Table(rows, colWidths=[34 * mm, 28 * mm, 28 * mm] * 2, repeatRows=1)
    style = _grid()
    style.add("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2"))
    hours_table.setStyle(style)
    story.append(hours_table)
    story.append(Spacer(1, 5 * mm))
    story.append(
        Paragraph(
            _esc(_("本表只公示人次，不含任何个人信息。如有疑问请联系社区。")),
            _style(12, alignment=TA_CENTER),
        )
    )
    story.append(
        Paragraph(
            _esc(_("生成时间：%(t)s") % {"t": f"{quota.local(day.generated_at):%Y-%m-%d %H:%M}"}),
            _style(10, alignment=2, spaceBefore=3 * mm),
        )
    )
    buffer = io.BytesIO()
    margin = 15 * mm
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=_("出入情况公示") + f" {day.compound.name} {day.date.isoformat()}",
    )
    doc.build([KeepInFrame(doc.width - 14, doc.height - 14, story, mode="shrink")])
    return buffer.getvalue()


def _grid() -> TableStyle:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.8, colors.HexColor("#555555")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ]
    )
