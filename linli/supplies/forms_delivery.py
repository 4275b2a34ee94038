"""Forms of the delivery pages (S6): drop-off points, runs, undelivered packages and their resolution."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.lib.forms import ModelIdsField, ResendSafeForm
from linli.lib.wording import bracketed
from linli.registry.models import Building, Compound
from linli.supplies.models import DropOffPoint


class DropOffForm(forms.Form):
    compound = forms.ModelChoiceField(queryset=Compound.objects.none(), label=_("小区"))
    name = forms.CharField(label=_("名称"), max_length=100)
    location = forms.CharField(label=_("位置说明"), max_length=200, required=False)
    buildings = ModelIdsField(
        queryset=Building.objects.none(),
        label=_("服务楼栋"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示服务本小区其他楼栋"),
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, compounds: Any, buildings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds  # type: ignore[attr-defined]
        self.fields["buildings"].queryset = buildings  # type: ignore[attr-defined]
        self.fields["buildings"].label_from_instance = lambda b: f"{b.compound.name} {b.name}"  # type: ignore[attr-defined]


class RunForm(forms.Form):
    drop_off = forms.ModelChoiceField(
        queryset=DropOffPoint.objects.none(), label=_("投放点"), required=False, empty_label=_("送货上门（封控户）")
    )
    compound = forms.ModelChoiceField(
        queryset=Compound.objects.none(), label=_("送货上门的小区"), required=False, help_text=_("不选投放点时必填")
    )
    volunteer: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=DropOffPoint.objects.none(), label=_("配送志愿者")
    )

    def __init__(self, *args: Any, points: Any, compounds: Any, volunteers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["drop_off"].queryset = points  # type: ignore[attr-defined]
        self.fields["compound"].queryset = compounds  # type: ignore[attr-defined]
        self.fields["volunteer"].queryset = volunteers  # type: ignore[attr-defined]
        self.fields["volunteer"].label_from_instance = lambda u: bracketed(u, u.get_role_display())  # type: ignore[attr-defined]


class UndeliveredForm(ResendSafeForm):
    reason = forms.CharField(label=_("未送达原因"), max_length=200)


class ResolveForm(forms.Form):
    # No outcome chosen beforehand: a tap on 处理 must not record a delivery nobody made.
    resolution = forms.ChoiceField(
        label=_("处理结果"),
        choices=[("", _("请选择处理结果")), ("redelivered", _("再次配送，已送达")), ("returned", _("退回商超"))],
    )
    note = forms.CharField(label=_("说明"), max_length=150, required=False)
