"""What idbb keeps instead of secrets, and the keys it derives for one purpose each.

Bearer values handed to browsers and clients (authorization codes, refresh tokens, session cookies,
request URIs) are stored as SHA-256 digests, so a database read yields no usable credential. Keys
for MACs (pairwise subjects, one-time codes, throttles, DPoP nonces, the audit chain) are derived
from the KEK with HKDF (``Settings.derived_key``) once per app and purpose.
"""

import hashlib
import hmac

from app.extensions import state


def digest(*parts: str) -> str:
    """SHA-256 hex of the parts joined by NUL (one part: of the value itself)."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def purpose_key(purpose: str) -> bytes:
    """The 32-byte key for ``purpose``, derived from the KEK on first use and kept per app."""
    settings = state().settings
    return state().cached(f"key:{purpose}", lambda: settings.derived_key(purpose))  # type: ignore[no-any-return]


def mac(purpose: str, value: str) -> str:
    """HMAC-SHA256 hex of ``value`` under the ``purpose`` key."""
    return hmac.new(purpose_key(purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()
