"""The registry tree (SPEC R1) and the people in it (R3, R4).

Every node stores the ids of all its ancestors, so that scoping a query to any part of the tree is
one indexed equality (see ``linli.lib.scope``) and a household page needs no chain of joins.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.lib.idnumbers import mask_id_number, mask_phone
from linli.registry.choices import (
    BuildingKind,
    CommunityKind,
    CompoundKind,
    Gender,
    HealthCode,
    Relation,
    Residency,
)


class Node(models.Model):
    """Common fields of the tree's nodes."""

    LEVEL: ClassVar[str]
    code = models.CharField(_("编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Street(Node):
    """街道: a sub-district, the top of the tree."""

    LEVEL = "street"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "pk"}

    class Meta:
        verbose_name = _("街道")
        verbose_name_plural = _("街道")
        ordering = ["code"]


class Community(Node):
    """社区 (urban community or village)."""

    LEVEL = "community"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "street_id", "community": "pk"}
    street = models.ForeignKey(Street, models.PROTECT, related_name="communities", verbose_name=_("街道"))
    kind = models.CharField(_("类型"), max_length=16, choices=CommunityKind.choices, default=CommunityKind.URBAN)

    class Meta:
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        ordering = ["code"]


class Grid(Node):
    """网格: the part of a community one grid worker covers."""

    LEVEL = "grid"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {"street": "street_id", "community": "community_id", "grid": "pk"}
    street = models.ForeignKey(Street, models.PROTECT, related_name="+", verbose_name=_("街道"))
    community = models.ForeignKey(Community, models.PROTECT, related_name="grids", verbose_name=_("社区"))

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]


class Compound(Node):
    """小区 or 开放式居民点."""

    LEVEL = "compound"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "pk",
    }
    street = models.ForeignKey(Street, models.PROTECT, related_name="+", verbose_name=_("街道"))
    community = models.ForeignKey(Community, models.PROTECT, related_name="compounds", verbose_name=_("社区"))
    grid = models.ForeignKey(Grid, models.PROTECT, related_name="compounds", verbose_name=_("网格"))
    kind = models.CharField(_("类型"), max_length=16, choices=CompoundKind.choices, default=CompoundKind.COMPOUND)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    property_company = models.CharField(_("物业公司"), max_length=100, blank=True)
    lead_unit = models.CharField(
        _("牵头单位"),
        max_length=100,
        blank=True,
        help_text=_("无物业的小区：原管理单位；多个时取楼栋最多者；都没有时由社区牵头"),
    )

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["code"]


class Building(Node):
    """楼栋 or 楼院."""

    LEVEL = "building"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "pk",
    }
    street = models.ForeignKey(Street, models.PROTECT, related_name="+", verbose_name=_("街道"))
    community = models.ForeignKey(Community, models.PROTECT, related_name="+", verbose_name=_("社区"))
    grid = models.ForeignKey(Grid, models.PROTECT, related_name="+", verbose_name=_("网格"))
    compound = models.ForeignKey(Compound, models.PROTECT, related_name="buildings", verbose_name=_("小区"))
    kind = models.CharField(_("类型"), max_length=16, choices=BuildingKind.choices, default=BuildingKind.BUILDING)
    number = models.PositiveIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["compound_id", "number", "code"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="building_name_unique_in_compound")]


class Unit(Node):
    """单元."""

    LEVEL = "unit"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "building_id",
        "unit": "pk",
    }
    street = models.ForeignKey(Street, models.PROTECT, related_name="+", verbose_name=_("街道"))
    community = models.ForeignKey(Community, models.PROTECT, related_name="+", verbose_name=_("社区"))
    grid = models.ForeignKey(Grid, models.PROTECT, related_name="+", verbose_name=_("网格"))
    compound = models.ForeignKey(Compound, models.PROTECT, related_name="+", verbose_name=_("小区"))
    building = models.ForeignKey(Building, models.PROTECT, related_name="units", verbose_name=_("楼栋"))
    number = models.PositiveIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        ordering = ["building_id", "number", "code"]
        constraints = [models.UniqueConstraint(fields=["building", "name"], name="unit_name_unique_in_building")]


class Household(models.Model):
    """户: one dwelling (room) and the people living in it."""

    LEVEL = "household"
    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "building_id",
        "unit": "unit_id",
        "household": "pk",
    }
    # Unique through Meta.constraints, not unique=True: on PostgreSQL unique=True also builds a
    # varchar_pattern_ops "_like" index that nothing here uses and every inserted row pays for.
    code = models.CharField(_("编码"), max_length=80)
    # The unit is the household's real parent; the ancestors above it are copies of the unit's, kept
    # for one-equality scoping. The copies carry no database constraint (services derive them from
    # the unit) and no index where a composite index already leads with them: a roster import
    # inserts tens of thousands of households and each constraint or index is paid per row.
    street = models.ForeignKey(
        Street, models.PROTECT, related_name="+", verbose_name=_("街道"), db_constraint=False, db_index=False
    )
    community = models.ForeignKey(
        Community, models.PROTECT, related_name="+", verbose_name=_("社区"), db_constraint=False
    )
    grid = models.ForeignKey(Grid, models.PROTECT, related_name="+", verbose_name=_("网格"), db_constraint=False)
    compound = models.ForeignKey(
        Compound, models.PROTECT, related_name="+", verbose_name=_("小区"), db_constraint=False
    )
    building = models.ForeignKey(
        Building, models.PROTECT, related_name="+", verbose_name=_("楼栋"), db_constraint=False, db_index=False
    )
    unit = models.ForeignKey(Unit, models.PROTECT, related_name="households", verbose_name=_("单元"), db_index=False)
    room = models.CharField(_("房号"), max_length=20)
    is_rented = models.BooleanField(_("出租房"), default=False)
    landlord_name = models.CharField(_("房东姓名"), max_length=50, blank=True)
    landlord_phone = models.CharField(_("房东电话"), max_length=11, blank=True)
    surveyed_at = models.DateTimeField(_("摸排完成时间"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["unit_id", "room"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "room"], name="household_room_unique_in_unit"),
            models.UniqueConstraint(
                fields=["code"], name="household_code_unique", violation_error_message=_("该编码已被其他户使用")
            ),
        ]
        indexes = [
            models.Index(fields=["room"], name="household_room_idx"),
            models.Index(fields=["building", "surveyed_at"], name="household_survey_idx"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        """楼栋-单元-房号, the way residents and workers say it."""
        return f"{self.building.name}{self.unit.name}{self.room}"

    @property
    def full_address(self) -> str:
        return f"{self.compound.name} {self.address}"

    @property
    def masked_landlord_phone(self) -> str:
        return mask_phone(self.landlord_phone)


class Person(models.Model):
    """A person living in (or visiting) a household."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        "street": "household__street_id",
        "community": "household__community_id",
        "grid": "household__grid_id",
        "compound": "household__compound_id",
        "building": "household__building_id",
        "unit": "household__unit_id",
        "household": "household_id",
    }
    household = models.ForeignKey(Household, models.CASCADE, related_name="members", verbose_name=_("户"))
    name = models.CharField(_("姓名"), max_length=50)
    # NULL, not "", when a person has no number yet (a newborn): NULLs never collide in the unique index.
    # Unique through Meta.constraints (see Household.code for why not unique=True).
    id_number = models.CharField(_("身份证号"), max_length=18, null=True, blank=True)
    id_tail = models.CharField(_("身份证号后四位"), max_length=4, blank=True)
    phone = models.CharField(_("手机号"), max_length=11, blank=True)
    phone_tail = models.CharField(_("手机号后四位"), max_length=4, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices, default=Relation.OTHER)
    residency = models.CharField(_("居住类型"), max_length=16, choices=Residency.choices, default=Residency.RESIDENT)
    health_code = models.CharField(_("健康码"), max_length=8, choices=HealthCode.choices, default=HealthCode.GREEN)
    lives_alone = models.BooleanField(_("独居"), default=False)
    empty_nest = models.BooleanField(_("空巢"), default=False)
    left_behind = models.BooleanField(_("留守"), default=False)
    disabled = models.BooleanField(_("残疾"), default=False)
    chronic_illness = models.BooleanField(_("慢性病"), default=False)
    infant = models.BooleanField(_("婴幼儿"), default=False)
    pregnant = models.BooleanField(_("孕产妇"), default=False)
    no_smartphone = models.BooleanField(_("无智能手机"), default=False)
    hardship = models.BooleanField(_("困难家庭"), default=False)
    helper_name = models.CharField(_("结对帮扶人"), max_length=50, blank=True)
    helper_phone = models.CharField(_("帮扶人电话"), max_length=11, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["household_id", "id"]
        constraints = [
            # varchar_pattern_ops here and on the tails below: the btree compares with memcmp instead of
            # the database collation's strcoll (C.UTF-8 is not PostgreSQL's built-in C), which a roster
            # import pays ~17 times per row and index; the operator class answers equality (=, IN,
            # ANY, ON CONFLICT) just the same, and these columns are only ever compared for equality.
            models.UniqueConstraint(
                fields=["id_number"],
                name="person_id_number_unique",
                opclasses=["varchar_pattern_ops"],
                violation_error_message=_("该身份证号已登记"),
            )
        ]
        indexes = [
            # No plain index on name: the pattern index below answers equality too (and on SQLite,
            # which ignores opclasses, it is a plain index on name). No index on the full phone: a
            # phone search goes through phone_tail. Every index is paid per row by a roster import.
            # Name search is a prefix match (LIKE '张%'), which a plain btree index cannot serve under a
            # non-C collation; the pattern opclass can, whatever the collation (opclasses are ignored on
            # SQLite). The household id in the search indexes lets a scoped search (a community's
            # workers) drop other communities' matches from the index alone, before reading any row.
            models.Index(
                fields=["name", "household"],
                name="person_name_prefix_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(
                fields=["phone_tail", "household"],
                name="person_phone_tail_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(
                fields=["id_tail", "household"],
                name="person_id_tail_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number or "")

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def vulnerable_labels(self) -> list[str]:
        from linli.registry.choices import VULNERABLE_FLAGS

        return [str(label) for field, label in VULNERABLE_FLAGS if getattr(self, field)]

    @property
    def is_vulnerable(self) -> bool:
        return bool(self.vulnerable_labels)


class TravelRecord(models.Model):
    """A place a person has been, for the 14-day travel history."""

    SCOPE_LOOKUPS: ClassVar[dict[str, str]] = {
        level: f"person__{lookup}" for level, lookup in Person.SCOPE_LOOKUPS.items()
    }
    person = models.ForeignKey(Person, models.CASCADE, related_name="travel", verbose_name=_("人员"))
    date = models.DateField(_("日期"))
    place = models.CharField(_("地点"), max_length=100, help_text=_("到达的城市、区县"))
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("行程记录")
        verbose_name_plural = _("行程记录")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} {self.place}"
