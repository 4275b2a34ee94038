"""QR codes as linli draws them: always a full QR code, never a Micro QR.

``segno.make`` picks a Micro QR whenever the text fits one, and linli's own references are short: a
bag's hand-over code ``LLP:XXXXXXXXXX``, a drop-off point ``LLD:12``, a quarantine order ``LLQ:345``
all came out as Micro QR. jsQR, which the checkpoint and hand-over pages scan with, cannot read a
Micro QR, nor can most phones' camera apps: a label was printed that no volunteer's phone could
scan. Every QR the platform draws goes through :func:`make_qr`.
"""

from __future__ import annotations

import io

import segno

ERROR = "m"  # error correction: ~15% of the code may be lost (a creased label, a worn card)


def make_qr(text: str) -> segno.QRCode:
    """The QR code of ``text`` (medium error correction), never a Micro QR."""
    return segno.make_qr(text, error=ERROR)


def qr_png(text: str, *, scale: int = 8, border: int = 4) -> io.BytesIO:
    """The QR code of ``text`` as a PNG in memory, read from its start."""
    buffer = io.BytesIO()
    make_qr(text).save(buffer, kind="png", scale=scale, border=border)
    buffer.seek(0)
    return buffer
