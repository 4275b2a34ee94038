"""Forms only shape the input; the rules (phones, names, pairs) live in linli.organisation.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.organisation.models import GroupKind

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
PHONE_ATTRS = {"inputmode": "tel", "autocomplete": "off"}


class ChainForm(forms.Form):
    street_leader = forms.CharField(label=_("街道包保领导"), max_length=50, required=False)
    street_leader_phone = forms.CharField(
        label=_("街道包保领导电话"), max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    community_leader = forms.CharField(label=_("社区包保干部"), max_length=50, required=False)
    community_leader_phone = forms.CharField(
        label=_("社区包保干部电话"), max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    responsible = forms.CharField(label=_("小区责任人"), max_length=50, required=False)
    responsible_phone = forms.CharField(
        label=_("小区责任人电话"), max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )


class CoverSlotForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, error_messages={"required": _("请填写姓名")})
    kind = forms.ChoiceField(label=_("身份"), choices=[("cadre", _("干部")), ("volunteer", _("志愿者"))])
    phone = forms.CharField(
        label=_("电话"),
        max_length=20,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
        error_messages={"required": _("请填写联系电话")},
    )
    starts = forms.TimeField(
        label=_("开始"),
        widget=TIME_WIDGET,
        error_messages={"required": _("请填写开始时间"), "invalid": _("时间格式应为 08:00")},
    )
    ends = forms.TimeField(
        label=_("结束"),
        widget=TIME_WIDGET,
        error_messages={"required": _("请填写结束时间"), "invalid": _("时间格式应为 08:00")},
    )


class ManagingUnitForm(forms.Form):
    name = forms.CharField(
        label=_("原管理单位"), max_length=100, error_messages={"required": _("请填写原管理单位名称")}
    )
    buildings = forms.IntegerField(
        label=_("管理楼栋数"),
        min_value=1,
        initial=1,
        error_messages={
            "required": _("请填写管理楼栋数"),
            "min_value": _("管理楼栋数至少为1"),
            "invalid": _("请填写整数"),
        },
    )
    contact = forms.CharField(label=_("联系人"), max_length=50, required=False)
    phone = forms.CharField(
        label=_("联系电话"), max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )


class WorkingGroupForm(forms.Form):
    community: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("所属社区"),
        queryset=None,  # set per account in __init__
        required=False,
        empty_label=_("（街道本级）"),
        error_messages={"invalid_choice": _("请选择您负责范围内的社区")},
    )
    kind = forms.ChoiceField(label=_("类别"), choices=GroupKind.choices)
    name = forms.CharField(label=_("名称"), max_length=100, error_messages={"required": _("请填写名称")})
    duties = forms.CharField(
        label=_("职责"), widget=forms.Textarea(attrs={"rows": 4}), error_messages={"required": _("请填写职责")}
    )
    duty_phone = forms.CharField(
        label=_("24小时值班电话"), max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )

    def __init__(self, *args: Any, communities: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if communities is None:
            # The group's community is fixed (a community worker's own, or an existing group's).
            del self.fields["community"]
        else:
            self.fields["community"].queryset = communities  # type: ignore[attr-defined]


class GroupMemberForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, error_messages={"required": _("请填写姓名")})
    title = forms.CharField(label=_("职务"), max_length=50, required=False)
    phone = forms.CharField(
        label=_("电话"),
        max_length=20,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
        error_messages={"required": _("请填写联系电话")},
    )
    is_leader = forms.BooleanField(label=_("组长"), required=False)
