"""The fixed vocabularies of supplies (SPEC S1–S10)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """S1: what a designated supplier sells."""

    VEGETABLES = "vegetables", _("蔬菜")
    EGGS = "eggs", _("蛋类")
    FRUIT = "fruit", _("水果")
    PORK = "pork", _("猪肉")
    RICE = "rice", _("大米")
    FLOUR = "flour", _("面粉")
    OIL = "oil", _("食用油")
    SALT = "salt", _("食盐")
    MEDICINE = "medicine", _("药品")
    OTHER = "other", _("其他")


class WindowStatus(models.TextChoices):
    """S2–S4: a window is drafted, published (open for orders between opens_at and cutoff_at),
    aggregated into a purchase order after cut-off, delivered, then settled with the supplier."""

    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    AGGREGATED = "aggregated", _("已汇总")
    DELIVERED = "delivered", _("已配送")
    SETTLED = "settled", _("已结算")


class Priority(models.IntegerChoices):
    """S4/H7: who is served first. Lower sorts first."""

    SEALED = 0, _("封控户")
    ISOLATED = 1, _("隔离户")
    NORMAL = 2, _("普通户")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("已下单")
    CANCELLED = "cancelled", _("已取消")


class PaymentMode(models.TextChoices):
    """S7: how a household pays."""

    PREPAID = "prepaid", _("网格员代收")
    ON_DELIVERY = "on_delivery", _("货到付款")
    CREDIT = "credit", _("社区记账")


class PackageStatus(models.TextChoices):
    """S6: a household's bag from packing to the door."""

    PACKED = "packed", _("待配送")
    OUT = "out", _("配送中")
    HANDED_OVER = "handed_over", _("已当面交付")
    LEFT_AT_DOOR = "left_at_door", _("已无接触放门口")
    CONFIRMED = "confirmed", _("居民已确认收货")
    UNDELIVERED = "undelivered", _("未送达")
    RETURNED = "returned", _("已退回")


# A package in one of these states has reached the household.
DELIVERED_STATES = frozenset({PackageStatus.HANDED_OVER, PackageStatus.LEFT_AT_DOOR, PackageStatus.CONFIRMED})


class StaffCheckKind(models.TextChoices):
    """S10: supplier staff and site checks."""

    TEMPERATURE = "temperature", _("体温检测")
    DISINFECTION = "disinfection", _("场所消杀")
    TEST = "test", _("核酸检测")
