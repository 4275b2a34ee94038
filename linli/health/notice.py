"""The quarantine order notice 隔离医学观察告知书 (SPEC H2–H4): one printable A4 page per order.

Drawn the way the entrance notice is (``linli.organisation.notice``, whose font and helpers are reused):
reportlab in the CJK CID font STSong-Light, so the file needs no font on the server.

The QR code carries the order reference ``LLQ:<order id>`` (see ``order_reference``), not a URL: the
notice stays valid whatever host the platform is served from, and a worker's scanner resolves the
reference to the order (``parse_order_reference``) — a resident finds their own page by logging in.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from linli.health.choices import Place, TestResult
from linli.health.models import HealthSettings, QuarantineOrder
from linli.lib.idnumbers import mask_id_number
from linli.lib.wording import listed
from linli.organisation.notice import MARGIN, RED, _esc, _grid_style, _qr, _style
from linli.organisation.selectors import community_duty_phones

ORDER_REF_PREFIX = "LLQ:"
QR_SIZE = 32 * mm


def order_reference(order_id: int) -> str:
    """The text of an order's QR code: ``LLQ:<order id>``."""
    return f"{ORDER_REF_PREFIX}{order_id}"


def parse_order_reference(text: str) -> int | None:
    """The order id in a scanned ``LLQ:<order id>``, or None for any other text."""
    text = text.strip()
    if not text.upper().startswith(ORDER_REF_PREFIX):
        return None
    number = text[len(ORDER_REF_PREFIX) :]
    return int(number) if number.isascii() and number.isdigit() and int(number) > 0 else None


def _date(value: datetime.date) -> str:
    return _("%(year)d年%(month)d月%(day)d日") % {"year": value.year, "month": value.month, "day": value.day}


def _time(value: datetime.time) -> str:
    return f"{value:%H:%M}"


@dataclass
class OrderNoticeData:
    """Everything the notice shows, read from the order and its street's settings."""

    reference: str
    title: str
    name: str
    id_number: str  # masked
    address: str
    community_name: str
    category: str
    place_kind: str  # 居家隔离, 集中隔离…
    place: str  # the kind, and for a site its name, room and address
    starts_on: datetime.date
    planned_end: datetime.date
    days: int
    status: str  # blank while the order is active
    tests: list[tuple[int, datetime.date, str]]  # (sequence, due on, result)
    slots: list[datetime.time]  # temperature times of the day
    report_deadline: datetime.time
    fever_threshold: str
    phones: list[tuple[str, str]]  # (who, phone): the site first, then the community's duty phones
    extensions: list[tuple[datetime.date, int, datetime.date, datetime.date, str]] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # what the person must do during the order
    date: datetime.date = field(default_factory=timezone.localdate)


def _title(place: str) -> str:
    if place == Place.CENTRALIZED:
        return _("集中隔离医学观察告知书")
    if place == Place.HOME:
        return _("居家隔离医学观察告知书")
    if place == Place.HOME_OBSERVATION:
        return _("居家医学观察告知书")
    if place == Place.HOME_MONITORING:
        return _("居家健康监测告知书")
    return _("健康管理告知书")


def _rules(order: QuarantineOrder) -> list[str]:
    """The person's duties for the order's place, from the seeds' wording."""
    if order.place == Place.CENTRALIZED:
        rules = [
            _("在指定房间单人单间居住，不离开房间，不与其他隔离人员接触。"),
            _("配合医务人员测量体温、采集核酸样本。"),
            _("废弃口罩及生活垃圾装入塑料袋密封后放在门口，由工作人员统一收运。"),
        ]
    elif order.place in (Place.HOME, Place.HOME_OBSERVATION):
        # Seed 000 line 124 (home isolation) and line 132 (masks and waste of isolated people).
        rules = [
            _("居家期间不外出、不聚集、不接待来访。"),
            _("单人单间居住，减少与家庭其他成员接触，居室每日通风消毒。"),
            _("家庭成员保持2米以上距离，坚持戴口罩、勤洗手、不共用餐具物品。"),
            _("废弃口罩及生活垃圾自行密封装入塑料袋后，再投入专门容器。"),
        ]
    elif order.place == Place.HOME_MONITORING:
        # Seed 000 line 124: 14 days of home health monitoring, no gathering, no travel.
        rules = [
            _("监测期间不聚集、不流动，非必要不外出，外出全程佩戴口罩。"),
            _("按时参加核酸检测。"),
        ]
    else:
        rules = []
    if order.holds_pass:
        rules.append(_("隔离期间本户出入通行证暂停使用，生活物资由社区安排配送。"))
    return rules


def order_notice_data(order: QuarantineOrder, *, today: datetime.date | None = None) -> OrderNoticeData:
    """Read what the notice of ``order`` shows (a handful of queries)."""
    household = order.household
    address = " ".join(
        part
        for part in (
            order.community.name,
            order.compound.name,
            f"{order.building.name}{order.unit.name}{household.room}",
        )
        if part
    )
    place_kind = order.get_place_display()
    place = place_kind
    phones: list[tuple[str, str]] = []
    if order.place == Place.CENTRALIZED and order.site is not None:
        site = order.site
        room = _("%(room)s房间") % {"room": order.room} if order.room else ""
        place = " ".join(part for part in (place, site.name, room) if part)
        if site.address:
            place += _("（%(address)s）") % {"address": site.address}
        if site.phone:
            phones.append((_("隔离点 %(name)s") % {"name": site.name}, site.phone))
    phones.extend(community_duty_phones(order.community))

    # A street without its settings row runs on the model's defaults (09:00, 15:00, 16:00, 37.3).
    settings = HealthSettings.objects.filter(street_id=order.street_id).first() or HealthSettings()
    slots = [settings.morning_slot, settings.afternoon_slot][: max(0, min(order.reports_per_day, 2))]

    tests = [
        (task.sequence, task.due_on, task.get_result_display() if task.result != TestResult.PENDING else "")
        for task in order.tests.order_by("due_on", "sequence", "pk")
    ]
    extensions = [
        (timezone.localdate(ext.created_at), ext.days, ext.previous_end, ext.new_end, ext.reason)
        for ext in order.extensions.order_by("created_at", "pk")
    ]
    return OrderNoticeData(
        reference=order_reference(order.pk),
        title=_title(order.place),
        name=order.person.name,
        id_number=mask_id_number(order.person.id_number or ""),
        address=address,
        community_name=order.community.name,
        category=order.get_category_display(),
        place_kind=place_kind,
        place=place,
        starts_on=order.starts_on,
        planned_end=order.planned_end,
        days=order.days,
        status="" if order.is_active else order.get_status_display(),
        tests=tests,
        slots=slots,
        report_deadline=settings.report_deadline,
        fever_threshold=f"{settings.fever_threshold:.1f}",
        phones=phones,
        extensions=extensions,
        rules=_rules(order),
        date=today or timezone.localdate(),
    )


def order_notice_pdf(order: QuarantineOrder, *, today: datetime.date | None = None) -> bytes:
    """The notice of ``order`` as PDF bytes: one A4 page."""
    return render_order_notice(order_notice_data(order, today=today))


def render_order_notice(data: OrderNoticeData) -> bytes:
    """Draw the notice: always exactly one A4 page (a long test or extension list is shrunk to fit)."""
    title = _style(26, alignment=TA_CENTER, textColor=RED, spaceAfter=2 * mm)
    subtle = _style(11, alignment=TA_CENTER, textColor=colors.HexColor("#444444"))
    section = _style(15, textColor=RED, spaceBefore=4 * mm, spaceAfter=1.5 * mm)
    body = _style(12.5, leading=19)
    cell = _style(12.5)
    small = _style(9.5, alignment=TA_CENTER)

    story: list[Flowable] = [
        Paragraph(_esc(data.title), title),
        Paragraph(_esc(_("编号：%(reference)s") % {"reference": data.reference}), subtle),
        Spacer(1, 3 * mm),
        Paragraph(_esc(_("%(name)s：") % {"name": data.name}), body),
        Paragraph(
            _esc(
                _(
                    "根据疫情防控要求，您属于%(category)s，自%(start)s起实行%(place)s，共%(days)d天，"
                    "计划于%(end)s期满。期满且无发热等症状、核酸检测阴性，经社区责任干部和医务人员签字确认后解除。"
                )
                % {
                    "category": data.category,
                    "start": _date(data.starts_on),
                    "place": data.place_kind,
                    "days": data.days,
                    "end": _date(data.planned_end),
                }
            ),
            _style(12.5, leading=19, firstLineIndent=25),
        ),
        Spacer(1, 2 * mm),
    ]

    rows = [
        (_("姓名"), data.name),
        (_("身份证号"), data.id_number or "—"),
        (_("住址"), data.address),
        (_("人员类别"), data.category),
        (_("隔离方式"), data.place),
        (_("开始日期"), _date(data.starts_on)),
        (_("计划解除日期"), _date(data.planned_end)),
        (_("天数"), _("%(days)d天") % {"days": data.days}),
    ]
    if data.status:
        rows.append((_("状态"), data.status))
    info = Table(
        [[Paragraph(_esc(label), cell), Paragraph(_esc(value), cell)] for label, value in rows],
        colWidths=[34 * mm, 100 * mm],
        hAlign="LEFT",
    )
    info.setStyle(_grid_style())
    qr_cell = [
        _qr(data.reference, QR_SIZE),
        Paragraph(_esc(_("工作人员扫码核对")), small),
        Paragraph(_esc(data.reference), small),
    ]
    top = Table([[info, qr_cell]], colWidths=[136 * mm, 38 * mm], hAlign="LEFT")
    top.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("ALIGN", (0, 0), (0, 0), "LEFT"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
            ]
        )
    )
    story.append(top)

    story.append(Paragraph(_esc(_("核酸检测安排")), section))
    if data.tests:
        header = [Paragraph(_esc(text), cell) for text in (_("次数"), _("检测日期"), _("结果"))]
        test_rows = [
            [
                Paragraph(_esc(_("第%(n)d次") % {"n": sequence}), cell),
                Paragraph(_esc(_date(due_on)), cell),
                Paragraph(_esc(result or _("待检测")), cell),
            ]
            for sequence, due_on, result in data.tests
        ]
        tests = Table([header, *test_rows], colWidths=[30 * mm, 80 * mm, 64 * mm], repeatRows=1, hAlign="LEFT")
        style = _grid_style()
        style.add("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2"))
        tests.setStyle(style)
        story.append(tests)
        story.append(Paragraph(_esc(_("请按上述日期配合医务人员采样，结果出来前不得外出。")), body))
    else:
        story.append(Paragraph(_esc(_("暂无核酸检测安排，如有安排社区将另行通知。")), body))

    story.append(Paragraph(_esc(_("每日体温监测")), section))
    if data.slots:
        story.append(
            Paragraph(
                _esc(
                    _("每日%(times)s各测量体温一次，%(deadline)s前通过“邻里”上报；不便使用手机的，由网格员代报。")
                    % {"times": listed(_time(slot) for slot in data.slots), "deadline": _time(data.report_deadline)}
                ),
                body,
            )
        )
    else:
        story.append(Paragraph(_esc(_("无需每日上报体温，如有不适请及时报告社区。")), body))
    story.append(
        Paragraph(
            _esc(
                _(
                    "体温高于%(threshold)s℃，或出现咳嗽、乏力、咽痛、嗅（味）觉减退、腹泻等症状时，请立即报告社区，"
                    "不要自行前往医院：社区将通知卫生服务中心，安排专车转运至发热门诊。"
                )
                % {"threshold": data.fever_threshold}
            ),
            _style(12.5, leading=19, textColor=RED),
        )
    )
    if data.phones:
        for who, phone in data.phones:
            story.append(Paragraph(_esc(_("%(who)s：%(phone)s") % {"who": who, "phone": phone}), _style(14)))
    else:
        story.append(
            Paragraph(_esc(_("请立即联系%(community)s或本网格网格员。") % {"community": data.community_name}), body)
        )

    if data.extensions:
        story.append(Paragraph(_esc(_("延期记录")), section))
        header = [Paragraph(_esc(text), cell) for text in (_("日期"), _("延长"), _("解除日期"), _("原因"))]
        ext_rows = [
            [
                Paragraph(_esc(_date(on)), cell),
                Paragraph(_esc(_("%(days)d天") % {"days": days}), cell),
                Paragraph(
                    _esc(_("原定%(previous)s，延至%(new)s") % {"previous": _date(previous), "new": _date(new)}), cell
                ),
                Paragraph(_esc(reason), cell),
            ]
            for on, days, previous, new, reason in data.extensions
        ]
        table = Table([header, *ext_rows], colWidths=[34 * mm, 18 * mm, 62 * mm, 60 * mm], repeatRows=1, hAlign="LEFT")
        style = _grid_style()
        style.add("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2"))
        table.setStyle(style)
        story.append(table)

    if data.rules:
        story.append(Paragraph(_esc(_("注意事项")), section))
        for number, rule in enumerate(data.rules, start=1):
            story.append(Paragraph(_esc(f"{number}. {rule}"), body))

    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(_esc(_("被告知人（签字）：____________　　日期：____________")), body))
    story.append(
        Paragraph(
            _esc(_("%(community)s（盖章）　%(date)s") % {"community": data.community_name, "date": _date(data.date)}),
            _style(13, alignment=2, spaceBefore=4 * mm),  # right-aligned signature line
        )
    )

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{data.title} {data.reference}",
        author=data.community_name,
    )
    # As on the entrance notice: 6 pt of frame padding a side and 2 pt of slack, so it never spills a page.
    doc.build([KeepInFrame(doc.width - 14, doc.height - 14, story, mode="shrink")])
    return buffer.getvalue()
