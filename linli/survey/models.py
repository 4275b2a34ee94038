"""Door-to-door survey 入户摸排 (SPEC R2): one record per visit to a household."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.registry.models import Household, Person


class SurveyVisit(models.Model):
    """A visit to a household: who was home, whether the member list was confirmed, who had fever, travel, visitors."""

    SCOPE_LOOKUPS = {
        "street": "household__street_id",
        "community": "household__community_id",
        "grid": "household__grid_id",
        "compound": "household__compound_id",
        "building": "household__building_id",
        "unit": "household__unit_id",
        "household": "household_id",
    }
    household = models.ForeignKey(Household, models.CASCADE, related_name="survey_visits", verbose_name=_("户"))
    visited_at = models.DateTimeField(_("走访时间"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("走访人")
    )
    anyone_home = models.BooleanField(_("家中有人"), default=True)
    people_home = models.ManyToManyField(Person, blank=True, related_name="+", verbose_name=_("在家人员"))
    members_confirmed = models.BooleanField(_("成员信息已核实"), default=False)
    fever = models.BooleanField(_("有发热等症状"), default=False)
    # Who had the fever; each of them gets a fever escalation in the health module (SPEC H3).
    fever_people = models.ManyToManyField(Person, blank=True, related_name="+", verbose_name=_("发热人员"))
    temperature = models.DecimalField(_("体温（℃）"), max_digits=3, decimal_places=1, null=True, blank=True)
    travel_14d = models.BooleanField(_("14天内有外出行程"), default=False)
    visitors_present = models.BooleanField(_("有来访人员"), default=False)
    note = models.TextField(_("情况说明"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("摸排记录")
        verbose_name_plural = _("摸排记录")
        ordering = ["-visited_at", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.visited_at:%Y-%m-%d %H:%M}"

    @property
    def covers_household(self) -> bool:
        """A visit covers the household when someone was home and the member list was confirmed."""
        return self.anyone_home and self.members_confirmed
