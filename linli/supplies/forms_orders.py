"""Forms of the ordering pages (S3): a household's order in one window, and the proxy's search box."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.supplies.choices import PaymentMode
from linli.supplies.models import Offer

# More than anyone buys of one thing in one window; the service checks the real limits.
MAX_QUANTITY = 99


def new_key() -> str:
    """An idempotency key for one rendering of the order form: a retry of that form sends it again."""
    return secrets.token_urlsafe(18)


def quantity_field(offer: Offer) -> str:
    return f"q{offer.pk}"


class OrderForm(forms.Form):
    """Quantities of a window's offers (one ``q<offer id>`` field each), the payment mode and a note.

    The form checks only what a phone can get wrong (a number that is not one); limits, stock and the
    window's hours are the ordering service's to refuse, with its reasons.
    """

    key = forms.CharField(widget=forms.HiddenInput, max_length=100)
    window = forms.IntegerField(widget=forms.HiddenInput)
    payment_mode = forms.ChoiceField(
        label=gettext_lazy("付款方式"),
        choices=PaymentMode.choices,
        initial=PaymentMode.ON_DELIVERY,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("备注（可不填）"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：放门口、少要辣椒")}),
    )

    def __init__(
        self,
        *args: Any,
        offers: Sequence[Offer],
        payment_modes: Sequence[tuple[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.offers = list(offers)
        if payment_modes is not None:
            self.fields["payment_mode"].choices = list(payment_modes)  # type: ignore[attr-defined]
        for offer in self.offers:
            self.fields[quantity_field(offer)] = forms.IntegerField(
                label=offer.name,
                min_value=0,
                max_value=MAX_QUANTITY,
                required=False,
                initial=0,
                error_messages={
                    "invalid": _("请填写数量（整数）"),
                    "min_value": _("数量不能小于 0"),
                    "max_value": _("数量太大，请核对"),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "class": "qty"}),
            )

    def lines(self) -> list[tuple[int, int]]:
        """The chosen (offer id, quantity) pairs, after ``is_valid()``."""
        chosen = []
        for offer in self.offers:
            quantity = self.cleaned_data.get(quantity_field(offer)) or 0
            if quantity > 0:
                chosen.append((offer.pk, quantity))
        return chosen

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.lines():
            raise forms.ValidationError(_("请至少选择一样商品，点“＋”增加数量"), code="empty")
        return cleaned


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("查找住户（房号、姓名或手机号后四位）"),
        max_length=50,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("如：3-1-1201")}),
    )
