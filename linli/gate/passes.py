"""Signed passes (A2): a compact binary payload signed with Ed25519, carried as the text of a QR.

A gate verifies a pass with the public keys alone, so it keeps working offline. The text is
``LL1`` followed by RFC 4648 base32 without padding (only characters of the QR alphanumeric set)::

    byte  0      kind (1 household pass, 2 outing ticket, 3 exempt pass)
    bytes 1–2    key id (kid), big-endian
    bytes 3–6    subject: household id (passes, tickets) or exempt pass id
    bytes 7–8    issue number (household passes; reissuing revokes lower numbers)
    bytes 9–10   first valid day, days since 2020-01-01
    bytes 11–12  last valid day, days since 2020-01-01
    byte  13     number of designated members n (≤ 8)
    4 × n bytes  person ids of the designated members
    64 bytes     Ed25519 signature of everything before it

The checkpoint page (``static/gate/passes.js``) decodes the same layout.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import secrets
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from stdnum import luhn

PREFIX = "LL1"
EPOCH = datetime.date(2020, 1, 1)
MAX_MEMBERS = 8
HEADER = struct.Struct(">BHIHHHB")
SIGNATURE_SIZE = 64


class Kind(enum.IntEnum):
    HOUSEHOLD = 1
    TICKET = 2
    EXEMPT = 3


class PassError(ValueError):
    """The text is not a valid pass: malformed, unknown key, or a signature that does not verify."""


@dataclass(frozen=True)
class Payload:
    kind: Kind
    kid: int
    subject: int
    issue_no: int
    valid_from: datetime.date
    valid_until: datetime.date
    members: tuple[int, ...] = field(default=())

    def body(self) -> bytes:
        if len(self.members) > MAX_MEMBERS:
            raise ValueError(f"at most {MAX_MEMBERS} designated members")
        header = HEADER.pack(
            int(self.kind),
            self.kid,
            self.subject,
            self.issue_no,
            _day(self.valid_from),
            _day(self.valid_until),
            len(self.members),
        )
        return header + b"".join(struct.pack(">I", member) for member in self.members)


def _day(value: datetime.date) -> int:
    days = (value - EPOCH).days
    if not 0 <= days <= 0xFFFF:
        raise ValueError("date outside the pass epoch")
    return days


def sign(payload: Payload, private_key: Ed25519PrivateKey) -> str:
    """The QR text of ``payload`` signed with ``private_key``."""
    body = payload.body()
    raw = body + private_key.sign(body)
    return PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")


def parse(text: str) -> tuple[Payload, bytes, bytes]:
    """Split a pass text into its payload, the signed bytes and the signature, without verifying."""
    text = (text or "").strip().upper()
    if not text.startswith(PREFIX):
        raise PassError("not a linli pass")
    encoded = text[len(PREFIX) :]
    try:
        raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError) as exc:
        raise PassError("not base32") from exc
    if len(raw) < HEADER.size + SIGNATURE_SIZE:
        raise PassError("too short")
    kind, kid, subject, issue_no, first, last, count = HEADER.unpack_from(raw)
    if count > MAX_MEMBERS:
        raise PassError("too many members")
    body_size = HEADER.size + 4 * count
    if len(raw) != body_size + SIGNATURE_SIZE:
        raise PassError("wrong length")
    try:
        kind = Kind(kind)
    except ValueError as exc:
        raise PassError("unknown kind") from exc
    members = struct.unpack_from(f">{count}I", raw, HEADER.size)
    payload = Payload(
        kind=kind,
        kid=kid,
        subject=subject,
        issue_no=issue_no,
        valid_from=EPOCH + datetime.timedelta(days=first),
        valid_until=EPOCH + datetime.timedelta(days=last),
        members=tuple(members),
    )
    return payload, raw[:body_size], raw[body_size:]


def verify(text: str, public_keys: dict[int, Ed25519PublicKey]) -> Payload:
    """The payload of a genuine pass; :class:`PassError` for anything else (never another exception)."""
    payload, body, signature = parse(text)
    key = public_keys.get(payload.kid)
    if key is None:
        raise PassError("unknown key")
    try:
        key.verify(signature, body)
    except InvalidSignature as exc:
        raise PassError("bad signature") from exc
    return payload


# Pass numbers, for a guard to type when the QR will not scan: 9 random digits and a Luhn check
# digit, so that a mistyped number is caught on the phone before any lookup.


def new_number() -> str:
    body = f"{secrets.randbelow(9 * 10**8) + 10**8}"
    return body + luhn.calc_check_digit(body)


def clean_number(value: str) -> str | None:
    """The pass number in ``value`` (spaces and dashes ignored), or None when it is not one."""
    digits = "".join(ch for ch in (value or "") if not ch.isspace() and ch != "-")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return None
    return digits if luhn.is_valid(digits) else None


def format_number(number: str) -> str:
    return f"{number[:4]} {number[4:8]} {number[8:]}"
