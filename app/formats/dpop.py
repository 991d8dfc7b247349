"""DPoP proofs (RFC 9449): verifying a ``DPoP`` header JWT, ``ath`` and stateless server nonces.

:func:`verify_proof` performs the checks of RFC 9449 §4.3 that need nothing but the request. Left to the caller:

* item 1, exactly one ``DPoP`` header field in the request;
* §11.1 replay detection: remember ``DpopProof.jti`` (per ``jkt``) for ``max_age`` + leeway and refuse a repeat;
* item 11's second half, that ``DpopProof.jkt`` equals the ``cnf.jkt`` the access token is bound to (§6.1).

Nonces (§8, §9) are stateless: ``base64url(slot || HMAC-SHA256(key, "dpop-nonce" || slot)[:16])`` with
``slot = now // window`` as 8 bytes big-endian. A nonce is accepted in its own slot and the next one, so it lives
one to two windows, and any worker that shares ``key`` accepts it without shared storage.
"""

import base64
import hashlib
import hmac
import math
import re
import string
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from app.formats.errors import FormatError
from app.formats.jose import PublicJwk, b64url_encode, decode_header_segment, verify_jwt
from app.formats.jwk import PRIVATE_MEMBERS, import_public_signing_jwk, supported_algs, thumbprint

#: Accepted proof algorithms: asymmetric only (RFC 9449 §4.3 item 5), never ``none`` or an HMAC.
DPOP_ALGS: tuple[str, ...] = ("ES256", "PS256", "RS256", "EdDSA")
#: A proof is a few hundred bytes (a 4096-bit RSA ``jwk`` is ~900); anything much larger is refused unparsed.
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
MIN_NONCE_KEY_LENGTH = 16

_TYPES = frozenset({"dpop+jwt", "application/dpop+jwt"})  # RFC 7515 §4.1.9: "application/" may be omitted
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_NONCE_CONTEXT = b"dpop-nonce"
_NONCE_MAC_LENGTH = 16
_NONCE_RE = re.compile(r"\A[A-Za-z0-9_-]{32}\Z")  # 24 bytes (8 slot + 16 MAC) in base64url, no padding


class DpopNonceError(FormatError):
    """The proof lacks the server nonce or carries a wrong or stale one: answer ``use_dpop_nonce`` (RFC 9449 §8)."""


@dataclass(frozen=True)
class DpopProof:
    """The verified content of a DPoP proof; ``jkt`` is the RFC 7638 SHA-256 thumbprint of its ``jwk``."""

    jkt: str
    jti: str
    iat: int
    htm: str
    htu: str
    nonce: str | None
    ath: str | None


def verify_proof(
    proof: str,
    *,
    method: str,
    url: str,
    now: int,
    max_age: int,
    access_token: str | None = None,
    nonce: str | None = None,
    nonce_key: bytes | None = None,
    nonce_window: int = 60,
    leeway: int = 5,
) -> DpopProof:
    """Verify a DPoP proof for a request with ``method`` to ``url`` (RFC 9449 §4.3), or raise FormatError.

    ``access_token`` (resource requests) requires a matching ``ath``. The server nonce is required when ``nonce``
    is given (the proof must carry exactly it) and/or ``nonce_key`` is given (the proof's nonce must pass
    :func:`check_nonce`); a missing, wrong or stale nonce raises :class:`DpopNonceError`, checked last so that
    it is only raised for an otherwise valid proof. ``jti`` replay is NOT checked here: the caller must.
    """
    if not isinstance(proof, str) or not proof or len(proof) > MAX_PROOF_LENGTH:
        raise FormatError("DPoP proof is missing or too long")
    parts = proof.split(".")
    if len(parts) != 3 or not all(parts):  # RFC 9449 §4.3 item 2: a single well-formed (signed, compact) JWT
        raise FormatError("DPoP proof is not a compact JWS")
    try:
        header = decode_header_segment(parts[0], "DPoP proof")
    except RecursionError as exc:
        raise FormatError("DPoP proof header is not base64url JSON") from exc
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _TYPES:  # RFC 9449 §4.3 item 4: typ is dpop+jwt
        raise FormatError("DPoP proof typ header is not dpop+jwt")
    alg = header.get("alg")
    if alg not in DPOP_ALGS:  # RFC 9449 §4.3 item 5: asymmetric, not none, supported by the server
        raise FormatError("DPoP proof algorithm is not accepted")
    if "crit" in header or "b64" in header:  # RFC 7515 §4.1.11: no extension is understood, so none is accepted
        raise FormatError("DPoP proof uses an unsupported JWS extension")
    key_data = header.get("jwk")
    if not isinstance(key_data, dict):  # RFC 9449 §4.2: the jwk header carries the public key
        raise FormatError("DPoP proof has no jwk header object")
    if PRIVATE_MEMBERS & key_data.keys():  # RFC 9449 §4.3 item 7: the jwk does not contain a private key
        raise FormatError("DPoP proof jwk header contains a private key")
    key = import_public_signing_jwk(key_data)  # cryptography alone: no jwcrypto JWK or JWS per request
    if alg not in supported_algs(key):  # RFC 7518 §3.1: the algorithm must fit the key type and curve
        raise FormatError("DPoP proof algorithm does not fit its jwk")
    claims = _verified_claims(proof, key, alg, header)  # RFC 9449 §4.3 item 6: the signature verifies with the jwk

    jti = claims.get("jti")
    htm = claims.get("htm")
    htu = claims.get("htu")
    iat = claims.get("iat")
    # RFC 9449 §4.3 item 3 and §4.2: jti, htm, htu and iat are required
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise FormatError("DPoP proof jti is missing or malformed")
    if not isinstance(htm, str) or not isinstance(htu, str):
        raise FormatError("DPoP proof htm or htu is missing")
    if not _numeric_date(iat):
        raise FormatError("DPoP proof iat is missing or not a NumericDate")
    if htm != method:  # RFC 9449 §4.3 item 8: htm matches the request method (RFC 9110 §9.1: case-sensitive)
        raise FormatError("DPoP proof htm does not match the request method")
    if _normalise_uri(htu) != _normalise_uri(url, what="request URL"):  # RFC 9449 §4.3 item 9
        raise FormatError("DPoP proof htu does not match the request URI")
    if not now - max_age - leeway <= iat <= now + leeway:  # RFC 9449 §4.3 item 12 and §11.1: a recent proof
        raise FormatError("DPoP proof iat is outside the accepted window")

    proof_ath = claims.get("ath")
    if proof_ath is not None and not isinstance(proof_ath, str):
        raise FormatError("DPoP proof ath is malformed")
    if access_token is not None:  # RFC 9449 §4.3 item 11: ath is the hash of the presented access token
        if proof_ath is None or not hmac.compare_digest(proof_ath.encode("utf-8"), ath(access_token).encode("ascii")):
            raise FormatError("DPoP proof ath does not match the access token")

    proof_nonce = claims.get("nonce")
    if nonce is not None or nonce_key is not None:  # RFC 9449 §4.3 item 10: the nonce the server provided
        if not isinstance(proof_nonce, str) or not proof_nonce:
            raise DpopNonceError("DPoP proof nonce is missing")
        if nonce is not None and not hmac.compare_digest(proof_nonce.encode("utf-8"), nonce.encode("utf-8")):
            raise DpopNonceError("DPoP proof nonce is wrong")
        if nonce_key is not None and not check_nonce(nonce_key, proof_nonce, now, nonce_window):
            raise DpopNonceError("DPoP proof nonce is wrong or stale")
    elif proof_nonce is not None and not isinstance(proof_nonce, str):
        raise FormatError("DPoP proof nonce is malformed")

    return DpopProof(
        jkt=thumbprint(key),
        jti=jti,
        iat=int(iat),
        htm=htm,
        htu=htu,
        nonce=proof_nonce,
        ath=proof_ath,
    )


def ath(access_token: str) -> str:
    """RFC 9449 §4.2: ``base64url(SHA-256(ASCII(access_token)))``, the ``ath`` claim for ``access_token``."""
    try:
        data = access_token.encode("ascii")
    except (UnicodeEncodeError, AttributeError) as exc:
        raise FormatError("access token is not ASCII text") from exc
    return b64url_encode(hashlib.sha256(data).digest())


def issue_nonce(key: bytes, now: int, window: int = 60) -> str:
    """A server nonce for the time slot of ``now`` (RFC 9449 §8), verifiable by any holder of ``key``."""
    _check_nonce_parameters(key, now, window)
    slot = (now // window).to_bytes(8, "big")
    return b64url_encode(slot + _nonce_mac(key, slot))


def check_nonce(key: bytes, nonce: str, now: int, window: int = 60) -> bool:
    """Whether ``nonce`` was issued with ``key`` in the current or the previous slot (constant-time compare)."""
    _check_nonce_parameters(key, now, window)
    if not isinstance(nonce, str) or not _NONCE_RE.fullmatch(nonce):
        return False
    raw = base64.urlsafe_b64decode(nonce)
    slot_bytes, mac = raw[:8], raw[8:]
    current = now // window
    if int.from_bytes(slot_bytes, "big") not in (current, current - 1):
        return False
    return hmac.compare_digest(mac, _nonce_mac(key, slot_bytes))


def _check_nonce_parameters(key: bytes, now: int, window: int) -> None:
    """Configuration mistakes are programming errors: ValueError, not FormatError."""
    if not isinstance(key, bytes) or len(key) < MIN_NONCE_KEY_LENGTH:
        raise ValueError(f"DPoP nonce key must be at least {MIN_NONCE_KEY_LENGTH} bytes")
    if window <= 0 or now < 0:
        raise ValueError("DPoP nonce window must be positive and now non-negative")


def _nonce_mac(key: bytes, slot: bytes) -> bytes:
    return hmac.new(key, _NONCE_CONTEXT + slot, hashlib.sha256).digest()[:_NONCE_MAC_LENGTH]


def _verified_claims(proof: str, key: PublicJwk, alg: str, header: dict[str, Any]) -> dict[str, Any]:
    try:
        _, claims = verify_jwt(proof, {str(header.get("kid")): key}, algorithms=[alg], header=header)
    except FormatError as exc:
        raise FormatError("DPoP proof signature does not verify") from exc
    return claims


def _numeric_date(value: Any) -> TypeGuard[int | float]:
    """RFC 7519 §2 NumericDate: a finite JSON number (not a boolean, NaN or Infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _normalise_uri(uri: str, *, what: str = "DPoP proof htu") -> str:
    """Scheme, authority and path of an http(s) URI after RFC 3986 §6.2.2 and §6.2.3 normalisation.

    Query and fragment are dropped (RFC 9449 §4.3 item 9). Scheme and host are lower-cased, the default port
    removed, an empty path becomes ``/``, percent-encoded unreserved characters are decoded and the other
    percent-encodings upper-cased, and dot segments are removed.
    """
    if _CONTROL_OR_SPACE.search(uri):  # urlsplit silently drops tabs and newlines; such a URI never matches
        raise FormatError(f"{what} is not a URI")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise FormatError(f"{what} is not a URI") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        raise FormatError(f"{what} is not an absolute http(s) URI")  # RFC 9110 §4.2.4: no userinfo in http(s)
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _PERCENT.sub(_normalise_percent, parts.path)
    return f"{scheme}://{authority}{_remove_dot_segments(path) or '/'}"


def _normalise_percent(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else f"%{match.group(1).upper()}"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for the absolute path of a hierarchical URI."""
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            continue
        output.append(segment)
    if segments[-1] in {".", ".."}:
        output.append("")
    return "/".join(output)
