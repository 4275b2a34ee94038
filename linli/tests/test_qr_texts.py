"""``linli.lib.testing.qr_texts``, which every label, card and notice test decodes with."""

from __future__ import annotations

import io

import pytest
import segno
from PIL import Image

from linli.lib.testing import qr_texts

# Texts whose QR (scale 8, border 4, as the cards draw it) zxing, asked for every format, also
# reads as an ITF barcode of four digits: found among 1,500 random pass-like texts.
ALSO_READ_AS_ITF = [
    "LT1.GAVBXJI3LCQHUHEYY5D4DMJK36JCZS7DZSRZ64B4SLMFUXOMDUHAWTTDDRV42ACTUNJMOKADSL5UKSU.57B2W3FNLTSO4UC65R5VFBU2XWPLE7"
    "RJE5ILEQBUMIZ3IPCP6SBBMEWMGHYDXFH4MWO6HQHD5QAF6ODPEW6HEG4OM244NSSAU3DC45D",
    "LT1.OWA4JDRLW5HTKJDWTUIXTOE35ZCFKGJRZKGJLNB2N5ZXAFYZLLSPW4PSUH7CPU5B6ZNW3PEDTUGUQL5.QNI3J45H3TS7RGLXPEPHD6T5IVCX"
    "K3BZRNYD5FJ4EWF5PMVGNSVZPPWI42SIWOCLBYBCCULAAY4V4KPSDCTRCU3FDQMY3LWP4UI6D7M",
]


@pytest.mark.parametrize("text", ALSO_READ_AS_ITF)
def test_a_qr_gives_its_text_only(text: str) -> None:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)

    assert qr_texts(Image.open(buffer).convert("L")) == [text]


def test_a_blank_image_gives_nothing() -> None:
    assert qr_texts(Image.new("L", (200, 200), 255)) == []


def test_a_micro_qr_is_not_a_code_a_phone_reads() -> None:
    buffer = io.BytesIO()
    segno.make_micro("LLP:ABCD234567", error="m").save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)

    assert qr_texts(Image.open(buffer).convert("L")) == []
