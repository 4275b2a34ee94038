"""Forms of the monitoring pages (SPEC H1–H4, H9). They collect input; the services validate and save it."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.health import rules
from linli.health.choices import Category, OrderStatus, Place, RiskLevel, Symptom, TestResult, Zone
from linli.health.models import HealthSettings, IsolationSite


def date_input() -> forms.DateInput:
    """The phone's date picker; the value as it expects it (ISO), whatever the language."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# The "category" a worker leaves to the risk areas: the service classifies the returnee (H1).
AUTO = ""


class TemperatureField(forms.Field):
    """A temperature as typed on a phone ("36.5", "36,5", "３６.５"); the service checks the range."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> Any:
        text = unicodedata.normalize("NFKC", str(value or "")).replace(",", ".").replace("℃", "").strip()
        if not text:
            return None
        if len(text) > 8:
            raise forms.ValidationError(_("请填写体温，如 36.5"), code="invalid")
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise forms.ValidationError(_("请填写体温，如 36.5"), code="invalid")
        return value


class TemperatureForm(forms.Form):
    """A temperature and symptoms (H3): the resident's own report or a report on someone's behalf."""

    temperature = TemperatureField(
        label=_("体温（℃）"),
        error_messages={"required": _("请填写体温，如 36.5")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "decimal",
                "autocomplete": "off",
                "placeholder": "36.5",
                "class": "temperature",
                "maxlength": "8",
            }
        ),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("有无以下症状（没有就不选）"),
        choices=Symptom.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("未知的症状，请刷新页面后重选")},
    )


class ProxyReportForm(TemperatureForm):
    """Staff reporting for a person (代报): the slot may be chosen when chasing a missed morning."""

    slot = forms.TypedChoiceField(
        label=_("时段"),
        choices=[("", _("按当前时间")), (1, _("上午")), (2, _("下午"))],
        coerce=int,
        empty_value=None,
        required=False,
    )


class RegisterForm(forms.Form):
    """Register a key person (H1); the person is chosen by search, the category may be left to the risk areas."""

    person = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": _("请先查找并选择人员"), "invalid": _("请先查找并选择人员")},
    )
    category = forms.ChoiceField(label=_("人员类别"), required=False)
    origin = forms.CharField(
        label=_("来自（区县）"),
        max_length=100,
        required=False,
        help_text=_("返乡人员的出发地，如：某省某市某区；自动判定时必填（或在户页面登记行程）"),
    )
    arrived_on = forms.DateField(
        label=_("到达日期"),
        required=False,
        widget=date_input(),
        error_messages={"invalid": _("请填写正确的日期")},
    )
    site = forms.ModelChoiceField(
        label=_("集中隔离点"),
        queryset=IsolationSite.objects.none(),
        required=False,
        empty_label=_("（集中隔离时选择）"),
        error_messages={"invalid_choice": _("所选隔离点不存在，请刷新页面后重选")},
    )
    room = forms.CharField(label=_("房间号"), max_length=20, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, sites: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["category"]
        field.choices = [(AUTO, _("自动判定（按风险地区）")), *Category.choices]
        if sites is not None:
            site_field: Any = self.fields["site"]
            site_field.queryset = sites

    def clean_category(self) -> str | None:
        return self.cleaned_data.get("category") or None


class TestResultForm(forms.Form):
    __test__ = False  # not a pytest class, whatever its name says

    task = forms.IntegerField(widget=forms.HiddenInput)
    result = forms.ChoiceField(
        choices=[(TestResult.NEGATIVE, TestResult.NEGATIVE.label), (TestResult.POSITIVE, TestResult.POSITIVE.label)],
        error_messages={"required": _("请选择阴性或阳性"), "invalid_choice": _("请选择阴性或阳性")},
    )


class TestAddForm(forms.Form):
    __test__ = False

    due_on = forms.DateField(
        label=_("检测日期"),
        widget=date_input(),
        error_messages={"required": _("请填写检测日期"), "invalid": _("请填写正确的日期")},
    )


class ExtendForm(forms.Form):
    days = forms.IntegerField(
        label=_("延长天数"),
        min_value=1,
        max_value=60,
        error_messages={
            "required": _("请填写延长天数"),
            "invalid": _("延长天数须为整数"),
            "min_value": _("延长天数须在 1 到 60 之间"),
            "max_value": _("延长天数须在 1 到 60 之间"),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    reason = forms.CharField(label=_("延期原因"), max_length=200, error_messages={"required": _("请填写延期原因")})


class EndForm(forms.Form):
    status = forms.ChoiceField(
        label=_("结束方式"),
        choices=[
            (OrderStatus.TRANSFERRED, OrderStatus.TRANSFERRED.label),
            (OrderStatus.CANCELLED, OrderStatus.CANCELLED.label),
        ],
        error_messages={"required": _("请选择转运或撤销"), "invalid_choice": _("只能转运或撤销")},
    )
    note = forms.CharField(label=_("说明"), max_length=200, error_messages={"required": _("请填写说明")})


class StepDoneForm(forms.Form):
    step = forms.CharField(max_length=24, widget=forms.HiddenInput)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class KeyPersonFilter(forms.Form):
    """The key-person list's filters (GET)."""

    q = forms.CharField(label=_("姓名"), max_length=50, required=False)
    category = forms.ChoiceField(label=_("类别"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category: Any = self.fields["category"]
        category.choices = [("", _("全部类别")), *Category.choices]
        status: Any = self.fields["status"]
        status.choices = [("", _("全部状态")), *OrderStatus.choices, ("none", _("无需隔离"))]


class DaySlotForm(forms.Form):
    """The chase list's day and slot (GET); defaults are today and the current slot."""

    date = forms.DateField(label=_("日期"), required=False, widget=date_input())
    slot = forms.TypedChoiceField(
        label=_("时段"), choices=[(1, _("上午")), (2, _("下午"))], coerce=int, empty_value=None, required=False
    )


class DayForm(forms.Form):
    date = forms.DateField(label=_("日期"), required=False, widget=date_input())


# --- the street's tables ---


_DAY_LIST = re.compile(r"^\s*(\d{1,2}\s*([,，、\s]\s*\d{1,2}\s*)*)?$")


class RuleForm(forms.Form):
    """One row of the rule table (H2); test days typed as "1,7,14"."""

    days = forms.IntegerField(
        label=_("隔离（观察）天数"),
        min_value=0,
        max_value=60,
        help_text=_("0 表示无需隔离"),
        error_messages={
            "required": _("请填写天数"),
            "invalid": _("天数须为整数"),
            "min_value": _("天数须在 0 到 60 之间"),
            "max_value": _("天数须在 0 到 60 之间"),
        },
    )
    place = forms.ChoiceField(label=_("方式"), choices=Place.choices)
    test_days = forms.CharField(
        label=_("核酸检测日"),
        required=False,
        max_length=100,
        help_text=_("第几天检测，用逗号分隔，如 1,7,14；不检测留空"),
    )
    test_within_days = forms.IntegerField(
        label=_("需持几日内核酸阴性证明"),
        required=False,
        min_value=1,
        max_value=60,
        error_messages={"invalid": _("天数须为整数"), "min_value": _("天数须在 1 到 60 之间")},
    )
    reports_per_day = forms.TypedChoiceField(
        label=_("每日测温次数"), choices=[(0, "0"), (1, "1"), (2, "2")], coerce=int
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def clean_test_days(self) -> list[int]:
        text = self.cleaned_data.get("test_days") or ""
        if not _DAY_LIST.match(text):
            raise forms.ValidationError(_("检测日须为用逗号分隔的数字，如 1,7,14"))
        return [int(part) for part in re.findall(r"\d+", text)]


class RiskAreaForm(forms.Form):
    province = forms.CharField(label=_("省份"), max_length=30, required=False)
    county = forms.CharField(
        label=_("区县"),
        max_length=50,
        help_text=_("在此区县有旅居史即按该风险等级管理"),
        error_messages={"required": _("请填写区县")},
    )
    name = forms.CharField(label=_("风险区名称"), max_length=100, error_messages={"required": _("请填写风险区名称")})
    level = forms.ChoiceField(label=_("风险等级"), choices=RiskLevel.choices)
    zone = forms.ChoiceField(label=_("管理区域"), choices=[("", "—"), *Zone.choices], required=False)
    starts_on = forms.DateField(
        label=_("起始日期"),
        widget=date_input(),
        error_messages={"required": _("请填写起始日期"), "invalid": _("请填写正确的日期")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"starts_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class RiskAreaEndForm(forms.Form):
    area = forms.IntegerField(widget=forms.HiddenInput)
    ends_on = forms.DateField(
        label=_("解除日期"),
        widget=date_input(),
        error_messages={"required": _("请填写解除日期"), "invalid": _("请填写正确的日期")},
    )


class SettingsForm(forms.ModelForm):
    """The street's reporting clock, thresholds and seal report counts (H3).

    The checks across fields (slots in order, the threshold's range) are ``rules.settings_update``'s,
    the same for the page and the API.
    """

    class Meta:
        model = HealthSettings
        fields = list(rules.SETTINGS_FIELDS)
        widgets = {
            name: forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            for name in ("morning_slot", "afternoon_slot", "report_deadline", "summary_due")
        }


class SiteForm(forms.ModelForm):
    class Meta:
        model = IsolationSite
        fields = ["name", "address", "rooms", "phone"]
        error_messages = {"name": {"required": _("请填写隔离点名称")}}
