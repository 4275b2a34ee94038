from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.registry.models import Household, Person


class PersonCheckboxField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.get_relation_display()}）"


class SurveyVisitForm(forms.Form):
    """What a grid worker records at the door, on a phone."""

    visited_at = forms.DateTimeField(
        label=_("走访时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": _("请填写走访时间"), "invalid": _("走访时间格式不正确")},
    )
    anyone_home = forms.TypedChoiceField(
        label=_("家中有人吗？"),
        choices=[("1", _("有人")), ("0", _("无人"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="1",
        error_messages={"required": _("请选择家中是否有人")},
    )
    people_home = PersonCheckboxField(
        label=_("在家人员"),
        queryset=Person.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": _("只能勾选本户的成员")},
    )
    members_confirmed = forms.BooleanField(label=_("成员信息已核实"), required=False)
    fever = forms.BooleanField(label=_("有发热等症状"), required=False)
    travel_14d = forms.BooleanField(label=_("14天内有外出行程"), required=False)
    visitors_present = forms.BooleanField(label=_("有来访人员"), required=False)
    note = forms.CharField(
        label=_("情况说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )

    def __init__(self, *args: Any, household: Household, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("visited_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        self.household = household
        self.fields["people_home"].queryset = Person.objects.filter(household=household).order_by("id")  # type: ignore[attr-defined]
