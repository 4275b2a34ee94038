"""Choices of the gate (SPEC A1–A10)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RiskLevel(models.TextChoices):
    """The area's risk level (A10, H9): low keeps the entrances open, medium or higher closes them."""

    LOW = "low", _("低风险")
    MEDIUM = "medium", _("中风险")
    HIGH = "high", _("高风险")


class QuotaMode(models.TextChoices):
    QUOTA = "quota", _("限次外出")
    TICKET = "ticket", _("出入券")


class Direction(models.TextChoices):
    OUT = "out", _("外出")
    IN = "in", _("返回")


class Verdict(models.TextChoices):
    ALLOWED = "allowed", _("放行")
    REFUSED = "refused", _("拒绝")


class Reason(models.TextChoices):
    """Why a scan was refused (or, for ``OK``, that it was not)."""

    OK = "ok", _("通过")
    QUOTA = "quota", _("外出次数已用完")
    HOURS = "hours", _("不在允许外出时段")
    SEALED = "sealed", _("本户处于封控中")
    OBSERVATION = "observation", _("本户处于居家观察中")
    HOLD = "hold", _("本户通行证已暂停")
    FEVER = "fever", _("体温异常")
    HEALTH_CODE = "health_code", _("健康码异常")
    REVOKED = "revoked", _("通行证已作废")
    EXPIRED = "expired", _("通行证已过期")
    NOT_YET_VALID = "not_yet_valid", _("通行证尚未生效")
    FORGED = "forged", _("通行证无效或伪造")
    WRONG_COMPOUND = "wrong_compound", _("非本小区通行证")
    NOT_MEMBER = "not_member", _("非指定外出人员")
    TICKET_USED = "ticket_used", _("出入券已使用")
    NO_TICKET = "no_ticket", _("请出示本期出入券")


class HoldReason(models.TextChoices):
    """Why a household has no valid pass (A2, H7)."""

    SEALED = "sealed", _("封控")
    HOME_OBSERVATION = "home_observation", _("居家观察")
    OTHER = "other", _("其他")


class AlertKind(models.TextChoices):
    FEVER = "fever", _("发热")
    OVERDUE = "overdue", _("超时未归")
    VIOLATION = "violation", _("超次外出")


class ExemptKind(models.TextChoices):
    """Exempt passage with proof (A4)."""

    WORKER = "worker", _("复工人员")
    EPIDEMIC_WORKER = "epidemic_worker", _("防疫工作人员")
    EMERGENCY_VEHICLE = "emergency_vehicle", _("应急车辆")


class VehicleKind(models.TextChoices):
    RESIDENT = "resident", _("住户车辆")
    EMERGENCY = "emergency", _("应急车辆")
    OUTSIDE = "outside", _("外来车辆")
