"""Forms of the control pages (SPEC H5–H8). They collect input; the services validate and save it.

Choices of records (communities, buildings, units, households, cases) are querysets the view has
already passed through ``linli.lib.scope``: a record outside them is an invalid choice.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from linli.health.choices import CaseKind, CaseSource, ContactKind, EmergencyLevel, PointKind, SealLevel, TestResult
from linli.health.services import UNSEAL_CONDITIONS

DATE_ERRORS = {"invalid": _("请填写正确的日期")}
PERSON_ERRORS = {"required": _("请先查找并选择人员"), "invalid": _("请先查找并选择人员")}


def _date(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DateField:
    errors: dict[str, Any] = {**DATE_ERRORS, "required": format_lazy(_("请填写{label}"), label=label)}
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages=errors,
    )


def _choice(label: Any, choices: Any, *, radio: bool = False, required_message: Any = None) -> forms.ChoiceField:
    message = required_message or format_lazy(_("请选择{label}"), label=label)
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect if radio else forms.Select,
        error_messages={"required": message, "invalid_choice": _("所选项无效，请刷新页面后重选")},
    )


def _records(label: Any, *, required: bool = True, empty_label: Any = None) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=label,
        queryset=None,  # type: ignore[arg-type]  # set by the form from the view's scoped queryset
        required=required,
        empty_label=empty_label or _("（请选择）"),
        error_messages={
            "required": format_lazy(_("请选择{label}"), label=label),
            "invalid_choice": format_lazy(_("所选{label}不存在或不在您的管辖范围内，请刷新页面后重选"), label=label),
        },
    )


class CaseForm(forms.Form):
    """A case (H5): who, what kind, the dates, whether the source is known, the small range it belongs to."""

    community = _records(_("社区"))
    person = forms.IntegerField(required=False, widget=forms.HiddenInput, error_messages=PERSON_ERRORS)
    name = forms.CharField(
        label=_("姓名"), max_length=50, required=False, help_text=_("从台账选择人员时可不填，默认用台账中的姓名")
    )
    kind = _choice(_("病例类型"), CaseKind.choices, radio=True)
    onset_date = _date(_("发病日期"), help_text=_("疫点从发病前 3 天算起；无症状感染者可不填"))
    confirmed_on = _date(_("确诊（报告）日期"), required=True)
    isolated_on = _date(_("隔离日期"))
    source = _choice(_("感染来源"), CaseSource.choices, radio=True, required_message=_("请选择感染来源是否明确"))
    source_note = forms.CharField(label=_("来源说明"), max_length=200, required=False)
    cluster = forms.CharField(
        label=_("聚集范围"),
        max_length=100,
        required=False,
        help_text=_("同一家庭、场所或单元的病例填写同一名称（如：某某公司、某某家庭）；同户、同单元自动归并"),
    )
    address = forms.CharField(label=_("住址"), max_length=200, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["community"]
        field.queryset = communities

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("person") and not (data.get("name") or "").strip():
            self.add_error("name", _("请填写姓名，或从台账中选择人员"))
        return data


class ContactForm(forms.Form):
    """A close contact of a case (H6), picked from the people in scope."""

    person = forms.IntegerField(widget=forms.HiddenInput, error_messages=PERSON_ERRORS)
    kind = _choice(_("接触方式"), ContactKind.choices)
    last_contact_on = _date(_("末次接触日期"))


class PointForm(forms.Form):
    """An epidemic point (H6); the service checks the window and the hours."""

    kind = _choice(_("疫点类型"), PointKind.choices)
    place = forms.CharField(label=_("地点"), max_length=200, error_messages={"required": _("请填写地点")})
    visited_on = _date(_("到访日期"), required=True)
    hours = forms.DecimalField(
        label=_("停留小时"),
        max_digits=4,
        decimal_places=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "2"}),
        error_messages={
            "required": _("请填写停留小时数"),
            "invalid": _("请填写停留小时数，如 1.5"),
            "max_digits": _("停留小时数过大"),
            "max_decimal_places": _("停留小时数最多保留一位小数"),
            "max_whole_digits": _("停留小时数过大"),
        },
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class SealTargetForm(forms.Form):
    """A seal set by hand (H7): the level, and its target chosen step by step within scope."""

    level = _choice(_("封控范围"), SealLevel.choices, radio=True)
    compound = _records(_("小区"))
    building = _records(_("楼栋"))
    unit = _records(_("单元"), required=False, empty_label=_("（封控单元或户时选择）"))
    household = _records(_("户"), required=False, empty_label=_("（封控一户时选择）"))
    case = _records(_("关联病例"), required=False, empty_label=_("（无）"))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)

    def __init__(
        self, *args: Any, compounds: Any, buildings: Any, units: Any, households: Any, cases: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (
            ("compound", compounds),
            ("building", buildings),
            ("unit", units),
            ("household", households),
            ("case", cases),
        ):
            field: Any = self.fields[name]
            field.queryset = queryset

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        level, compound, building = data.get("level"), data.get("compound"), data.get("building")
        unit, household = data.get("unit"), data.get("household")
        if compound and building and building.compound_id != compound.pk:
            self.add_error("building", _("该楼栋不在所选小区"))
        if building and unit and unit.building_id != building.pk:
            self.add_error("unit", _("该单元不在所选楼栋"))
        if unit and household and household.unit_id != unit.pk:
            self.add_error("household", _("该户不在所选单元"))
        if level in (SealLevel.UNIT, SealLevel.HOUSEHOLD) and not unit and "unit" not in self.errors:
            self.add_error("unit", _("请选择单元"))
        if level == SealLevel.HOUSEHOLD and not household and "household" not in self.errors:
            self.add_error("household", _("请选择户"))
        return data

    def target(self) -> Any:
        """The building, unit or household to seal (after ``is_valid()``)."""
        data = self.cleaned_data
        return {
            SealLevel.BUILDING: data["building"],
            SealLevel.UNIT: data["unit"],
            SealLevel.HOUSEHOLD: data["household"],
        }[SealLevel(data["level"])]


class SealTestForm(forms.Form):
    """A sealed person's test result."""

    task = forms.IntegerField(widget=forms.HiddenInput)
    result = forms.ChoiceField(
        choices=[(TestResult.NEGATIVE, TestResult.NEGATIVE.label), (TestResult.POSITIVE, TestResult.POSITIVE.label)],
        error_messages={"required": _("请选择阴性或阳性"), "invalid_choice": _("请选择阴性或阳性")},
    )


class UnsealForm(forms.Form):
    """Unseal (H7): each condition confirmed by ticking it; the service refuses while any is missing."""

    note = forms.CharField(label=_("解封说明"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in UNSEAL_CONDITIONS.items():
            self.fields[f"cond_{key}"] = forms.BooleanField(label=label, required=False)

    def conditions(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(f"cond_{key}")) for key in UNSEAL_CONDITIONS}

    def condition_fields(self) -> list[Any]:
        return [self[f"cond_{key}"] for key in UNSEAL_CONDITIONS]


class EmergencyForm(forms.Form):
    """A property company's emergency level (H8): a company of the community's compounds or typed in."""

    community = forms.IntegerField(widget=forms.HiddenInput)
    company = forms.CharField(
        label=_("物业公司"),
        max_length=100,
        error_messages={"required": _("请填写物业公司")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    level = forms.TypedChoiceField(
        label=_("应急等级"),
        choices=EmergencyLevel.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择应急等级"), "invalid_choice": _("请选择应急等级")},
    )


class TickForm(forms.Form):
    """One checklist item ticked or unticked."""

    item = forms.CharField(max_length=40)
    done = forms.BooleanField(required=False)
