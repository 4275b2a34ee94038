"""Forms of the packing pages: the supplier's available quantities (shortfall), the label size."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.lib.wording import bracketed
from linli.supplies.labels import DEFAULT_SIZE, SIZES


class ShortfallForm(forms.Form):
    """One field per offer of the purchase order: how many units the supplier can deliver."""

    def __init__(self, *args: Any, items: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[f"offer_{item['offer_id']}"] = forms.IntegerField(
                label=bracketed(item["name"], item["unit"]),
                min_value=0,
                max_value=item["quantity"],
                initial=item["quantity"] - item["short"],
                help_text=_("订购 %(n)d") % {"n": item["quantity"]},
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def available(self) -> dict[int, int]:
        """Offer id → units, for the offers whose answer differs from what was ordered or was short before."""
        out: dict[int, int] = {}
        for item in self.items:
            value = self.cleaned_data.get(f"offer_{item['offer_id']}")
            if value is not None and (value != item["quantity"] or item["short"]):
                out[item["offer_id"]] = value
        return out


class LabelSizeForm(forms.Form):
    size = forms.ChoiceField(
        label=_("标签尺寸"), choices=[(key, size.title) for key, size in SIZES.items()], initial=DEFAULT_SIZE
    )
