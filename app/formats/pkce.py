"""Proof Key for Code Exchange (PKCE, RFC 7636), ``S256`` only.

RFC 7636 §4.2 defines ``plain`` and ``S256``; idbb is strict and refuses ``plain`` (and a missing
``code_challenge_method``, which §4.3 would default to ``plain``), as OAuth 2.0 Security BCP (RFC 9700 §2.1.1)
and FAPI 2.0 recommend. Failures of :func:`check_challenge` carry a ``reason`` so callers can pick the error code.
"""

import base64
import hashlib
import hmac
import re
from typing import Literal

from app.formats.errors import FormatError

#: RFC 7636 §4.1: code_verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
VERIFIER_RE = re.compile(r"\A[A-Za-z0-9\-._~]{43,128}\Z")
#: BASE64URL(SHA-256(...)) without padding: 43 characters, the last one carrying 4 data bits and 2 zero bits.
CHALLENGE_RE = re.compile(r"\A[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\Z")

Reason = Literal["missing", "unsupported_method", "malformed"]


class PkceError(FormatError):
    """A refused ``code_challenge``/``code_challenge_method``; ``reason`` says which kind of failure."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason: Reason = reason


def check_challenge(challenge: str | None, method: str | None) -> None:
    """Accept an authorization request's PKCE parameters, or raise :class:`PkceError`.

    ``reason`` is ``"missing"`` (no challenge or no method), ``"unsupported_method"`` (anything but ``S256``)
    or ``"malformed"`` (the challenge is not the base64url of a SHA-256 digest).
    """
    if not challenge:
        raise PkceError("code_challenge is missing", "missing")
    if not method:  # RFC 7636 §4.3 would default to "plain", which idbb does not accept
        raise PkceError("code_challenge_method is missing", "missing")
    if method != "S256":  # RFC 7636 §4.2: "plain" is refused; method names are case-sensitive
        raise PkceError("code_challenge_method is not supported", "unsupported_method")
    if not isinstance(challenge, str) or not CHALLENGE_RE.fullmatch(challenge):  # RFC 7636 §4.2: BASE64URL(SHA256)
        raise PkceError("code_challenge is not a base64url SHA-256 digest", "malformed")


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: ``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))``; FormatError if the verifier is malformed."""
    if not isinstance(verifier, str) or not VERIFIER_RE.fullmatch(verifier):  # RFC 7636 §4.1
        raise FormatError("code_verifier is malformed")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str | None, challenge: str) -> bool:
    """RFC 7636 §4.6: whether ``verifier`` hashes to the stored S256 ``challenge`` (constant-time compare)."""
    if not isinstance(verifier, str) or not VERIFIER_RE.fullmatch(verifier):  # RFC 7636 §4.1
        return False
    if not isinstance(challenge, str):
        return False
    return hmac.compare_digest(s256(verifier).encode("ascii"), challenge.encode("utf-8"))
