"""Forms of the catalogue and window pages (S1, S2). They collect input; the services validate and save.

Record choices (communities, suppliers, items) are querysets the view passed through ``linli.lib.scope``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.lib.forms import ModelIdsField
from linli.lib.wording import bracketed
from linli.supplies.choices import Category

WEEKDAYS = [
    (1, _("周一")),
    (2, _("周二")),
    (3, _("周三")),
    (4, _("周四")),
    (5, _("周五")),
    (6, _("周六")),
    (7, _("周日")),
]
ALL_COMMUNITIES = "all"


def _records(label: Any, *, required: bool = True, multiple: bool = False) -> Any:
    errors = {
        "required": format_lazy(_("请选择{label}"), label=label),
        "invalid_choice": format_lazy(_("所选{label}不存在或不在您的管辖范围内，请刷新页面后重选"), label=label),
        "invalid_pk_value": format_lazy(_("所选{label}无效"), label=label),
    }
    if multiple:
        return ModelIdsField(
            label=label,
            queryset=None,  # type: ignore[arg-type]  # set from the view's scoped queryset
            required=required,
            widget=forms.CheckboxSelectMultiple,
            error_messages={**errors, "invalid_choice": errors["invalid_choice"]},
        )
    return forms.ModelChoiceField(
        label=label,
        queryset=None,  # type: ignore[arg-type]
        required=required,
        empty_label=_("（请选择）"),
        error_messages=errors,
    )


def _money(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "required": format_lazy(_("请填写{label}"), label=label),
            "invalid": _("请填写正确的金额，如 12.50"),
            "min_value": _("金额不能为负数"),
            "max_digits": _("金额过大"),
            "max_decimal_places": _("金额最多保留两位小数"),
            "max_whole_digits": _("金额过大"),
        },
    )


# 每户限购 is a small integer column: past it, the form says so in its own words (and the input's max).
LIMIT_MAX = 32_767


def _count(
    label: Any, *, required: bool = True, min_value: int = 0, max_value: int = 10_000_000, help_text: Any = ""
) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=min_value,
        max_value=max_value,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": format_lazy(_("请填写{label}"), label=label),
            "invalid": _("请填写整数"),
            "min_value": format_lazy(_("不能小于 {n}"), n=min_value),
            "max_value": _("数量过大"),
        },
    )


def _datetime(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": format_lazy(_("请填写{label}"), label=label), "invalid": _("请填写正确的时间")},
    )


def _time(label: Any, initial: datetime.time) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        initial=initial,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": format_lazy(_("请填写{label}"), label=label), "invalid": _("请填写正确的时间")},
    )


class SupplierForm(forms.Form):
    """A designated supplier (S1): its details and the communities it serves."""

    name = forms.CharField(label=_("名称"), max_length=100, error_messages={"required": _("请填写商超名称")})
    communities = _records(_("服务社区"), required=False, multiple=True)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.RegexField(
        label=_("联系电话"),
        regex=r"^\d{7,11}$",
        max_length=11,
        required=False,
        error_messages={"invalid": _("请填写 7 到 11 位数字的电话")},
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    payment_code = forms.CharField(
        label=_("收款码内容或付款链接"),
        max_length=500,
        required=False,
        help_text=_("印在配送标签的付款二维码里；留空则标签提示向网格员付款"),
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["communities"]
        field.queryset = communities


class StaffLinkForm(forms.Form):
    """Link a supplier-role account to the supplier by its user name."""

    username = forms.CharField(
        label=_("员工账号（用户名）"), max_length=150, error_messages={"required": _("请填写员工账号的用户名")}
    )


class ItemForm(forms.Form):
    """A catalogue item (S1)."""

    name = forms.CharField(label=_("品名"), max_length=100, error_messages={"required": _("请填写品名")})
    category = forms.ChoiceField(
        label=_("类别"),
        choices=Category.choices,
        error_messages={"required": _("请选择类别"), "invalid_choice": _("所选类别无效")},
    )
    unit = forms.CharField(
        label=pgettext_lazy("unit of measure", "单位"),
        max_length=10,
        initial="份",
        error_messages={"required": _("请填写单位")},
    )
    price = _money(_("单价（元）"))
    per_household_limit = _count(
        _("每户限购"), required=False, min_value=1, max_value=LIMIT_MAX, help_text=_("留空表示不限购")
    )
    is_bundle = forms.BooleanField(label=_("套餐（如标准蔬菜包）"), required=False)
    description = forms.CharField(label=_("说明"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("在售"), required=False, initial=True)


class PartsForm(forms.Form):
    """What a bundle holds: a quantity per single item of its supplier (blank: not in the bundle)."""

    def __init__(self, *args: Any, items: Any, current: dict[int, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"part_{item.pk}"] = forms.DecimalField(
                label=bracketed(item.name, item.unit),
                required=False,
                min_value=0,
                max_digits=8,
                decimal_places=2,
                initial=current.get(item.pk),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 6}),
                error_messages={"invalid": _("请填写数量，如 2 或 0.5"), "min_value": _("数量不能为负数")},
            )

    def parts(self) -> list[tuple[Any, Any]]:
        return [
            (item, self.cleaned_data[f"part_{item.pk}"])
            for item in self.items
            if self.cleaned_data.get(f"part_{item.pk}")
        ]


class WindowForm(forms.Form):
    """An order window (S2) for one community, or for every community of the supplier the account runs."""

    supplier = _records(_("商超"))
    community = forms.ChoiceField(label=_("社区"), error_messages={"required": _("请选择社区")})
    title = forms.CharField(label=_("名称"), max_length=100, required=False, help_text=_("如：周一订购、周二配送"))
    opens_at = _datetime(_("开放下单"))
    cutoff_at = _datetime(_("截单时间"))
    delivery_on = forms.DateField(
        label=_("配送日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("请填写配送日期"), "invalid": _("请填写正确的日期")},
    )

    def __init__(self, *args: Any, suppliers: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["supplier"]
        field.queryset = suppliers
        self.communities = list(communities)
        choice: Any = self.fields["community"]
        choice.choices = [(ALL_COMMUNITIES, _("该商超服务的全部社区（我辖区内）"))] + [
            (str(c.pk), c.name) for c in self.communities
        ]
        choice.error_messages["invalid_choice"] = _("所选社区不存在或不在您的管辖范围内")

    def chosen_communities(self) -> list[Any] | None:
        """The chosen community as a one-element list, or None for all served communities."""
        value = self.cleaned_data["community"]
        if value == ALL_COMMUNITIES:
            return None
        return [c for c in self.communities if str(c.pk) == value]


class OfferForm(forms.Form):
    """Put an item on a window, with how much may be sold."""

    item = _records(_("商品"))
    quantity = _count(_("可售数量"))
    reserved = _count(_("封控/隔离户预留"), required=False, help_text=_("留空按街道设置的比例预留"))
    price = _money(_("本窗口价格（元）"), required=False, help_text=_("留空用目录价格"))
    per_household_limit = _count(
        _("每户限购"), required=False, min_value=1, max_value=LIMIT_MAX, help_text=_("留空用目录设置")
    )
    buckets = forms.IntegerField(
        label=_("库存分桶数"),
        required=False,
        min_value=1,
        max_value=64,
        help_text=_("留空自动：数量越多分桶越多，抢购时不互相等待"),
        error_messages={"invalid": _("请填写整数"), "min_value": _("至少为 1"), "max_value": _("最多 64")},
    )

    def __init__(self, *args: Any, items: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["item"]
        field.queryset = items


class OfferQuantityForm(forms.Form):
    """Change an offer's quantity (and, on a draft, its price and limit)."""

    quantity = _count(_("可售数量"))
    price = _money(_("价格（元）"), required=False)
    per_household_limit = _count(
        _("每户限购"), required=False, min_value=0, max_value=LIMIT_MAX, help_text=_("0 或留空表示不限购")
    )


class ScheduleForm(forms.Form):
    """A recurring window: order days, times, and delivery some days later (S2)."""

    supplier = _records(_("商超"))
    community = _records(_("社区"))
    order_weekdays = forms.TypedMultipleChoiceField(
        label=_("下单日"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请选择下单日"), "invalid_choice": _("所选下单日无效")},
    )
    opens_time = _time(_("开放时间"), datetime.time(8, 0))
    cutoff_time = _time(_("截单时间"), datetime.time(20, 0))
    delivery_after_days = forms.IntegerField(
        label=_("几天后配送"),
        min_value=0,
        max_value=7,
        initial=1,
        help_text=_("1 表示下单次日配送"),
        error_messages={"required": _("请填写配送天数"), "invalid": _("请填写整数"), "min_value": _("不能为负数")},
    )

    def __init__(self, *args: Any, suppliers: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        supplier: Any = self.fields["supplier"]
        supplier.queryset = suppliers
        community: Any = self.fields["community"]
        community.queryset = communities
