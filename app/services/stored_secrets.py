"""What idbb keeps instead of secrets, and the keys it derives for one purpose each.

Bearer values handed to browsers and clients (authorization codes, refresh tokens, session cookies,
request URIs) are stored as SHA-256 digests, so a database read yields no usable credential. Keys
for MACs (pairwise subjects, one-time codes, throttles, DPoP nonces, the audit chain) are derived
from the KEK with HKDF (``Settings.derived_key``) once per app and purpose. Client secrets (relying
parties and API clients alike) are 256-bit random values, so a fast hash verifies them (a slow password
hash protects low-entropy secrets; these have none to protect), compared in constant time.
"""

import hashlib
import hmac
import secrets

from app.extensions import state


def digest(*parts: str) -> str:
    """SHA-256 hex of the parts joined by NUL (one part: of the value itself)."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def purpose_key(purpose: str) -> bytes:
    """The 32-byte key for ``purpose``, derived from the KEK on first use and kept per app."""
    settings = state().settings
    return state().cached(f"key:{purpose}", lambda: settings.derived_key(purpose))


def data_key() -> bytes:
    """The key sealing personal data at rest (``IDBB_DATA_KEY``, else derived from the KEK), once per app: the
    HKDF derivation is not repeated on every seal and open."""
    settings = state().settings
    return state().cached("sealing: data key", settings.data_key_bytes)  # not a purpose_key name ("key:...")


def mac(purpose: str, value: str) -> str:
    """HMAC-SHA256 hex of ``value`` under the ``purpose`` key."""
    return hmac.new(purpose_key(purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh client secret and the hash stored for it."""
    secret = secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored: str | None) -> bool:
    if not stored or not isinstance(secret, str):
        return False
    return hmac.compare_digest(hash_secret(secret), stored)  # constant-time comparison
