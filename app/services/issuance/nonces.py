"""``c_nonce`` (OpenID4VCI 1.0 §7): issued by ``POST /nonce``, single use, short-lived.

A c_nonce is stateless when issued (its expiry, 16 random bytes and an HMAC under a KEK-derived key), so the
nonce endpoint writes nothing; using one records it in the replay store until it would have expired anyway.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

from app.clock import clock
from app.extensions import state
from app.services.stored_secrets import purpose_key

_LENGTH = 8 + 16 + 16


def _mac(body: bytes) -> bytes:
    return hmac.new(purpose_key("c_nonce"), body, hashlib.sha256).digest()[:16]


def issue() -> str:
    """A fresh c_nonce (§7.2)."""
    body = struct.pack(">Q", clock.epoch() + state().settings.c_nonce_ttl) + secrets.token_bytes(16)
    return base64.urlsafe_b64encode(body + _mac(body)).rstrip(b"=").decode("ascii")


def expiry(nonce: str) -> int | None:
    """The expiry of a c_nonce idbb issued and that has not expired; None otherwise."""
    if not isinstance(nonce, str) or len(nonce) != 54:
        return None
    try:
        raw = base64.urlsafe_b64decode(nonce + "==")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _LENGTH or not hmac.compare_digest(raw[24:], _mac(raw[:24])):  # constant-time
        return None
    expires = int(struct.unpack(">Q", raw[:8])[0])
    return expires if clock.epoch() < expires else None


def marker(nonce: str) -> tuple[str, int] | None:
    """The replay-store entry ``(key, ttl)`` that spends a c_nonce, or None when it is not idbb's or expired;
    the caller adds it with ``add_once`` / ``add_many_once`` (§7: a c_nonce is used once)."""
    expires = expiry(nonce)
    if expires is None:
        return None
    return f"c_nonce:{nonce}", expires - clock.epoch() + 60


def consume(nonce: str) -> bool:
    """Use a c_nonce once: False when it is not idbb's, expired, or already used."""
    entry = marker(nonce)
    if entry is None:
        return False
    return state().replay.add_once(*entry, clock.now())  # §7: a c_nonce is used once
