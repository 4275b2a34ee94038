"""Login for staff (password) and residents (phone + one-time code), the SMS outbox, API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.accounts import services
from linli.accounts.forms import CodeForm, PhoneForm, StaffLoginForm, TokenForm
from linli.accounts.models import ApiToken, SmsMessage
from linli.accounts.sms import get_backend
from linli.lib import scope


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return settings.LOGIN_REDIRECT_URL


def staff_login(request: HttpRequest) -> HttpResponse:
    form = StaffLoginForm(request.POST or None, request=request)
    if request.method == "POST":
        keys = services.throttle_keys(account=request.POST.get("username", ""), ip=_client_ip(request))
        try:
            services.login_throttle_check(keys=keys)
        except services.ThrottledError as exc:
            # Not even checked: a locked account gives no answer about its password.
            form = StaffLoginForm(initial={"username": request.POST.get("username", "")}, request=request)
            return render(request, "accounts/login.html", {"form": form, "error": str(exc)}, status=429)
        if form.is_valid():
            services.login_failures_clear(keys=keys[:1])
            login(request, form.user_cache)
            return redirect(_next_url(request))
        if form.user_cache is None and request.POST.get("username") and request.POST.get("password"):
            services.login_failure_record(keys=keys)
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")})


def resident_login(request: HttpRequest) -> HttpResponse:
    """Step 1: the resident enters a phone number and gets a code by SMS."""
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            services.otp_request(phone=phone)
        except services.ThrottledError as exc:
            form.add_error(None, str(exc))
        else:
            # The same words whether or not the phone is registered: no one can probe the registry.
            messages.success(request, _("如果该手机号已在社区登记，验证码已发送，请查收短信。"))
            request.session["otp_phone"] = phone
            return redirect("accounts:resident_code")
    return render(request, "accounts/resident_login.html", {"form": form})


def resident_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the resident enters the code."""
    initial = {"phone": request.session.get("otp_phone", "")}
    form = CodeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        keys = services.throttle_keys(account=phone, ip=_client_ip(request))
        try:
            services.login_throttle_check(keys=keys)
        except services.ThrottledError as exc:
            form.add_error(None, str(exc))
            return render(request, "accounts/resident_code.html", {"form": form}, status=429)
        user = services.otp_verify(phone=phone, code=form.cleaned_data["code"])
        if user is None:
            services.login_failure_record(keys=keys)
            form.add_error("code", _("验证码不正确或已过期，请重新获取。"))
        else:
            services.login_failures_clear(keys=keys[:1])
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop("otp_phone", None)
            return redirect("home")
    return render(request, "accounts/resident_code.html", {"form": form})


def _require_back_office(request: HttpRequest) -> None:
    if not getattr(request.user, "is_back_office", False):
        raise PermissionDenied


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    """The SMS outbox of the user's part of the tree (the development backend shows codes here)."""
    _require_back_office(request)
    rows = scope.visible(SmsMessage.objects.all(), request.user)[:200]
    return render(request, "accounts/outbox.html", {"rows": rows, "shows_codes": get_backend().shows_codes_in_outbox})


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """Staff create and revoke their own API tokens; a new key is shown once."""
    if request.user.is_resident:  # type: ignore[union-attr]
        raise PermissionDenied
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _token, new_key = services.api_token_create(user=request.user, name=form.cleaned_data["name"])  # type: ignore[arg-type]
        form = TokenForm()
    rows = ApiToken.objects.filter(user=request.user)  # type: ignore[misc]
    return render(request, "accounts/tokens.html", {"form": form, "rows": rows, "new_key": new_key})


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.api_token_revoke(token=token)
    messages.success(request, _("令牌已吊销。"))
    return redirect("accounts:tokens")
