"""Forms of the exempt-pass, visitor, vehicle and parcel pages. They collect input; ``visitors`` validates it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.gate.choices import Direction, ExemptKind
from linli.gate.visitors import hosts_by_room
from linli.lib.forms import ResendSafeForm
from linli.lib.wording import bracketed
from linli.registry.choices import HealthCode

ROOM_HELP = _("输入房号（如 101），或楼栋单元房号（如 1号楼1单元101），再点“查找”")


class ExemptForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=ExemptKind.choices, widget=forms.RadioSelect)
    name = forms.CharField(label=_("姓名（应急车辆填车牌号）"), max_length=50, required=False)
    organisation = forms.CharField(label=_("单位"), max_length=100, required=False)
    proof = forms.CharField(
        label=_("证明编号"), max_length=100, required=False, help_text=_("复工证明、工作证或派车单编号")
    )
    valid_from = forms.DateField(
        label=_("生效日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text=_("留空为今天")
    )
    valid_until = forms.DateField(label=_("有效期至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    person_id_number = forms.CharField(
        label=_("本小区居民身份证号（可选）"),
        max_length=40,
        required=False,
        help_text=_("持证人住在本小区时填写，便于核对"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class RoomPickerMixin(ResendSafeForm):
    """A room number typed by the guard and the households (or their members) it matches."""

    room = forms.CharField(label=_("房号"), max_length=40, required=False, help_text=ROOM_HELP)

    def room_matches(self, compound_id: int) -> list[dict[str, Any]]:
        room = (self.data.get("room") if self.is_bound else self.initial.get("room")) or ""
        return hosts_by_room(compound_id, str(room))


class VisitForm(RoomPickerMixin):
    name = forms.CharField(label=_("访客姓名"), max_length=50, required=False)
    id_number = forms.CharField(
        label=_("身份证号"), max_length=40, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("手机号"), max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    temperature = forms.CharField(
        label=_("体温（℃）"),
        max_length=5,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "36.5"}),
    )
    health_code = forms.ChoiceField(
        label=_("健康码"), choices=HealthCode.choices, initial=HealthCode.GREEN, widget=forms.RadioSelect
    )
    coming_from = forms.CharField(label=_("14天内到过的城市、区县"), max_length=100, required=False)
    itinerary_checked = forms.BooleanField(label=_("已核验行程卡"), required=False)
    from_key_area = forms.BooleanField(label=_("14天内到过重点疫区"), required=False)
    purpose = forms.CharField(label=_("来访事由"), max_length=200, required=False)
    host_person = forms.TypedChoiceField(
        label=_("被访户及接访人"), coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, compound_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hosts = self.room_matches(compound_id)
        self.fields["host_person"].choices = [  # type: ignore[attr-defined]
            (member["id"], f"{host['room']} · {bracketed(member['name'], member['relation'])}")
            for host in self.hosts
            for member in host["members"]
        ]


class VehiclePassForm(forms.Form):
    plate = forms.CharField(label=_("车牌号"), max_length=20, help_text=_("如 沪A12345，新能源车 沪AD12345"))


class VehicleEntryForm(ResendSafeForm):
    plate = forms.CharField(label=_("车牌号"), max_length=20, required=False)
    direction = forms.ChoiceField(
        label=_("方向"), choices=Direction.choices, initial=Direction.IN, widget=forms.RadioSelect
    )
    emergency = forms.BooleanField(label=_("应急车辆（警车、救护车、消防、抢修）"), required=False)
    occupants = forms.CharField(label=_("随车人员"), max_length=200, required=False, help_text=_("姓名，人数"))
    max_temperature = forms.CharField(
        label=_("随车人员最高体温（℃）"),
        max_length=5,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "36.5"}),
    )


class ParcelForm(RoomPickerMixin):
    household = forms.TypedChoiceField(
        label=_("收件户"), coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    carrier = forms.CharField(label=_("快递/外卖公司"), max_length=50, required=False)
    tracking = forms.CharField(label=_("单号（可选）"), max_length=50, required=False)

    def __init__(self, *args: Any, compound_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hosts = self.room_matches(compound_id)
        self.fields["household"].choices = [(host["id"], host["room"]) for host in self.hosts]  # type: ignore[attr-defined]


class PickupForm(forms.Form):
    code = forms.CharField(
        label=_("取件码或本户通行证"),
        max_length=400,
        help_text=_("输入6位取件码，或扫描/输入本户通行证"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
