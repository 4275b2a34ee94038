"""The signing keys of passes: one active key signs; every key not retired verifies.

Keys are kept in the database (``SigningKey``) so that every process of the platform signs and
verifies with the same ones; they are cached per process and the cache is reloaded when a pass names
a key id it has not seen.
"""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.db import IntegrityError, transaction

from linli.gate.models import SigningKey

_lock = threading.Lock()
_public: dict[int, Ed25519PublicKey] = {}
_signing: tuple[int, Ed25519PrivateKey] | None = None


def _load() -> None:
    global _signing
    keys = list(SigningKey.objects.filter(retired_at__isnull=True).order_by("kid"))
    _public.clear()
    for key in keys:
        _public[key.kid] = Ed25519PublicKey.from_public_bytes(bytes(key.public_key))
    _signing = (keys[-1].kid, Ed25519PrivateKey.from_private_bytes(bytes(keys[-1].private_key))) if keys else None


def create_key() -> SigningKey:
    """A new signing key; it signs every pass from now on (older keys still verify until retired)."""
    private = Ed25519PrivateKey.generate()
    last = SigningKey.objects.order_by("-kid").values_list("kid", flat=True).first() or 0
    key = SigningKey.objects.create(
        kid=last + 1,
        private_key=private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        public_key=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )
    reset()
    return key


def signing_key() -> tuple[int, Ed25519PrivateKey]:
    """The key id and private key that sign new passes (created on first use)."""
    with _lock:
        if _signing is None:
            _load()
        if _signing is None:
            try:
                with transaction.atomic():
                    create_key()
            except IntegrityError:  # another process made the first key at the same moment
                pass
            _load()
        assert _signing is not None
        return _signing


def public_keys(kid: int | None = None) -> dict[int, Ed25519PublicKey]:
    """The verifying keys; reloaded once when ``kid`` is not among them."""
    with _lock:
        if not _public or (kid is not None and kid not in _public):
            _load()
        return dict(_public)


def public_keys_raw() -> dict[int, bytes]:
    return {kid: key.public_bytes(Encoding.Raw, PublicFormat.Raw) for kid, key in public_keys().items()}


def reset() -> None:
    """Forget the cached keys (after a key is created or retired, and between tests)."""
    global _signing
    _signing = None
    _public.clear()
