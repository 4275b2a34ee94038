"""Resident ID numbers (GB 11643) and mainland mobile phone numbers: normalising, validating, masking."""

import datetime
import functools
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-_.·]")


def normalise_id_number(value: str) -> str:
    """Full-width digits and letters to ASCII, separators dropped, check letter upper-cased."""
    value = unicodedata.normalize("NFKC", str(value or ""))
    return _SEPARATORS.sub("", value).upper()


@functools.lru_cache(maxsize=65536)
def _birth_place_known(prefix: str, year: int) -> bool:
    # stdnum looks the six-digit area code up in its database, which is slow; the answer only
    # depends on the code and the year the number was assigned, so it is cached on those.
    try:
        ric.get_birth_place(f"{prefix}{year:04d}0101000")
    except (StdnumError, KeyError):  # KeyError: stdnum 2.2 on a code known only at province level (111000)
        return False
    return True


def id_number_error(value: str) -> str | None:
    """The reason a normalised ID number is invalid, or None; the same verdict as stdnum.cn.ric.validate."""
    if len(value) != 18:
        return str(_("身份证号应为18位"))
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return str(_("身份证号只能包含数字，最后一位可以是X"))
    if value[17] != ric.calc_check_digit(value):
        return str(_("身份证号校验位错误"))
    try:
        year = int(value[6:10])
        datetime.date(year, int(value[10:12]), int(value[12:14]))
    except ValueError:
        return str(_("身份证号中的出生日期无效"))
    if not _birth_place_known(value[:6], year):
        return str(_("身份证号中的地区代码无效"))
    return None


def clean_id_number(value: str) -> str:
    """Normalise and validate an ID number, raising a ValidationError in the user's language."""
    number = normalise_id_number(value)
    error = id_number_error(number)
    if error:
        raise ValidationError(error, code="invalid_id_number")
    return number


def normalise_phone(value: str) -> str:
    value = unicodedata.normalize("NFKC", str(value or "")).strip()
    if value.endswith(".0"):  # a phone stored as a number in Excel
        value = value[:-2]
    value = _SEPARATORS.sub("", value)
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    return value


def phone_error(value: str) -> str | None:
    if not PHONE_RE.match(value):
        return str(_("手机号应为以1开头的11位数字"))
    return None


def clean_phone(value: str) -> str:
    phone = normalise_phone(value)
    error = phone_error(phone)
    if error:
        raise ValidationError(error, code="invalid_phone")
    return phone


def birth_date_from_id(number: str) -> datetime.date | None:
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except (ValueError, IndexError):
        return None


def gender_from_id(number: str) -> str:
    if len(number) != 18 or not number[16].isdigit():
        return ""
    return "M" if int(number[16]) % 2 else "F"


def mask_id_number(value: str) -> str:
    """110***********1234: the area's first three digits and the last four."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
