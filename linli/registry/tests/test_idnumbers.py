"""ID numbers (GB 11643) and phones: normalising, validating, masking; agreement with python-stdnum."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from linli.lib.idnumbers import (
    birth_date_from_id,
    clean_id_number,
    clean_phone,
    gender_from_id,
    id_number_error,
    mask_id_number,
    mask_phone,
    normalise_id_number,
)

VALID = "11010519491231002X"  # the standard's own example
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def with_check_digit(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def test_a_valid_number_passes() -> None:
    assert id_number_error(VALID) is None
    assert clean_id_number(VALID) == VALID


def test_a_wrong_check_digit_is_refused() -> None:
    bad = VALID[:-1] + "1"
    assert id_number_error(bad) == "身份证号校验位错误"
    with pytest.raises(ValidationError):
        clean_id_number(bad)


def test_full_width_digits_are_accepted() -> None:
    assert clean_id_number(VALID.translate(FULL_WIDTH)) == VALID


def test_a_lower_case_x_is_accepted() -> None:
    assert clean_id_number(VALID.lower()) == VALID


def test_spaces_and_dashes_are_dropped() -> None:
    assert clean_id_number("110105 19491231 002x") == VALID
    assert clean_id_number("110105-19491231-002X") == VALID


def test_an_impossible_birth_date_is_refused() -> None:
    number = with_check_digit("11010519491301002")  # month 13
    assert id_number_error(number) == "身份证号中的出生日期无效"


def test_an_unknown_area_code_is_refused() -> None:
    number = with_check_digit("99999919800101001")
    assert id_number_error(number) == "身份证号中的地区代码无效"


@pytest.mark.parametrize(
    ("value", "message"),
    [("1234", "身份证号应为18位"), ("11010519491231002Y", "身份证号只能包含数字，最后一位可以是X")],
)
def test_malformed_numbers_get_a_reason(value: str, message: str) -> None:
    assert id_number_error(normalise_id_number(value)) == message


def test_birth_date_and_gender_come_from_the_number() -> None:
    assert str(birth_date_from_id(VALID)) == "1949-12-31"
    assert gender_from_id(VALID) == "F"  # 17th digit 2 is even


def test_masking_keeps_three_and_four() -> None:
    assert mask_id_number(VALID) == "110***********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == ""


@pytest.mark.parametrize("raw", ["13812345678", "+86 138-1234-5678", "１３８１２３４５６７８"])
def test_phone_numbers_are_normalised(raw: str) -> None:
    assert clean_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["1381234567", "23812345678", "12812345678", "phone"])
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="手机号"):
        clean_phone(raw)


# Numbers with real and fake area codes, plausible and impossible dates, right and wrong check digits:
# random 18-character strings alone almost never get past the check digit.
AREAS = ["110101", "110105", "310104", "310115", "440305", "510107", "654324", "000000", "999999", "110100", "320000"]


@st.composite
def structured_numbers(draw: st.DrawFn) -> str:
    area = draw(st.one_of(st.sampled_from(AREAS), st.from_regex(r"\A[0-9]{6}\Z")))
    year = draw(st.integers(1850, 2040))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32))
    serial = draw(st.integers(0, 999))
    body = f"{area}{year:04d}{month:02d}{day:02d}{serial:03d}"
    check = draw(st.one_of(st.just(ric.calc_check_digit(body + "0")), st.sampled_from("0123456789X")))
    return body + check


def stdnum_is_valid(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except KeyError:  # stdnum 2.2 crashes on an area code known only at province level, e.g. 111000
        return False


def test_an_area_code_known_only_at_province_level_is_refused_not_a_crash() -> None:
    assert id_number_error(with_check_digit("11100019800101001")) == "身份证号中的地区代码无效"


@settings(max_examples=400, deadline=None, database=None)
@given(st.one_of(structured_numbers(), st.text(alphabet="0123456789X", min_size=18, max_size=18)))
def test_our_verdict_agrees_with_stdnum(number: str) -> None:
    assert (id_number_error(number) is None) == stdnum_is_valid(number)
