"""The gate (SPEC A1–A10): checkpoints and their rules, household passes, scans, outings, alerts,
exempt passes, visitors, vehicles, parcels and the duty roster.

Records that belong to a compound carry copies of its ancestors' ids (street … compound) so that a
scoped query is one indexed equality, as the registry's nodes do (see ``linli.lib.scope``).
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.gate.choices import (
    AlertKind,
    Direction,
    ExemptKind,
    HoldReason,
    QuotaMode,
    Reason,
    RiskLevel,
    VehicleKind,
    Verdict,
)
from linli.lib.idnumbers import mask_id_number, mask_phone
from linli.registry.choices import HealthCode
from linli.registry.models import Community, Compound, Grid, Household, Person, Street

COMPOUND_LOOKUPS: dict[str, str] = {
    "street": "street_id",
    "community": "community_id",
    "grid": "grid_id",
    "compound": "compound_id",
}
# Records of one household: its members (resident accounts) see them too.
HOUSEHOLD_LOOKUPS: dict[str, str] = {**COMPOUND_LOOKUPS, "household": "household_id"}


class InCompound(models.Model):
    """A record placed in a compound, with copies of the compound's ancestors for scoping."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = COMPOUND_LOOKUPS
    street = models.ForeignKey(
        Street, models.PROTECT, related_name="+", verbose_name=_("街道"), db_constraint=False, db_index=False
    )
    community = models.ForeignKey(
        Community, models.PROTECT, related_name="+", verbose_name=_("社区"), db_constraint=False
    )
    grid = models.ForeignKey(
        Grid, models.PROTECT, related_name="+", verbose_name=_("网格"), db_constraint=False, db_index=False
    )
    compound = models.ForeignKey(Compound, models.CASCADE, related_name="+", verbose_name=_("小区"))

    class Meta:
        abstract = True

    def place_in(self, compound: Compound) -> None:
        self.street_id = compound.street_id
        self.community_id = compound.community_id
        self.grid_id = compound.grid_id
        self.compound_id = compound.pk


def place_kwargs(compound: Compound) -> dict[str, Any]:
    """The ancestor fields of a record placed in ``compound``, for ``create(**…)``."""
    return {
        "street_id": compound.street_id,
        "community_id": compound.community_id,
        "grid_id": compound.grid_id,
        "compound_id": compound.pk,
    }


# ----------------------------------------------------------------------------------------------
# Rules and checkpoints (A1, A2, A10)


class GateRules(InCompound):
    """A compound's access rules: the mode that follows the risk level, the outing quota, 六个一."""

    compound = models.OneToOneField(Compound, models.CASCADE, related_name="gate_rules", verbose_name=_("小区"))
    risk_level = models.CharField(_("风险等级"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW)
    log_when_open = models.BooleanField(
        _("低风险时仍登记出入"), default=True, help_text=_("低风险时出入不受限制，但仍扫码登记")
    )
    mode = models.CharField(_("管控方式"), max_length=8, choices=QuotaMode.choices, default=QuotaMode.QUOTA)
    outings_per_period = models.PositiveSmallIntegerField(_("每周期外出次数"), default=1)
    period_days = models.PositiveSmallIntegerField(_("周期天数"), default=2)
    max_hours_out = models.DecimalField(_("每次外出最长小时数"), max_digits=4, decimal_places=1, default=3)
    out_from = models.TimeField(_("允许外出开始时间"), default=datetime.time(6, 0))
    out_until = models.TimeField(_("允许外出结束时间"), default=datetime.time(20, 0))
    period_anchor = models.DateField(
        _("周期起算日"), default=datetime.date(2020, 1, 1), help_text=_("外出周期从这一天起连续计算")
    )
    # 六个一 (A10): one entrance, one team, one publicity desk, one equipment set, one rule set,
    # one inspection team.
    six_entrance = models.BooleanField(_("一个出入口"), default=False)
    six_team = models.BooleanField(_("一支值守队伍"), default=False)
    six_desk = models.BooleanField(_("一个宣传台"), default=False)
    six_equipment = models.BooleanField(_("一套防疫设备"), default=False)
    six_rules = models.BooleanField(_("一套管理制度"), default=False)
    six_inspection = models.BooleanField(_("一个督查组"), default=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("更新人")
    )

    SIX_FIELDS: ClassVar[tuple[str, ...]] = (
        "six_entrance",
        "six_team",
        "six_desk",
        "six_equipment",
        "six_rules",
        "six_inspection",
    )

    class Meta:
        verbose_name = _("出入规则")
        verbose_name_plural = _("出入规则")

    def __str__(self) -> str:
        return str(self.compound)

    @property
    def is_closed(self) -> bool:
        """Medium or higher risk: closed management (A10)."""
        return self.risk_level != RiskLevel.LOW

    @property
    def six_done(self) -> int:
        return sum(bool(getattr(self, name)) for name in self.SIX_FIELDS)


class Checkpoint(InCompound):
    """卡口: an entrance of a compound, staffed around the clock (A1)."""

    code = models.CharField(_("编码"), max_length=80, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("卡口")
        verbose_name_plural = _("卡口")
        ordering = ["compound_id", "code"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="checkpoint_name_unique")]

    def __str__(self) -> str:
        return self.name


# ----------------------------------------------------------------------------------------------
# Passes (A2) and holds (A2, H7)


class SigningKey(models.Model):
    """An Ed25519 key that signs passes; gates verify with the public half, offline."""

    kid = models.PositiveIntegerField(_("密钥编号"), unique=True)
    private_key = models.BinaryField()
    public_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("签名密钥")
        verbose_name_plural = _("签名密钥")
        ordering = ["-kid"]

    def __str__(self) -> str:
        return f"key {self.kid}"


class HouseholdPass(InCompound):
    """一户一卡: the one pass of a household, naming the members who may go out for supplies."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    household = models.ForeignKey(Household, models.CASCADE, related_name="gate_passes", verbose_name=_("户"))
    issue_no = models.PositiveIntegerField(_("发证次数"))
    number = models.CharField(_("通行证号"), max_length=12, unique=True)
    members = models.ManyToManyField(Person, related_name="+", verbose_name=_("指定外出人员"))
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("有效期至"))
    kid = models.PositiveIntegerField(_("密钥编号"))
    token = models.TextField(_("二维码内容"))
    is_active = models.BooleanField(_("有效"), default=True)
    issued_at = models.DateTimeField(_("发证时间"), auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("发证人")
    )
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    revoked_reason = models.CharField(_("作废原因"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("户通行证")
        verbose_name_plural = _("户通行证")
        ordering = ["household_id", "-issue_no"]
        constraints = [
            models.UniqueConstraint(fields=["household", "issue_no"], name="pass_issue_unique"),
            models.UniqueConstraint(
                fields=["household"], condition=models.Q(is_active=True), name="one_active_pass_per_household"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class HouseholdHold(InCompound):
    """A household's passes are suspended: sealed (H7), under home observation (A2), or otherwise."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    household = models.ForeignKey(Household, models.CASCADE, related_name="gate_holds", verbose_name=_("户"))
    reason = models.CharField(_("原因"), max_length=20, choices=HoldReason.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=40, blank=True, help_text=_("设置暂停的模块，如 health"))
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("设置人")
    )
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("解除人")
    )

    class Meta:
        verbose_name = _("通行暂停")
        verbose_name_plural = _("通行暂停")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["household", "released_at"], name="hold_household_idx")]

    def __str__(self) -> str:
        return f"{self.household_id} {self.get_reason_display()}"


class OutingTicket(InCompound):
    """出入券: in ticket mode, one reclaimable ticket per household per period, collected at the gate."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    household = models.ForeignKey(Household, models.CASCADE, related_name="gate_tickets", verbose_name=_("户"))
    period_start = models.DateField(_("周期开始"))
    number = models.CharField(_("券号"), max_length=12, unique=True)
    kid = models.PositiveIntegerField(_("密钥编号"))
    token = models.TextField(_("二维码内容"))
    issued_at = models.DateTimeField(_("发放时间"), auto_now_add=True)
    collected_at = models.DateTimeField(_("回收时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("出入券")
        verbose_name_plural = _("出入券")
        ordering = ["-period_start", "household_id"]
        constraints = [models.UniqueConstraint(fields=["household", "period_start"], name="ticket_per_period")]

    def __str__(self) -> str:
        return self.number


# ----------------------------------------------------------------------------------------------
# Scans, household state, alerts, violations (A3, offline sync)


class GateScan(InCompound):
    """One pass presented at a checkpoint, out or in, online or synced later from an offline gate.

    ``uuid`` is made by the gate: the same scan sent twice is stored once. ``device_time`` is when the
    gate saw it; ``received_at`` when the server did. For an offline scan ``verdict`` is what the gate
    showed; the server's quota check over all scans of the period is recorded as a violation.
    """

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    # No index of its own: scan_compound_time_idx (compound, device_time) leads with it (one index
    # less to keep on every scan).
    compound = models.ForeignKey(Compound, models.CASCADE, related_name="+", verbose_name=_("小区"), db_index=False)
    uuid = models.UUIDField(unique=True)
    checkpoint = models.ForeignKey(Checkpoint, models.CASCADE, related_name="scans", verbose_name=_("卡口"))
    household = models.ForeignKey(
        Household, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("户"), db_index=False
    )
    household_pass = models.ForeignKey(
        HouseholdPass,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("通行证"),
        db_constraint=False,
        db_index=False,
    )
    ticket = models.ForeignKey(
        OutingTicket,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("出入券"),
        db_constraint=False,
        db_index=False,
    )
    exempt_pass = models.ForeignKey(
        "ExemptPass",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("免检通行证"),
        db_constraint=False,
        db_index=False,
    )
    person = models.ForeignKey(
        Person,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("人员"),
        db_constraint=False,
        db_index=False,
    )
    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    device_time = models.DateTimeField(_("扫码时间"))
    received_at = models.DateTimeField(_("接收时间"))
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("值守人员"),
        db_constraint=False,
        db_index=False,
    )
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1, null=True, blank=True)
    mask = models.BooleanField(_("佩戴口罩"), null=True, blank=True)
    health_code = models.CharField(_("健康码"), max_length=8, choices=HealthCode.choices, blank=True)
    verdict = models.CharField(_("结果"), max_length=8, choices=Verdict.choices)
    reason = models.CharField(_("原因"), max_length=16, choices=Reason.choices, default=Reason.OK)
    message = models.CharField(_("提示"), max_length=200, blank=True)
    offline = models.BooleanField(_("离线扫码"), default=False)
    period_start = models.DateField(_("外出周期"), null=True, blank=True)

    class Meta:
        verbose_name = _("出入记录")
        verbose_name_plural = _("出入记录")
        ordering = ["-device_time", "-id"]
        indexes = [
            models.Index(fields=["household", "period_start"], name="scan_household_period_idx"),
            models.Index(fields=["compound", "device_time"], name="scan_compound_time_idx"),
            # The outings a household has used in a period, counted on every scan: only the allowed
            # outs, not every scan of the household in the period (a busy household's returns and
            # refusals made the count read a heap page each).
            models.Index(
                fields=["household", "period_start"],
                name="scan_outings_idx",
                condition=models.Q(direction=Direction.OUT, verdict=Verdict.ALLOWED),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.device_time:%Y-%m-%d %H:%M}"

    @property
    def counts_as_outing(self) -> bool:
        return self.direction == Direction.OUT and self.verdict == Verdict.ALLOWED and self.household_id is not None


class HouseholdGateState(InCompound):
    """Where a household is now, from the latest of its scans by device time (order-independent)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    # No index of its own: state_out_idx (compound, out_since) leads with it (one index less to keep
    # on every allowed scan, whose update changes out_since and so cannot be a HOT update).
    compound = models.ForeignKey(Compound, models.CASCADE, related_name="+", verbose_name=_("小区"), db_index=False)
    household = models.OneToOneField(
        Household, models.CASCADE, primary_key=True, related_name="gate_state", verbose_name=_("户")
    )
    last_time = models.DateTimeField(_("最近出入时间"))
    last_uuid = models.UUIDField()
    out_since = models.DateTimeField(_("外出时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("应返回时间"), null=True, blank=True)
    out_scan = models.ForeignKey(
        GateScan, models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )

    class Meta:
        verbose_name = _("住户出入状态")
        verbose_name_plural = _("住户出入状态")
        indexes = [models.Index(fields=["compound", "out_since"], name="state_out_idx")]

    def __str__(self) -> str:
        return str(self.household_id)


class GateAlert(InCompound):
    """A fever at the gate, a late return or an over-quota outing, for the community to act on."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    kind = models.CharField(_("类型"), max_length=10, choices=AlertKind.choices)
    checkpoint = models.ForeignKey(
        Checkpoint, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("卡口")
    )
    household = models.ForeignKey(
        Household, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("户")
    )
    person_name = models.CharField(_("人员"), max_length=50, blank=True)
    scan = models.ForeignKey(GateScan, models.CASCADE, null=True, blank=True, related_name="+")
    detail = models.CharField(_("详情"), max_length=200)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("处理人")
    )

    class Meta:
        verbose_name = _("门岗预警")
        verbose_name_plural = _("门岗预警")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "scan"], name="alert_once_per_scan")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.detail}"


class QuotaViolation(InCompound):
    """More allowed outings in one period than the rule permits — two offline gates, say (A2)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    household = models.ForeignKey(Household, models.CASCADE, related_name="+", verbose_name=_("户"))
    period_start = models.DateField(_("周期开始"))
    allowed = models.PositiveSmallIntegerField(_("允许次数"))
    counted = models.PositiveSmallIntegerField(_("实际次数"))
    scans = models.ManyToManyField(GateScan, related_name="+", verbose_name=_("出入记录"))
    created_at = models.DateTimeField(_("发现时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    acknowledged_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("处理人")
    )

    class Meta:
        verbose_name = _("超次外出")
        verbose_name_plural = _("超次外出")
        ordering = ["-period_start", "household_id"]
        constraints = [
            models.UniqueConstraint(fields=["household", "period_start"], name="violation_per_household_period")
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.period_start} {self.counted}/{self.allowed}"


# ----------------------------------------------------------------------------------------------
# Exempt passage (A4), visitors (A5), vehicles (A6), parcels (A7)


class ExemptPass(InCompound):
    """Work certificate, epidemic-worker ID or emergency vehicle: passes without the outing quota."""

    kind = models.CharField(_("类型"), max_length=20, choices=ExemptKind.choices)
    person = models.ForeignKey(
        Person, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("本小区人员")
    )
    name = models.CharField(_("姓名/车牌"), max_length=50)
    organisation = models.CharField(_("单位"), max_length=100, blank=True)
    proof = models.CharField(_("证明编号"), max_length=100, blank=True)
    number = models.CharField(_("通行证号"), max_length=12, unique=True)
    kid = models.PositiveIntegerField(_("密钥编号"), default=0)
    token = models.TextField(_("二维码内容"), blank=True)
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("有效期至"))
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("免检通行证")
        verbose_name_plural = _("免检通行证")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class Visit(InCompound):
    """A visitor, registered by real name, brought in by a resident and checked out on leaving (A5)."""

    checkpoint = models.ForeignKey(Checkpoint, models.CASCADE, related_name="visits", verbose_name=_("卡口"))
    # Made by the guard's phone: a form or request sent twice records one entry.
    client_uuid = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    name = models.CharField(_("访客姓名"), max_length=50)
    id_number = models.CharField(_("身份证号"), max_length=18)
    phone = models.CharField(_("手机号"), max_length=11, blank=True)
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1)
    health_code = models.CharField(_("健康码"), max_length=8, choices=HealthCode.choices)
    coming_from = models.CharField(_("来自"), max_length=100, help_text=_("14天内到过的城市、区县"))
    from_key_area = models.BooleanField(_("来自重点地区"), default=False)
    itinerary_checked = models.BooleanField(_("行程卡已核验"), default=False)
    purpose = models.CharField(_("事由"), max_length=200)
    host_household = models.ForeignKey(
        Household, models.CASCADE, related_name="+", verbose_name=_("被访户"), null=True, blank=True
    )
    host_person = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("接访住户")
    )
    verdict = models.CharField(_("结果"), max_length=8, choices=Verdict.choices)
    refusal = models.CharField(_("拒绝原因"), max_length=200, blank=True)
    arrived_at = models.DateTimeField(_("来访时间"))
    left_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("访客登记")
        verbose_name_plural = _("访客登记")
        ordering = ["-arrived_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.arrived_at:%Y-%m-%d %H:%M}"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_escort(self) -> str:
        """The escort's name as the host picker and the API show it (张*明)."""
        from linli.gate.services import mask_name

        return mask_name(self.host_person.name) if self.host_person else ""


class VehiclePass(InCompound):
    """A resident vehicle's pass; its outings count against the household's quota (A6)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    household = models.ForeignKey(Household, models.CASCADE, related_name="vehicle_passes", verbose_name=_("户"))
    plate = models.CharField(_("车牌号"), max_length=10, unique=True)
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("车辆通行证")
        verbose_name_plural = _("车辆通行证")
        ordering = ["plate"]

    def __str__(self) -> str:
        return self.plate


class VehicleEntry(InCompound):
    """A vehicle at the gate: resident (quota), emergency (logged without checks) or outside (refused)."""

    checkpoint = models.ForeignKey(Checkpoint, models.CASCADE, related_name="+", verbose_name=_("卡口"))
    plate = models.CharField(_("车牌号"), max_length=10)
    kind = models.CharField(_("类型"), max_length=10, choices=VehicleKind.choices)
    # Made by the guard's phone: a form or request sent twice records one entry.
    client_uuid = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    vehicle_pass = models.ForeignKey(
        VehiclePass, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("车辆通行证")
    )
    scan = models.OneToOneField(
        GateScan, models.SET_NULL, null=True, blank=True, related_name="vehicle_entry", verbose_name=_("出入记录")
    )
    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    occupants = models.CharField(_("随车人员"), max_length=200, blank=True)
    max_temperature = models.DecimalField(_("最高体温"), max_digits=3, decimal_places=1, null=True, blank=True)
    verdict = models.CharField(_("结果"), max_length=8, choices=Verdict.choices)
    message = models.CharField(_("提示"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"))
    guard = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )

    class Meta:
        verbose_name = _("车辆出入")
        verbose_name_plural = _("车辆出入")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.plate} {self.at:%Y-%m-%d %H:%M}"


class Parcel(InCompound):
    """A parcel left at the gate: the household gets a pickup code; sealed homes get it delivered (A7)."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = HOUSEHOLD_LOOKUPS
    checkpoint = models.ForeignKey(Checkpoint, models.CASCADE, related_name="+", verbose_name=_("卡口"))
    household = models.ForeignKey(Household, models.CASCADE, related_name="parcels", verbose_name=_("收件户"))
    carrier = models.CharField(_("快递/外卖"), max_length=50, blank=True)
    # Made by the guard's phone: a form or request sent twice records one entry.
    client_uuid = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    tracking = models.CharField(_("单号"), max_length=50, blank=True)
    pickup_code = models.CharField(_("取件码"), max_length=8)
    contactless = models.BooleanField(_("无接触配送"), default=False, help_text=_("封控户：由志愿者送到门口"))
    logged_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )
    picked_up_at = models.DateTimeField(_("取件时间"), null=True, blank=True)
    picked_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("确认人")
    )

    class Meta:
        verbose_name = _("快递登记")
        verbose_name_plural = _("快递登记")
        ordering = ["-logged_at"]
        indexes = [models.Index(fields=["compound", "pickup_code"], name="parcel_code_idx")]

    def __str__(self) -> str:
        return f"{self.household_id} {self.pickup_code}"


# ----------------------------------------------------------------------------------------------
# Duty roster (A8)


class Shift(InCompound):
    """One of a checkpoint's daily shifts with its minimum staffing (defaults: 08–17, 17–20, 20–08)."""

    checkpoint = models.ForeignKey(Checkpoint, models.CASCADE, related_name="shifts", verbose_name=_("卡口"))
    name = models.CharField(_("班次"), max_length=20)
    starts = models.TimeField(_("开始"))
    ends = models.TimeField(_("结束"), help_text=_("早于开始时间表示次日结束"))
    min_staff = models.PositiveSmallIntegerField(_("最少在岗人数"))
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("班次")
        verbose_name_plural = _("班次")
        ordering = ["checkpoint_id", "order", "starts"]
        constraints = [models.UniqueConstraint(fields=["checkpoint", "name"], name="shift_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} {self.starts:%H:%M}–{self.ends:%H:%M}"

    @property
    def overnight(self) -> bool:
        return self.ends <= self.starts


class DutyAssignment(InCompound):
    """A person on a shift on a date: a staff account or a volunteer by name and phone; sign in/out."""

    shift = models.ForeignKey(Shift, models.CASCADE, related_name="assignments", verbose_name=_("班次"))
    date = models.DateField(_("日期"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("值守人员")
    )
    volunteer_name = models.CharField(_("志愿者姓名"), max_length=50, blank=True)
    volunteer_phone = models.CharField(_("志愿者电话"), max_length=11, blank=True)
    signed_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    signed_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("排班")
        verbose_name_plural = _("排班")
        ordering = ["date", "shift__order"]
        indexes = [models.Index(fields=["shift", "date"], name="duty_shift_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} {self.shift.name} {self.person_name}"

    @property
    def person_name(self) -> str:
        if self.user_id:
            return str(self.user)
        return self.volunteer_name
