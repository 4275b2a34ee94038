"""Responsibility chain 包保 (SPEC R5) and the leading and working groups (R6)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.registry.models import Community, Compound, Street


class ResponsibilityChain(models.Model):
    """A compound's published chain: street leader → community leader → responsible person."""

    SCOPE_LOOKUPS = {
        "street": "compound__street_id",
        "community": "compound__community_id",
        "grid": "compound__grid_id",
        "compound": "compound_id",
    }
    compound = models.OneToOneField(Compound, models.CASCADE, related_name="responsibility", verbose_name=_("小区"))
    street_leader = models.CharField(_("街道包保领导"), max_length=50)
    street_leader_phone = models.CharField(_("街道包保领导电话"), max_length=20)
    community_leader = models.CharField(_("社区包保干部"), max_length=50)
    community_leader_phone = models.CharField(_("社区包保干部电话"), max_length=20)
    responsible = models.CharField(_("小区责任人"), max_length=50)
    responsible_phone = models.CharField(_("小区责任人电话"), max_length=20)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("包保责任")
        verbose_name_plural = _("包保责任")

    def __str__(self) -> str:
        return str(self.compound)

    @property
    def filled(self) -> bool:
        """Every link of the chain has a person and a phone: ready to publish at the entrance."""
        return all(
            getattr(self, name)
            for name in (
                "street_leader",
                "street_leader_phone",
                "community_leader",
                "community_leader_phone",
                "responsible",
                "responsible_phone",
            )
        )


class CoverSlot(models.Model):
    """A cadre or volunteer covering a compound for a time slot."""

    SCOPE_LOOKUPS = ResponsibilityChain.SCOPE_LOOKUPS
    compound = models.ForeignKey(Compound, models.CASCADE, related_name="cover_slots", verbose_name=_("小区"))
    name = models.CharField(_("姓名"), max_length=50)
    kind = models.CharField(
        _("身份"), max_length=16, choices=[("cadre", _("干部")), ("volunteer", _("志愿者"))], default="cadre"
    )
    phone = models.CharField(_("电话"), max_length=20)
    starts = models.TimeField(_("开始"))
    ends = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("包保时段")
        verbose_name_plural = _("包保时段")
        ordering = ["compound_id", "starts"]

    def __str__(self) -> str:
        return f"{self.name} {self.starts:%H:%M}–{self.ends:%H:%M}"

    @property
    def overnight(self) -> bool:
        """The slot runs past midnight (20:00–08:00)."""
        return self.ends <= self.starts


class ManagingUnit(models.Model):
    """A former manager 原管理单位 of a compound without a property company, and how many of its buildings it ran.

    SPEC R6: such a compound is led by its former manager; of several, the one with most buildings.
    """

    SCOPE_LOOKUPS = ResponsibilityChain.SCOPE_LOOKUPS
    compound = models.ForeignKey(Compound, models.CASCADE, related_name="managing_units", verbose_name=_("小区"))
    name = models.CharField(_("原管理单位"), max_length=100)
    buildings = models.PositiveIntegerField(_("管理楼栋数"), default=1)
    contact = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("原管理单位")
        verbose_name_plural = _("原管理单位")
        ordering = ["compound_id", "-buildings", "id"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="managing_unit_name_unique_in_compound")
        ]

    def __str__(self) -> str:
        return self.name


class GroupKind(models.TextChoices):
    LEADING = "leading", _("领导小组")
    LIAISON = "liaison", _("综合联络组")
    LOGISTICS = "logistics", _("后勤保障组")
    PUBLICITY = "publicity", _("宣传引导组")
    RESCUE = "rescue", _("应急救援组")
    GUARD = "guard", _("值守卡口组")
    MEDICAL = "medical", _("医疗卫生组")
    TRAFFIC = "traffic", _("交通管控组")
    SECURITY = "security", _("治安维稳组")
    ENVIRONMENT = "environment", _("环境整治组")


class WorkingGroup(models.Model):
    """The leading group or a working group of a street or community, with duties and a 24-hour phone."""

    SCOPE_LOOKUPS = {"street": "street_id", "community": "community_id"}
    street = models.ForeignKey(Street, models.CASCADE, related_name="+", verbose_name=_("街道"))
    community = models.ForeignKey(
        Community, models.CASCADE, null=True, blank=True, related_name="working_groups", verbose_name=_("社区")
    )
    kind = models.CharField(_("类别"), max_length=16, choices=GroupKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    duties = models.TextField(_("职责"))
    # Blank until the community fills it in: the seeded default groups have no phone yet.
    duty_phone = models.CharField(_("24小时值班电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("工作组")
        verbose_name_plural = _("工作组")
        ordering = ["street_id", "community_id", "kind"]

    def __str__(self) -> str:
        return self.name


class GroupMember(models.Model):
    SCOPE_LOOKUPS = {"street": "group__street_id", "community": "group__community_id"}
    group = models.ForeignKey(WorkingGroup, models.CASCADE, related_name="members", verbose_name=_("工作组"))
    name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("电话"), max_length=20)
    is_leader = models.BooleanField(_("组长"), default=False)

    class Meta:
        verbose_name = _("组员")
        verbose_name_plural = _("组员")
        ordering = ["group_id", "-is_leader", "id"]

    def __str__(self) -> str:
        return self.name
