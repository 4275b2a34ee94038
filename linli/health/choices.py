"""The fixed vocabularies of the health module (SPEC H1–H9)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """Key-person categories (H1) — each has a row in the street's rule table (H2)."""

    HIGH_RISK_RETURNEE = "high_risk_returnee", _("高风险地区返乡人员")
    MEDIUM_RISK_RETURNEE = "medium_risk_returnee", _("中风险地区返乡人员")
    LOW_RISK_RETURNEE = "low_risk_returnee", _("低风险地区返乡人员")
    CLOSE_CONTACT = "close_contact", _("密切接触者")
    OTHER_PROVINCE = "other_province", _("外省来（返）人员")
    RETURNEE_MONITORING = "returnee_monitoring", _("返乡人员（居家健康监测）")
    SYMPTOMATIC = "symptomatic", _("有症状人员")
    HOME_OBSERVATION = "home_observation", _("居家观察人员")


class RiskLevel(models.TextChoices):
    """Risk area levels (H9); ordered low < medium < high."""

    LOW = "low", _("低风险")
    MEDIUM = "medium", _("中风险")
    HIGH = "high", _("高风险")


RISK_ORDER = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class Zone(models.TextChoices):
    """The zone a risk area is managed as (H9, S4)."""

    SEALED = "sealed", _("封控区")
    CONTROLLED = "controlled", _("管控区")
    PREVENTION = "prevention", _("防范区")


class Place(models.TextChoices):
    """Where a measure is carried out (H2)."""

    CENTRALIZED = "centralized", _("集中隔离")
    HOME = "home", _("居家隔离")
    HOME_OBSERVATION = "home_observation", _("居家观察")
    HOME_MONITORING = "home_monitoring", _("居家健康监测")
    NONE = "none", _("无需隔离")


# Places where the person stays at home: the household's passes are suspended (A2).
HOME_PLACES = frozenset({Place.HOME, Place.HOME_OBSERVATION})


class OrderStatus(models.TextChoices):
    ACTIVE = "active", _("隔离中")
    RELEASED = "released", _("已解除")
    TRANSFERRED = "transferred", _("已转运")
    CANCELLED = "cancelled", _("已撤销")


class TestResult(models.TextChoices):
    PENDING = "pending", _("待检测")
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")


class Symptom(models.TextChoices):
    FEVER = "fever", _("发热")
    COUGH = "cough", _("咳嗽")
    FATIGUE = "fatigue", _("乏力")
    SORE_THROAT = "sore_throat", _("咽痛")
    SMELL_TASTE = "smell_taste", _("嗅（味）觉减退")
    DIARRHOEA = "diarrhoea", _("腹泻")
    BREATH = "breath", _("呼吸困难")


class EscalationStep(models.TextChoices):
    """The fever escalation of H3, in order."""

    COMMUNITY_NOTIFIED = "community_notified", _("社区接报")
    STREET_INFORMED = "street_informed", _("报告街道")
    CENTRE_INFORMED = "centre_informed", _("报告社区卫生服务中心")
    AMBULANCE_SENT = "ambulance_sent", _("救护车转运")
    AT_FEVER_CLINIC = "at_fever_clinic", _("到达发热门诊")
    CDC_INFORMED = "cdc_informed", _("报告区疾控中心")


ESCALATION_ORDER = list(EscalationStep.values)


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("处置中")
    CLOSED = "closed", _("已完成")


class CaseKind(models.TextChoices):
    CONFIRMED = "confirmed", _("确诊病例")
    ASYMPTOMATIC = "asymptomatic", _("无症状感染者")


class CaseSource(models.TextChoices):
    KNOWN = "known", _("来源明确")
    UNKNOWN = "unknown", _("来源不明")


class ContactKind(models.TextChoices):
    """How a close contact was exposed (H6)."""

    HOME = "home", _("共同居住")
    CLASS = "class", _("同班学习")
    WORK = "work", _("同室工作")
    CARER = "carer", _("诊疗、护理、探视")
    VEHICLE = "vehicle", _("同乘交通工具近距离接触")
    OTHER = "other", _("其他经判定的接触")


class PointKind(models.TextChoices):
    """The unit an epidemic point is drawn as (H6)."""

    HOUSEHOLD = "household", _("家庭")
    OFFICE = "office", _("办公室")
    VEHICLE = "vehicle", _("交通工具")
    FLIGHT = "flight", _("航班")
    WARD = "ward", _("病房")
    BUILDING = "building", _("楼栋")
    OTHER = "other", _("其他场所")


class CommunityStatus(models.TextChoices):
    """The community epidemic status of H5, from least to most severe."""

    NO_CASE = "no_case", _("未发现病例")
    CASE = "case", _("出现病例")
    OUTBREAK = "outbreak", _("暴发疫情")
    TRANSMISSION = "transmission", _("社区传播")


STATUS_ORDER = list(CommunityStatus.values)


class SealLevel(models.TextChoices):
    HOUSEHOLD = "household", _("户")
    UNIT = "unit", _("单元")
    BUILDING = "building", _("楼栋")


class MonitorSource(models.TextChoices):
    ORDER = "order", _("隔离医学观察")
    SEAL = "seal", _("封控")


class EmergencyLevel(models.IntegerChoices):
    """Property-company emergency levels (H8): 3 warning, 2 high alert, 1 emergency."""

    LEVEL_3 = 3, _("三级（预警）")
    LEVEL_2 = 2, _("二级（高度戒备）")
    LEVEL_1 = 1, _("一级（紧急）")
