"""``linli.lib.qr``: every QR the platform draws is a full QR code, which jsQR and phone cameras read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from linli.lib.qr import make_qr, qr_png
from linli.lib.testing import qr_texts

# linli's short references: segno.make made each of them a Micro QR.
SHORT = ["LLP:ABCD234567", "LLD:12", "LLQ:345", "tel:110", "1"]


@pytest.mark.parametrize("text", SHORT)
def test_short_references_are_full_qr_codes(text: str) -> None:
    code = make_qr(text)

    assert not code.is_micro
    assert code.error in ("M", "Q", "H")  # at least medium (segno raises it when the version has room)
    assert qr_texts(Image.open(qr_png(text)).convert("L")) == [text]


@given(st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789:", min_size=1, max_size=40))
def test_never_micro(text: str) -> None:
    assert not make_qr(text).is_micro
