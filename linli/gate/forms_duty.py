"""Forms of the community's gate pages: rules, checkpoints, shifts and assignments.

Forms shape the input and give the first Chinese messages; the rules that decide (ranges, unique
names, who may be on a shift) live in ``linli.gate.rules`` and ``linli.gate.duty``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.gate.choices import QuotaMode, RiskLevel
from linli.gate.rules import MAX_HOURS_OUT, MAX_OUTINGS, MAX_PERIOD_DAYS
from linli.lib.wording import bracketed

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_ERRORS = {"required": _("请填写时间"), "invalid": _("时间格式应为 08:00")}


class RulesForm(forms.Form):
    risk_level = forms.ChoiceField(
        label=_("风险等级"),
        choices=RiskLevel.choices,
        help_text=_("低风险：出入不受限制；中、高风险：封闭管理，按“六个一”落实"),
        error_messages={"required": _("请选择风险等级"), "invalid_choice": _("请选择风险等级：低、中或高")},
    )
    log_when_open = forms.BooleanField(label=_("低风险时仍扫码登记出入"), required=False)
    mode = forms.ChoiceField(
        label=_("管控方式"),
        choices=QuotaMode.choices,
        help_text=_("出入券：每户每周期发一张券，外出时在卡口回收；此时不看每周期外出次数"),
        error_messages={"required": _("请选择管控方式"), "invalid_choice": _("请选择管控方式")},
    )
    outings_per_period = forms.IntegerField(
        label=_("每周期外出次数"),
        min_value=1,
        max_value=MAX_OUTINGS,
        error_messages={
            "required": _("请填写每周期外出次数"),
            "invalid": _("每周期外出次数应为整数"),
            "min_value": _("每周期外出次数至少为1次"),
            "max_value": _("每周期外出次数不能超过%(limit_value)s次"),
        },
    )
    period_days = forms.IntegerField(
        label=_("周期天数"),
        min_value=1,
        max_value=MAX_PERIOD_DAYS,
        help_text=_("默认每2天1次"),
        error_messages={
            "required": _("请填写周期天数"),
            "invalid": _("周期天数应为整数"),
            "min_value": _("周期天数至少为1天"),
            "max_value": _("周期天数不能超过%(limit_value)s天"),
        },
    )
    max_hours_out = forms.DecimalField(
        label=_("每次外出最长小时数"),
        decimal_places=1,  # no max_digits: max_value bounds it, and 1e5 would fail both with one message twice
        max_value=MAX_HOURS_OUT,
        error_messages={
            "required": _("请填写每次外出最长小时数"),
            "invalid": _("每次外出最长小时数应为数字，如 3 或 2.5"),
            "max_value": _("每次外出最长不能超过24小时"),
            "max_decimal_places": _("每次外出最长小时数最多保留一位小数"),
        },
    )
    out_from = forms.TimeField(label=_("允许外出开始时间"), widget=TIME_WIDGET, error_messages=TIME_ERRORS)
    out_until = forms.TimeField(
        label=_("允许外出结束时间"),
        widget=TIME_WIDGET,
        help_text=_("早于开始时间表示跨夜"),
        error_messages=TIME_ERRORS,
    )
    period_anchor = forms.DateField(
        label=_("周期起算日"),
        widget=DATE_WIDGET,
        help_text=_("外出周期从这一天起每隔“周期天数”重新计算"),
        error_messages={"required": _("请填写周期起算日"), "invalid": _("日期格式应为 2026-11-23")},
    )
    six_entrance = forms.BooleanField(label=_("一个出入口"), required=False)
    six_team = forms.BooleanField(label=_("一支值守队伍"), required=False)
    six_desk = forms.BooleanField(label=_("一个宣传台"), required=False)
    six_equipment = forms.BooleanField(label=_("一套防疫设备"), required=False)
    six_rules = forms.BooleanField(label=_("一套管理制度"), required=False)
    six_inspection = forms.BooleanField(label=_("一个督查组"), required=False)

    def clean_max_hours_out(self) -> Any:
        value = self.cleaned_data["max_hours_out"]
        if value is not None and value <= 0:
            raise forms.ValidationError(_("每次外出最长小时数必须大于0"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("out_from") and data.get("out_until") and data["out_from"] == data["out_until"]:
            self.add_error("out_until", _("允许外出的开始和结束时间不能相同"))
        return data

    def quota_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("mode", "outings_per_period", "period_days", "max_hours_out")]

    def hour_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("out_from", "out_until", "period_anchor")]

    def six_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("six_")]


class CheckpointForm(forms.Form):
    name = forms.CharField(label=_("卡口名称"), max_length=100, error_messages={"required": _("请填写卡口名称")})
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class ShiftForm(forms.Form):
    name = forms.CharField(label=_("班次"), max_length=20, error_messages={"required": _("请填写班次名称")})
    starts = forms.TimeField(label=_("开始"), widget=TIME_WIDGET, error_messages=TIME_ERRORS)
    ends = forms.TimeField(label=_("结束"), widget=TIME_WIDGET, error_messages=TIME_ERRORS)
    min_staff = forms.IntegerField(
        label=_("最少在岗人数"),
        min_value=1,
        error_messages={
            "required": _("请填写最少在岗人数"),
            "invalid": _("最少在岗人数应为整数"),
            "min_value": _("最少在岗人数至少为1人"),
        },
    )


class AssignmentForm(forms.Form):
    shift = forms.TypedChoiceField(label=_("班次"), coerce=int, error_messages={"invalid_choice": _("请选择班次")})
    date = forms.DateField(
        label=_("日期"),
        widget=DATE_WIDGET,
        error_messages={"required": _("请选择日期"), "invalid": _("日期格式应为 2026-11-23")},
    )
    user = forms.TypedChoiceField(label=_("值守人员（账号）"), coerce=int, required=False, empty_value=None)
    volunteer_name = forms.CharField(label=_("或：志愿者姓名"), max_length=50, required=False)
    volunteer_phone = forms.CharField(
        label=_("志愿者手机号"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, shifts: list[Any], candidates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shift"].choices = [(s.pk, f"{s.name} {s.starts:%H:%M}–{s.ends:%H:%M}") for s in shifts]  # type: ignore[attr-defined]
        self.fields["user"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (u.pk, bracketed(u, u.get_role_display())) for u in candidates
        ]
        self.fields["user"].error_messages["invalid_choice"] = _("该账号不在本卡口的负责范围内，不能排班")
