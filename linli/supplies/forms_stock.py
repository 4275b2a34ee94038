"""Forms of the stock, price and staff-check pages (S8–S10) and the supplies settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.lib.wording import bracketed
from linli.supplies.choices import StaffCheckKind
from linli.supplies.models import SupplySettings
from linli.supplies.services.stock import SETTINGS_FIELDS, TEST_RESULTS


class _PerItemForm(forms.Form):
    """One optional input per catalogue item (blank: not reported now)."""

    def __init__(self, *args: Any, items: Any, initial_values: dict[int, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"item_{item.pk}"] = self.make_field(item, initial_values.get(item.pk))

    def make_field(self, item: Any, initial: Any) -> forms.Field:
        raise NotImplementedError

    def values(self) -> dict[int, Any]:
        """Item id -> the value entered, for the items filled in."""
        return {
            item.pk: self.cleaned_data[f"item_{item.pk}"]
            for item in self.items
            if self.cleaned_data.get(f"item_{item.pk}") is not None
        }

    def rows(self) -> list[tuple[Any, Any]]:
        return [(item, self[f"item_{item.pk}"]) for item in self.items]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(f"item_{item.pk}") is not None for item in self.items):
            raise forms.ValidationError(_("请至少填写一项"))
        return data


class StockForm(_PerItemForm):
    """Today's on-hand stock of each item (S8)."""

    def make_field(self, item: Any, initial: Any) -> forms.Field:
        return forms.IntegerField(
            label=bracketed(item.name, item.unit),
            required=False,
            min_value=0,
            max_value=100_000_000,
            initial=initial,
            widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            error_messages={"invalid": _("请填写整数"), "min_value": _("库存不能为负数"), "max_value": _("数量过大")},
        )


class PriceForm(_PerItemForm):
    """Today's price of each item (S9)."""

    def make_field(self, item: Any, initial: Any) -> forms.Field:
        return forms.DecimalField(
            label=bracketed(item.name, f"{_('元')}/{item.unit}"),
            required=False,
            min_value=0,
            max_digits=10,
            decimal_places=2,
            initial=initial,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            error_messages={
                "invalid": _("请填写正确的价格，如 12.50"),
                "min_value": _("价格不能为负数"),
                "max_digits": _("价格过大"),
                "max_decimal_places": _("价格最多保留两位小数"),
                "max_whole_digits": _("价格过大"),
            },
        )


class StaffCheckForm(forms.Form):
    """A staff temperature, a site disinfection or a staff test (S10)."""

    kind = forms.ChoiceField(
        label=_("类型"),
        choices=StaffCheckKind.choices,
        widget=forms.RadioSelect,
        initial=StaffCheckKind.TEMPERATURE,
        error_messages={"required": _("请选择记录类型"), "invalid_choice": _("所选类型无效")},
    )
    staff_name = forms.CharField(
        label=_("员工姓名（消杀填场所）"),
        max_length=50,
        error_messages={"required": _("请填写员工姓名或消杀场所")},
    )
    temperature = forms.DecimalField(
        label=_("体温（℃）"),
        required=False,
        max_digits=3,
        decimal_places=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "36.5"}),
        help_text=_("测体温时填写；37.3 ℃ 及以上为异常"),
        error_messages={"invalid": _("请填写体温，如 36.5"), "max_digits": _("请填写体温，如 36.5")},
    )
    result = forms.ChoiceField(
        label=_("检测结果"),
        required=False,
        choices=[("", _("（检测时选择）")), *TEST_RESULTS.items()],
        error_messages={"invalid_choice": _("所选结果无效")},
    )
    note = forms.CharField(label=_("备注（消杀可填所用药剂）"), max_length=20, required=False)


class SettingsForm(forms.ModelForm):
    """The street's supplies thresholds."""

    class Meta:
        model = SupplySettings
        fields = list(SETTINGS_FIELDS)
        widgets = {"price_report_by": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
