"""Signed passes: what a genuine pass decodes to, and that anything else is refused without a crash."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.gate import passes

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
KEYRING = {7: KEY.public_key()}
PAYLOAD = passes.Payload(
    kind=passes.Kind.HOUSEHOLD,
    kid=7,
    subject=123456,
    issue_no=3,
    valid_from=datetime.date(2026, 11, 1),
    valid_until=datetime.date(2027, 1, 30),
    members=(11, 12),
)


def test_round_trip_and_alphanumeric_text() -> None:
    text = passes.sign(PAYLOAD, KEY)
    assert text.startswith("LL1")
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" + "LL1")
    assert passes.verify(text, KEYRING) == PAYLOAD
    assert passes.verify(text.lower(), KEYRING) == PAYLOAD


def test_tampered_pass_is_refused() -> None:
    text = passes.sign(PAYLOAD, KEY)
    raw = bytearray(base64.b32decode(text[3:] + "=" * (-len(text[3:]) % 8)))
    raw[5] ^= 0x01  # another household
    forged = "LL1" + base64.b32encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(passes.PassError):
        passes.verify(forged, KEYRING)


def test_truncated_pass_is_refused() -> None:
    text = passes.sign(PAYLOAD, KEY)
    for cut in (4, 20, len(text) - 1, len(text) - 8):
        with pytest.raises(passes.PassError):
            passes.verify(text[:cut], KEYRING)


def test_pass_resigned_with_another_key_is_refused() -> None:
    with pytest.raises(passes.PassError, match="bad signature"):
        passes.verify(passes.sign(PAYLOAD, OTHER), KEYRING)


def test_unknown_key_id_is_refused() -> None:
    other_kid = passes.Payload(**{**PAYLOAD.__dict__, "kid": 8})
    with pytest.raises(passes.PassError, match="unknown key"):
        passes.verify(passes.sign(other_kid, KEY), KEYRING)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    text = "LL1" + base64.b32encode(data).decode().rstrip("=")
    with pytest.raises(passes.PassError):
        passes.verify(text, KEYRING)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_decoder(text: str) -> None:
    with pytest.raises(passes.PassError):
        passes.verify(text, KEYRING)


def test_pass_numbers_carry_a_check_digit() -> None:
    number = passes.new_number()
    assert len(number) == 10
    assert passes.clean_number(passes.format_number(number)) == number
    wrong = number[:3] + str((int(number[3]) + 1) % 10) + number[4:]
    assert passes.clean_number(wrong) is None
    assert passes.clean_number("１２３") is None
