from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.lib.forms import ModelIdsField
from linli.lib.wording import bracketed
from linli.registry.models import Household, Person


class PersonCheckboxField(ModelIdsField):
    def label_from_instance(self, obj: Any) -> str:
        return bracketed(obj.name, obj.get_relation_display())


class FeverPersonField(ModelIdsField):
    # Only the name: the in-home checkboxes above already carry "name（relation）" labels.
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


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
    fever_people = FeverPersonField(
        label=_("发热人员"),
        queryset=Person.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={"invalid_choice": _("只能勾选本户的成员")},
    )
    temperature = forms.DecimalField(
        label=_("体温（℃）"),
        required=False,
        max_digits=3,
        decimal_places=1,
        min_value=Decimal("34.0"),
        max_value=Decimal("43.0"),
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal", "placeholder": "38.5"}),
        error_messages={
            "invalid": _("请填写体温，如 38.5"),
            "min_value": _("体温须在 34.0 到 43.0 ℃ 之间，请核对"),
            "max_value": _("体温须在 34.0 到 43.0 ℃ 之间，请核对"),
            "max_digits": _("请填写体温，如 38.5"),
            "max_decimal_places": _("体温保留一位小数，如 38.5"),
            "max_whole_digits": _("体温须在 34.0 到 43.0 ℃ 之间，请核对"),
        },
    )
    travel_14d = forms.BooleanField(label=_("14天内有外出行程"), required=False)
    visitors_present = forms.BooleanField(label=_("有来访人员"), required=False)
    note = forms.CharField(
        label=_("情况说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )

    def __init__(self, *args: Any, household: Household, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("visited_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        self.household = household
        members = Person.objects.filter(household=household).order_by("id")
        self.fields["people_home"].queryset = members  # type: ignore[attr-defined]
        self.fields["fever_people"].queryset = members  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("fever"):
            # The fever details are hidden while the box is unticked; what stayed in them is not meant.
            cleaned["fever_people"] = []
            cleaned["temperature"] = None
        elif "fever_people" in cleaned and not cleaned["fever_people"]:
            self.add_error("fever_people", _("请勾选有发热等症状的成员"))
        return cleaned
