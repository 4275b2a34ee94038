"""Forms of the money pages (S7): collecting a payment, a refund, the supplier settlement."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.supplies.choices import PaymentMode


class PaymentForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("方式"),
        choices=[
            (PaymentMode.PREPAID, PaymentMode.PREPAID.label),
            (PaymentMode.ON_DELIVERY, PaymentMode.ON_DELIVERY.label),
        ],
    )
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("退款金额（元）"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))


class SettlementForm(forms.Form):
    amount = forms.DecimalField(label=_("结算金额（元）"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    note = forms.CharField(label=_("备注"), max_length=200, required=False)
