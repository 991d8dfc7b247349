"""AES-256-GCM sealing of secrets at rest (private keys, later biometric data).

Layout: ``b"\\x01" || nonce(12) || ciphertext||tag``. The version byte lets the layout change
without guessing; the associated data binds a ciphertext to its row (e.g. the key id), so a
ciphertext copied onto another row does not decrypt.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.formats.errors import FormatError

_VERSION = b"\x01"
_NONCE_LEN = 12


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` under a 256-bit ``key`` with a fresh random 96-bit nonce."""
    if len(key) != 32:
        raise FormatError("AES-256-GCM needs a 32-byte key")
    nonce = os.urandom(_NONCE_LEN)  # NIST SP 800-38D §8.2.2: random 96-bit IVs, never reused per key
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    """Decrypt what :func:`seal` produced; a wrong key, row or tampered byte raises FormatError."""
    if len(key) != 32:
        raise FormatError("AES-256-GCM needs a 32-byte key")
    if not sealed.startswith(_VERSION) or len(sealed) < 1 + _NONCE_LEN + 16:
        raise FormatError("sealed value has an unknown layout")
    nonce, body = sealed[1 : 1 + _NONCE_LEN], sealed[1 + _NONCE_LEN :]
    try:
        return AESGCM(key).decrypt(nonce, body, associated_data)
    except InvalidTag as exc:
        raise FormatError("sealed value does not decrypt under this key") from exc
