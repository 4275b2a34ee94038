"""Health monitoring, quarantine and control (SPEC H1–H9).

The street keeps the rule table (H2), the risk areas (H9) and the reporting clock (H3). A key person
(H1) gets a quarantine order that carries a copy of its rule; the order schedules test tasks and a
monitoring row that says which temperature reports are due each day. Cases (H5) with their close
contacts and epidemic points (H6) drive the community status (H5) and the seals (H7).

Records that belong to a household carry copies of its ancestors' ids (street … unit), as the
registry's nodes do, so that a scoped query is one indexed equality (``linli.lib.scope``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.health.choices import (
    CaseKind,
    CaseSource,
    Category,
    CommunityStatus,
    ContactKind,
    EmergencyLevel,
    EscalationStatus,
    EscalationStep,
    MonitorSource,
    OrderStatus,
    Place,
    PointKind,
    RiskLevel,
    SealLevel,
    TestResult,
    Zone,
)
from linli.registry.models import Building, Community, Compound, Grid, Household, Person, Street, Unit

HOUSEHOLD_LOOKUPS: dict[str, str] = {
    "street": "street_id",
    "community": "community_id",
    "grid": "grid_id",
    "compound": "compound_id",
    "building": "building_id",
    "unit": "unit_id",
    "household": "household_id",
}
STREET_LOOKUPS: dict[str, str] = {"street": "street_id"}
COMMUNITY_LOOKUPS: dict[str, str] = {"street": "street_id", "community": "community_id"}


def _fk(model: type[models.Model], label: Any, **extra: Any) -> Any:
    return models.ForeignKey(model, models.PROTECT, related_name="+", verbose_name=label, db_constraint=False, **extra)


class InHousehold(models.Model):
    """A record about a household (or one of its members), with copies of its ancestors' ids."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    street = _fk(Street, _("街道"), db_index=False)
    community = _fk(Community, _("社区"))
    grid = _fk(Grid, _("网格"), db_index=False)
    compound = _fk(Compound, _("小区"), db_index=False)
    building = _fk(Building, _("楼栋"), db_index=False)
    unit = _fk(Unit, _("单元"), db_index=False)
    household = models.ForeignKey(Household, models.CASCADE, related_name="+", verbose_name=_("户"))

    class Meta:
        abstract = True

    def place_in(self, household: Household) -> None:
        self.household = household
        for level in ("street", "community", "grid", "compound", "building", "unit"):
            setattr(self, f"{level}_id", getattr(household, f"{level}_id"))


def household_kwargs(household: Household) -> dict[str, Any]:
    """The placement fields of a record about ``household``, for ``create(**…)``."""
    return {
        "household_id": household.pk,
        **{
            f"{level}_id": getattr(household, f"{level}_id")
            for level in ("street", "community", "grid", "compound", "building", "unit")
        },
    }


# ----------------------------------------------------------------------------------------------
# The street's tables: rules (H2), risk areas (H9), the reporting clock (H3)


class HealthSettings(models.Model):
    """The street's reporting clock and thresholds (H3), editable by the street command."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = STREET_LOOKUPS
    street = models.OneToOneField(Street, models.CASCADE, related_name="health_settings", verbose_name=_("街道"))
    morning_slot = models.TimeField(_("上午测温时间"), default=datetime.time(9, 0))
    afternoon_slot = models.TimeField(_("下午测温时间"), default=datetime.time(15, 0))
    report_deadline = models.TimeField(_("上报截止时间"), default=datetime.time(16, 0))
    summary_due = models.TimeField(_("社区汇总报街道时间"), default=datetime.time(17, 0))
    fever_threshold = models.DecimalField(
        _("发热阈值（℃）"),
        max_digits=3,
        decimal_places=1,
        default=Decimal("37.3"),
        help_text=_("体温高于此值即启动发热处置流程"),
    )
    risk_window_days = models.PositiveSmallIntegerField(
        _("旅居史追溯天数"), default=14, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    status_window_days = models.PositiveSmallIntegerField(
        _("疫情分级统计天数"), default=14, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    large_outbreak_cases = models.PositiveSmallIntegerField(
        _("较大规模暴发的病例数"),
        default=5,
        validators=[MinValueValidator(2)],
        help_text=_("两起及以上达到此病例数的暴发，视为社区传播"),
    )
    # Minutes from the fever report within which each escalation step is due.
    due_community_notified = models.PositiveSmallIntegerField(_("社区接报时限（分钟）"), default=10)
    due_street_informed = models.PositiveSmallIntegerField(_("报告街道时限（分钟）"), default=30)
    due_centre_informed = models.PositiveSmallIntegerField(_("报告卫生服务中心时限（分钟）"), default=30)
    due_ambulance_sent = models.PositiveSmallIntegerField(_("救护车转运时限（分钟）"), default=60)
    due_at_fever_clinic = models.PositiveSmallIntegerField(_("到达发热门诊时限（分钟）"), default=120)
    due_cdc_informed = models.PositiveSmallIntegerField(_("报告区疾控时限（分钟）"), default=120)
    # H3: temperatures a day inside a seal — a sealed unit once [004], an isolated building twice
    # (morning and evening) [000 p2]; a sealed household is measured as a unit is.
    unit_seal_reports_per_day = models.PositiveSmallIntegerField(
        _("封控单元（户）每日测温次数"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(2)],
        help_text=_("1 为仅上午测温，2 为上午、下午各一次"),
    )
    building_seal_reports_per_day = models.PositiveSmallIntegerField(
        _("封控楼栋每日测温次数"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(2)],
        help_text=_("1 为仅上午测温，2 为上午、下午各一次"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("健康监测设置")
        verbose_name_plural = _("健康监测设置")

    def __str__(self) -> str:
        return str(self.street_id)

    def step_due_minutes(self, step: str) -> int:
        return int(getattr(self, f"due_{step}"))

    def seal_reports_per_day(self, level: str) -> int:
        """Temperatures a day owed inside a seal of ``level`` (H3)."""
        if level == SealLevel.BUILDING:
            return int(self.building_seal_reports_per_day)
        return int(self.unit_seal_reports_per_day)


class MeasureRule(models.Model):
    """One row of the street's rule table (H2): what a key person of a category must do."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = STREET_LOOKUPS
    street = models.ForeignKey(Street, models.CASCADE, related_name="measure_rules", verbose_name=_("街道"))
    category = models.CharField(_("人员类别"), max_length=32, choices=Category.choices)
    days = models.PositiveSmallIntegerField(
        _("隔离（观察）天数"), validators=[MaxValueValidator(60)], help_text=_("0 表示无需隔离")
    )
    place = models.CharField(_("方式"), max_length=20, choices=Place.choices)
    test_days = models.JSONField(
        _("核酸检测日"),
        default=list,
        blank=True,
        help_text=_("第几天检测，如 [1, 7, 14]；检测次数即其个数"),
    )
    test_within_days = models.PositiveSmallIntegerField(
        _("需持几日内核酸阴性证明"), null=True, blank=True, help_text=_("如低风险地区返乡人员：7 日内阴性证明")
    )
    reports_per_day = models.PositiveSmallIntegerField(
        _("每日测温次数"), default=2, validators=[MinValueValidator(0), MaxValueValidator(2)]
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("管控措施规则")
        verbose_name_plural = _("管控措施规则")
        constraints = [models.UniqueConstraint(fields=["street", "category"], name="rule_street_category_uniq")]
        ordering = ["street", "category"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.days}"

    @property
    def tests(self) -> int:
        return len(self.test_days or [])


class RiskArea(models.Model):
    """A risk area the street keeps (H9): a place in a county, its level and dates."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = STREET_LOOKUPS
    street = models.ForeignKey(Street, models.CASCADE, related_name="risk_areas", verbose_name=_("街道"))
    province = models.CharField(_("省份"), max_length=30, blank=True)
    county = models.CharField(_("区县"), max_length=50, help_text=_("在此区县有旅居史即按该风险等级管理"))
    name = models.CharField(_("风险区名称"), max_length=100)
    level = models.CharField(_("风险等级"), max_length=10, choices=RiskLevel.choices)
    zone = models.CharField(_("管理区域"), max_length=12, choices=Zone.choices, blank=True)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("解除日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("风险地区")
        verbose_name_plural = _("风险地区")
        ordering = ["-starts_on", "county"]

    def __str__(self) -> str:
        return f"{self.county} {self.name} {self.get_level_display()}"


# ----------------------------------------------------------------------------------------------
# Key persons and quarantine orders (H1, H2, H4)


class IsolationSite(models.Model):
    """A centralized isolation site of the street, with its rooms."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = STREET_LOOKUPS
    street = models.ForeignKey(Street, models.CASCADE, related_name="isolation_sites", verbose_name=_("街道"))
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    rooms = models.PositiveIntegerField(_("房间数"), default=0)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("集中隔离点")
        verbose_name_plural = _("集中隔离点")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KeyPerson(InHousehold):
    """A person registered as a key person (H1) of a category."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="key_records", verbose_name=_("人员"))
    category = models.CharField(_("人员类别"), max_length=32, choices=Category.choices)
    origin = models.CharField(_("来自"), max_length=100, blank=True, help_text=_("返乡人员的出发地（区县）"))
    arrived_on = models.DateField(_("到达日期"), null=True, blank=True)
    risk_level = models.CharField(_("按风险等级"), max_length=10, choices=RiskLevel.choices, blank=True)
    risk_reason = models.CharField(_("判定依据"), max_length=300, blank=True)
    case = models.ForeignKey(
        "Case", models.SET_NULL, null=True, blank=True, related_name="key_persons", verbose_name=_("关联病例")
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    active = models.BooleanField(_("在管"), default=True)
    registered_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("重点人员")
        verbose_name_plural = _("重点人员")
        ordering = ["-registered_at"]
        indexes = [models.Index(fields=["community", "active"], name="keyperson_comm_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.get_category_display()}"


class QuarantineOrder(InHousehold):
    """A quarantine (or observation, or monitoring) order for one person, with its rule copied in."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="quarantine_orders", verbose_name=_("人员"))
    key_person = models.ForeignKey(
        KeyPerson, models.SET_NULL, null=True, blank=True, related_name="orders", verbose_name=_("重点人员记录")
    )
    category = models.CharField(_("人员类别"), max_length=32, choices=Category.choices)
    place = models.CharField(_("方式"), max_length=20, choices=Place.choices)
    site = models.ForeignKey(
        IsolationSite, models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("集中隔离点")
    )
    room = models.CharField(_("房间号"), max_length=20, blank=True)
    starts_on = models.DateField(_("开始日期"))
    days = models.PositiveSmallIntegerField(_("天数"))
    planned_end = models.DateField(_("计划解除日期"), help_text=_("期满可申请解除的日期：开始日期加天数"))
    reports_per_day = models.PositiveSmallIntegerField(_("每日测温次数"), default=2)
    status = models.CharField(_("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.ACTIVE)
    holds_pass = models.BooleanField(_("暂停通行证"), default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("结束操作人")
    )
    end_note = models.CharField(_("结束说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("隔离医学观察")
        verbose_name_plural = _("隔离医学观察")
        ordering = ["-starts_on", "-pk"]
        indexes = [models.Index(fields=["community", "status"], name="order_comm_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(status="active"), name="order_one_active_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.starts_on}–{self.planned_end}"

    @property
    def is_active(self) -> bool:
        return self.status == OrderStatus.ACTIVE


class OrderExtension(models.Model):
    """An order's planned end moved later, with the reason."""

    order = models.ForeignKey(QuarantineOrder, models.CASCADE, related_name="extensions", verbose_name=_("隔离"))
    days = models.PositiveSmallIntegerField(_("延长天数"), validators=[MinValueValidator(1)])
    reason = models.CharField(_("原因"), max_length=200)
    previous_end = models.DateField(_("原解除日期"))
    new_end = models.DateField(_("新解除日期"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )

    class Meta:
        verbose_name = _("延期记录")
        verbose_name_plural = _("延期记录")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.order_id} +{self.days}"


class ReleaseSignature(models.Model):
    """One of the two signatures a release needs (H4): the responsible cadre and the medic."""

    order = models.ForeignKey(QuarantineOrder, models.CASCADE, related_name="signatures", verbose_name=_("隔离"))
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("签字人"))
    role = models.CharField(_("签字身份"), max_length=32)
    signed_at = models.DateTimeField(_("签字时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("解除签字")
        verbose_name_plural = _("解除签字")
        constraints = [
            models.UniqueConstraint(fields=["order", "signer"], name="signature_one_per_signer"),
            models.UniqueConstraint(fields=["order", "role"], name="signature_one_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.role}"


class TestTask(InHousehold):
    """A scheduled nucleic-acid test of a person (for an order or a seal), and its result."""

    __test__ = False  # not a pytest class, whatever its name says

    person = models.ForeignKey(Person, models.CASCADE, related_name="test_tasks", verbose_name=_("人员"))
    order = models.ForeignKey(
        QuarantineOrder, models.CASCADE, null=True, blank=True, related_name="tests", verbose_name=_("隔离")
    )
    seal = models.ForeignKey(
        "Seal", models.CASCADE, null=True, blank=True, related_name="tests", verbose_name=_("封控")
    )
    sequence = models.PositiveSmallIntegerField(_("第几次"), default=1)
    due_on = models.DateField(_("检测日期"))
    result = models.CharField(_("结果"), max_length=10, choices=TestResult.choices, default=TestResult.PENDING)
    sampled_at = models.DateTimeField(_("采样时间"), null=True, blank=True)
    result_at = models.DateTimeField(_("结果时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("录入人")
    )

    class Meta:
        verbose_name = _("核酸检测任务")
        verbose_name_plural = _("核酸检测任务")
        ordering = ["due_on", "sequence"]
        indexes = [models.Index(fields=["community", "due_on"], name="testtask_comm_due_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.due_on} {self.result}"


# ----------------------------------------------------------------------------------------------
# Temperatures and fever escalation (H3)


class Monitoring(InHousehold):
    """A person whose temperature is due every day from ``starts_on`` to ``ends_on`` (H3, H7).

    One row per order or seal membership; ``reports_per_day`` 2 = the morning and afternoon slots,
    1 = the morning slot only (sealed units measure once a day). The chase list is the active rows
    without a report for the day and slot.
    """

    person = models.ForeignKey(Person, models.CASCADE, related_name="monitorings", verbose_name=_("人员"))
    source = models.CharField(_("来源"), max_length=8, choices=MonitorSource.choices)
    order = models.ForeignKey(
        QuarantineOrder, models.CASCADE, null=True, blank=True, related_name="monitorings", verbose_name=_("隔离")
    )
    seal = models.ForeignKey(
        "Seal", models.CASCADE, null=True, blank=True, related_name="monitorings", verbose_name=_("封控")
    )
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    reports_per_day = models.PositiveSmallIntegerField(_("每日测温次数"), default=2)

    class Meta:
        verbose_name = _("体温监测")
        verbose_name_plural = _("体温监测")
        indexes = [
            models.Index(fields=["community", "starts_on", "ends_on"], name="monitoring_comm_idx"),
            models.Index(fields=["street", "starts_on", "ends_on"], name="monitoring_street_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.starts_on}–{self.ends_on or ''}"


class TemperatureReport(InHousehold):
    """One temperature (and symptoms) report of a person for a day's slot (1 morning, 2 afternoon)."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="temperature_reports", verbose_name=_("人员"))
    date = models.DateField(_("日期"))
    slot = models.PositiveSmallIntegerField(_("时段"), choices=[(1, _("上午")), (2, _("下午"))])
    temperature = models.DecimalField(
        _("体温（℃）"),
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("34.0")), MaxValueValidator(Decimal("43.0"))],
    )
    symptoms = models.JSONField(_("症状"), default=list, blank=True)
    fever = models.BooleanField(_("发热"), default=False, help_text=_("体温高于上报时的发热阈值"))
    reported_at = models.DateTimeField(_("上报时间"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("上报人")
    )
    by_proxy = models.BooleanField(_("代报"), default=False)
    late = models.BooleanField(_("逾期上报"), default=False)

    class Meta:
        verbose_name = _("体温上报")
        verbose_name_plural = _("体温上报")
        ordering = ["-date", "-slot"]
        constraints = [models.UniqueConstraint(fields=["person", "date", "slot"], name="report_one_per_slot")]
        indexes = [
            models.Index(fields=["community", "date"], name="report_comm_date_idx"),
            # The day's summary (selectors.daily_summary): who reported a slot, who had a fever or
            # symptoms, each read from the index alone instead of the whole table's history.
            models.Index(fields=["date", "slot", "person"], name="report_date_slot_idx"),
            models.Index(fields=["date", "person"], condition=models.Q(fever=True), name="report_fever_idx"),
            models.Index(fields=["date", "person"], condition=~models.Q(symptoms=[]), name="report_symptoms_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.date} {self.slot} {self.temperature}"

    @property
    def has_symptoms(self) -> bool:
        return bool(self.symptoms)


class FeverEscalation(InHousehold):
    """The fever escalation of H3, opened by a reading above the threshold."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="fever_escalations", verbose_name=_("人员"))
    report = models.ForeignKey(
        TemperatureReport, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("体温上报")
    )
    temperature = models.DecimalField(_("体温（℃）"), max_digits=3, decimal_places=1, null=True, blank=True)
    source = models.CharField(_("发现途径"), max_length=20, blank=True, help_text=_("上报、入户摸排、卡口测温"))
    opened_at = models.DateTimeField(_("发现时间"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("发现人")
    )
    status = models.CharField(_("状态"), max_length=8, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("发热处置")
        verbose_name_plural = _("发热处置")
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["community", "status"], name="fever_comm_status_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.temperature} {self.opened_at:%Y-%m-%d %H:%M}"


class EscalationStepRecord(models.Model):
    """One timed step of a fever escalation: due at, done at, by whom."""

    escalation = models.ForeignKey(FeverEscalation, models.CASCADE, related_name="steps", verbose_name=_("发热处置"))
    step = models.CharField(_("环节"), max_length=24, choices=EscalationStep.choices)
    position = models.PositiveSmallIntegerField(_("顺序"))
    due_at = models.DateTimeField(_("应完成时间"))
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("经办人")
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("处置环节")
        verbose_name_plural = _("处置环节")
        ordering = ["escalation", "position"]
        constraints = [models.UniqueConstraint(fields=["escalation", "step"], name="escalation_step_uniq")]

    def __str__(self) -> str:
        return f"{self.escalation_id} {self.step}"


# ----------------------------------------------------------------------------------------------
# Cases, contacts, epidemic points, community status (H5, H6)


class Case(models.Model):
    """A confirmed case or asymptomatic infection known to the community (H5)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMMUNITY_LOOKUPS
    street = _fk(Street, _("街道"), db_index=False)
    community = models.ForeignKey(Community, models.PROTECT, related_name="cases", verbose_name=_("社区"))
    person = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="cases", verbose_name=_("人员")
    )
    household = models.ForeignKey(
        Household, models.SET_NULL, null=True, blank=True, related_name="cases", verbose_name=_("户")
    )
    name = models.CharField(_("姓名"), max_length=50)
    kind = models.CharField(_("类型"), max_length=16, choices=CaseKind.choices)
    onset_date = models.DateField(_("发病日期"), null=True, blank=True)
    confirmed_on = models.DateField(_("确诊（报告）日期"))
    isolated_on = models.DateField(_("隔离日期"), null=True, blank=True)
    source = models.CharField(_("感染来源"), max_length=8, choices=CaseSource.choices)
    source_note = models.CharField(_("来源说明"), max_length=200, blank=True)
    cluster = models.CharField(
        _("聚集范围"),
        max_length=100,
        blank=True,
        help_text=_("同一家庭、场所或单元的病例填写同一名称；与户、单元自动归并"),
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("病例")
        verbose_name_plural = _("病例")
        ordering = ["-confirmed_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.get_kind_display()} {self.confirmed_on}"


class CloseContact(models.Model):
    """A person linked to a case as a close contact (H6)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {level: f"case__{lookup}" for level, lookup in COMMUNITY_LOOKUPS.items()}
    case = models.ForeignKey(Case, models.CASCADE, related_name="contacts", verbose_name=_("病例"))
    person = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="contact_links", verbose_name=_("人员")
    )
    name = models.CharField(_("姓名"), max_length=50)
    kind = models.CharField(_("接触方式"), max_length=10, choices=ContactKind.choices)
    last_contact_on = models.DateField(_("末次接触日期"), null=True, blank=True)
    key_person = models.ForeignKey(
        KeyPerson, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("重点人员记录")
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("密切接触者")
        verbose_name_plural = _("密切接触者")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "person"], condition=models.Q(person__isnull=False), name="contact_once_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ← {self.case_id}"


class EpidemicPoint(models.Model):
    """A place a case stayed > 1 h from 3 days before onset until isolation (H6)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {level: f"case__{lookup}" for level, lookup in COMMUNITY_LOOKUPS.items()}
    case = models.ForeignKey(Case, models.CASCADE, related_name="points", verbose_name=_("病例"))
    kind = models.CharField(_("疫点类型"), max_length=12, choices=PointKind.choices)
    place = models.CharField(_("地点"), max_length=200)
    household = models.ForeignKey(
        Household, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("户")
    )
    visited_on = models.DateField(_("到访日期"))
    hours = models.DecimalField(_("停留小时"), max_digits=4, decimal_places=1)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("疫点")
        verbose_name_plural = _("疫点")
        ordering = ["visited_on"]

    def __str__(self) -> str:
        return f"{self.place} {self.visited_on}"


class StatusRecord(models.Model):
    """A change of a community's epidemic status (H5), with the cases that made it."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMMUNITY_LOOKUPS
    street = _fk(Street, _("街道"), db_index=False)
    community = models.ForeignKey(Community, models.CASCADE, related_name="status_records", verbose_name=_("社区"))
    status = models.CharField(_("疫情状态"), max_length=16, choices=CommunityStatus.choices)
    explanation = models.TextField(_("判定依据"))
    case_ids = models.JSONField(_("相关病例"), default=list)
    since = models.DateTimeField(_("起始时间"))

    class Meta:
        verbose_name = _("社区疫情状态")
        verbose_name_plural = _("社区疫情状态")
        ordering = ["-since", "-pk"]

    def __str__(self) -> str:
        return f"{self.community_id} {self.status}"


# ----------------------------------------------------------------------------------------------
# Sealing (H7) and property emergency levels (H8)


class Seal(models.Model):
    """A household, unit or building sealed (封控), from a case, confirmed by a person (H7)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "building_id",
    }
    street = _fk(Street, _("街道"), db_index=False)
    community = _fk(Community, _("社区"))
    grid = _fk(Grid, _("网格"), db_index=False)
    compound = _fk(Compound, _("小区"), db_index=False)
    building = _fk(Building, _("楼栋"), db_index=False)
    level = models.CharField(_("封控范围"), max_length=10, choices=SealLevel.choices)
    unit = models.ForeignKey(Unit, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("单元"))
    household = models.ForeignKey(
        Household, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("户")
    )
    case = models.ForeignKey(Case, models.SET_NULL, null=True, blank=True, related_name="seals", verbose_name=_("病例"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    disinfections_per_day = models.PositiveSmallIntegerField(_("每日消杀次数"), default=2)
    # The street's count when sealed (H3): a later change of the settings does not change a seal's.
    reports_per_day = models.PositiveSmallIntegerField(_("每日测温次数"), default=1)
    sealed_at = models.DateTimeField(_("封控时间"))
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("确认人")
    )
    unsealed_at = models.DateTimeField(_("解封时间"), null=True, blank=True)
    unsealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("解封人")
    )
    unseal_conditions = models.JSONField(_("解封条件"), default=dict, blank=True)
    unseal_note = models.CharField(_("解封说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("封控")
        verbose_name_plural = _("封控")
        ordering = ["-sealed_at"]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.sealed_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.unsealed_at is None


class SealedHousehold(InHousehold):
    """A household inside a seal: its passes are held and its supplies come contactless (S4 reads this)."""

    seal = models.ForeignKey(Seal, models.CASCADE, related_name="households", verbose_name=_("封控"))
    active = models.BooleanField(_("封控中"), default=True)

    class Meta:
        verbose_name = _("封控户")
        verbose_name_plural = _("封控户")
        constraints = [models.UniqueConstraint(fields=["seal", "household"], name="sealed_household_uniq")]
        indexes = [models.Index(fields=["household", "active"], name="sealed_household_idx")]

    def __str__(self) -> str:
        return f"{self.seal_id} {self.household_id}"


class PropertyEmergency(models.Model):
    """A property company's emergency level (H8), with its procedure checklist."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMMUNITY_LOOKUPS
    street = _fk(Street, _("街道"), db_index=False)
    community = models.ForeignKey(Community, models.CASCADE, related_name="+", verbose_name=_("社区"))
    company = models.CharField(_("物业公司"), max_length=100)
    level = models.PositiveSmallIntegerField(_("应急等级"), choices=EmergencyLevel.choices)
    done_items = models.JSONField(_("已完成事项"), default=list, blank=True)
    set_at = models.DateTimeField(_("启动时间"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("启动人")
    )
    ended_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("物业应急等级")
        verbose_name_plural = _("物业应急等级")
        ordering = ["-set_at"]

    def __str__(self) -> str:
        return f"{self.company} {self.level}"
