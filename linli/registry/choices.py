from django.db import models
from django.utils.translation import gettext_lazy as _


class CommunityKind(models.TextChoices):
    URBAN = "urban", _("城市社区")
    VILLAGE = "village", _("村")


class CompoundKind(models.TextChoices):
    COMPOUND = "compound", _("小区")
    OPEN = "open", _("开放式居民点")


class BuildingKind(models.TextChoices):
    BUILDING = "building", _("楼栋")
    COURTYARD = "courtyard", _("楼院")


class Relation(models.TextChoices):
    HOUSEHOLDER = "householder", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDPARENT = "grandparent", _("祖父母")
    GRANDCHILD = "grandchild", _("孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    OTHER_RELATIVE = "relative", _("其他亲属")
    TENANT = "tenant", _("租客")
    OTHER = "other", _("其他")


class Residency(models.TextChoices):
    RESIDENT = "resident", _("常住")
    TENANT = "tenant", _("租住")
    VISITOR = "visitor", _("访客")


class HealthCode(models.TextChoices):
    GREEN = "green", _("绿码")
    YELLOW = "yellow", _("黄码")
    RED = "red", _("红码")
    UNKNOWN = "unknown", _("未知")


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


# The vulnerable-person flags of SPEC R4, as (field name, label); the Person model has one
# boolean per entry and pages and rosters list them in this order.
VULNERABLE_FLAGS: tuple[tuple[str, str], ...] = (
    ("lives_alone", _("独居")),
    ("empty_nest", _("空巢")),
    ("left_behind", _("留守")),
    ("disabled", _("残疾")),
    ("chronic_illness", _("慢性病")),
    ("infant", _("婴幼儿")),
    ("pregnant", _("孕产妇")),
    ("no_smartphone", _("无智能手机")),
    ("hardship", _("困难家庭")),
)  # type: ignore[assignment]
