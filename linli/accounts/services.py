"""Account services: login throttling, one-time codes for residents, SMS, API tokens."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import ApiToken, LoginFailure, OneTimeCode, SmsMessage, User
from linli.accounts.sms import get_backend
from linli.registry.choices import Relation
from linli.registry.models import Person

OTP_RESEND_SECONDS = 60
OTP_MAX_PER_HOUR = 5
_CODE_RE = re.compile(r"\d{6}")


class ThrottledError(Exception):
    """Too many failures; the message says when to try again, in the user's language."""


def _window_start() -> Any:
    return timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_throttle_check(*, keys: list[str]) -> None:
    """Refuse when any key (an account, a phone, an address) has too many recent failures."""
    counts = dict(
        LoginFailure.objects.filter(key__in=keys, at__gte=_window_start())
        .values("key")
        .annotate(n=Count("id"))
        .values_list("key", "n")
    )
    for key in keys:
        if counts.get(key, 0) >= settings.LOGIN_MAX_FAILURES:
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            raise ThrottledError(_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": minutes})


def login_failure_record(*, keys: list[str]) -> None:
    LoginFailure.objects.bulk_create([LoginFailure(key=key) for key in keys])


def login_failures_clear(*, keys: list[str]) -> None:
    LoginFailure.objects.filter(key__in=keys).delete()


def throttle_keys(*, account: str, ip: str | None) -> list[str]:
    # without NUL: PostgreSQL refuses it in any text, a lookup too (the form refuses the account itself)
    keys = [f"account:{account.replace(chr(0), '').strip().lower()[:120]}"]
    if ip:
        keys.append(f"ip:{ip}")
    return keys


def sms_send(*, phone: str, body: str, person: Person | None = None, secret: str = "") -> SmsMessage:
    """Deliver an SMS through the configured backend and keep it in the outbox.

    ``secret`` (a login code) is blanked in the stored copy unless the backend is the development
    one: in production nobody on the staff can read a resident's code and log in as them.
    """
    backend = get_backend()
    backend.send(phone, body)
    household = person.household if person is not None else None
    stored = body if backend.shows_codes_in_outbox or not secret else body.replace(secret, "******")
    return SmsMessage.objects.create(
        phone=phone,
        body=stored,
        backend=backend.name,
        street_id=household.street_id if household else None,
        community_id=household.community_id if household else None,
    )


def resident_person_for_phone(phone: str) -> Person | None:
    """The registered person with this phone, householder first."""
    people = Person.objects.select_related("household").filter(
        phone_tail=phone[-4:], phone=phone
    )  # through the indexed tail
    return people.filter(relation=Relation.HOUSEHOLDER).first() or people.first()


def otp_request(*, phone: str) -> None:
    """Send a login code to a registered resident's phone.

    Says nothing about whether the phone is registered (the caller shows the same message either
    way); raises ThrottledError when codes are requested too often.
    """
    now = timezone.now()
    recent = OneTimeCode.objects.filter(phone=phone, created_at__gte=now - timedelta(hours=1))
    if recent.filter(created_at__gte=now - timedelta(seconds=OTP_RESEND_SECONDS)).exists():
        raise ThrottledError(_("验证码已发送，请 %(seconds)d 秒后再试。") % {"seconds": OTP_RESEND_SECONDS})
    if recent.count() >= OTP_MAX_PER_HOUR:
        raise ThrottledError(_("验证码请求过于频繁，请一小时后再试。"))
    person = resident_person_for_phone(phone)
    if person is None:  # only people registered now: a removed or moved person gets no code
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        OneTimeCode.objects.create(
            phone=phone,
            code_hash=OneTimeCode.hash(phone, code),
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        minutes = max(1, settings.OTP_TTL_SECONDS // 60)
        body = _("【邻里】您的登录验证码是 %(code)s，%(minutes)d 分钟内有效。请勿告诉他人。") % {
            "code": code,
            "minutes": minutes,
        }
        sms_send(phone=phone, body=body, person=person, secret=code)


def otp_verify(*, phone: str, code: str) -> User | None:
    """The resident account for a correct, fresh, unused code; None otherwise.

    The account is created on first login for a person registered with this phone, scoped to
    their household.
    """
    code = code.strip()
    if not _CODE_RE.fullmatch(code):
        return None
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
        if row is None or row.attempts >= settings.OTP_MAX_ATTEMPTS:
            return None
        if not hmac.compare_digest(row.code_hash, OneTimeCode.hash(phone, code)):
            # Counted with a conditional update, so that parallel guesses cannot exceed the limit.
            OneTimeCode.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
            return None
        updated = OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not updated:
            return None
        return resident_account_for_phone(phone=phone)


def resident_account_for_phone(*, phone: str) -> User | None:
    """The resident's account, scoped to the household the registry has them in today.

    The household is looked up again at every login: a person who moved is scoped to the new
    household, and one no longer registered is not let in (and their account is deactivated).
    """
    person = resident_person_for_phone(phone)
    accounts = User.objects.filter(role=Role.RESIDENT, phone=phone)
    if person is None:
        accounts.update(is_active=False)
        return None
    user = accounts.order_by("id").first()
    if user is None:
        user = User(username=f"r{phone}", role=Role.RESIDENT, phone=phone, display_name=person.name)
        user.set_unusable_password()
    elif not user.is_active:  # deactivated by staff (or when the person was removed): stays out
        return None
    user.set_scope(person.household)
    user.save()
    return user


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token; the key is returned once and only its hash is kept."""
    key = "ll_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100] or "token", prefix=key[:8], key_hash=ApiToken.hash(key)
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
