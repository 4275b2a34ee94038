from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from linli.lib.idnumbers import clean_phone


class StaffLoginForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        self.request = request
        self.user_cache: Any = None
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username, password = data.get("username"), data.get("password")
        if username and password:
            self.user_cache = authenticate(self.request, username=username, password=password)
            if self.user_cache is None or not self.user_cache.is_active:
                raise ValidationError(_("用户名或密码不正确。"), code="invalid_login")
        return data


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    )

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])


class CodeForm(PhoneForm):
    code = forms.CharField(
        label=_("验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={"min_length": _("验证码为6位数字")},
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=100, help_text=_("例如：区级数据对接"))
