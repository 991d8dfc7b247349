"""Wallet key binding formats: the wallet's public JWK, the WLA token and the detached consent signature.

* Binding (GovStack Identity-Provider.yaml ``POST /wallet-binding``, esignet-notes.md §2.6, §5): the
  wallet sends ``publicKey`` as a JWK; idbb certifies it and remembers the certificate's
  ``x5t#S256`` (RFC 7517 §4.9) thumbprint.
* Wallet local authentication (esignet-notes.md §4.2): a compact JWS signed with the bound key whose
  header names the certificate by ``x5t#S256`` and whose claims carry ``sub`` = individual id,
  ``aud`` = the binding audience, ``iat`` and ``exp``.
* Signed consent (esignet-notes.md §4.3): a detached JWS (RFC 7515 Appendix F) over
  ``{"accepted_claims":[...],"permitted_authorized_scopes":[...]}`` as eSignet's Jackson ``TreeMap``
  serialises it.

Pure code (ARCHITECTURE.md): keys come in as arguments; every failure is a :class:`FormatError`
whose message never repeats the submitted values.
"""

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from app.formats.canonical import canonical_json
from app.formats.errors import FormatError
from app.formats.jose import b64url_encode, compact_parts
from app.formats.json_text import loads
from app.formats.jwk import PRIVATE_MEMBERS, check_rsa_members, decode_jwk_input
from app.formats.x509 import x5t_s256

__all__ = [
    "WLA_ALGS",
    "WalletKey",
    "algs_for",
    "consent_payload",
    "parse_wallet_jwk",
    "unverified_x5t_s256",
    "verify_detached_consent",
    "verify_wla",
    "x5t_s256",
]

#: JWS algorithms a bound wallet key may sign with, by key type and curve. eSignet takes RS256 only
#: (esignet-notes.md §4.2); idbb also takes the modern choices that fit the key.
WLA_ALGS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("RSA", None): ("RS256", "PS256"),
    ("EC", "P-256"): ("ES256",),
    ("EC", "P-384"): ("ES384",),
    ("OKP", "Ed25519"): ("EdDSA",),
}
#: Members each strict key type must carry (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
_REQUIRED_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
MIN_RSA_BITS = 2048  # NIST SP 800-131A: RSA keys below 2048 bits are disallowed for signatures
#: Future ``iat`` tolerated for clock drift between wallet and server.
IAT_LEEWAY = 60
#: Longest token or signature read (Inji's WLA tokens are 500-1000 characters).
MAX_TOKEN_LENGTH = 16384
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class WalletKey:
    """A wallet public key as idbb stores it.

    ``key`` is None only in relaxed (sandbox) mode, for a JSON object with a ``kty`` that does not
    load as a key (e.g. RSA without ``e``); ``public`` is then the object as sent, and ``thumbprint``
    the base64url SHA-256 of its RFC 8785 canonical JSON instead of the RFC 7638 thumbprint.
    """

    public: dict[str, Any]
    thumbprint: str
    key: jwk.JWK | None


def algs_for(key: jwk.JWK) -> tuple[str, ...]:
    """The JWS algorithms ``key`` may sign WLA tokens and consents with."""
    kty = key.get("kty")
    return WLA_ALGS.get((kty, None if kty == "RSA" else key.get("crv")), ())


def _strict_key(data: dict[str, Any]) -> jwk.JWK:
    kty = data.get("kty")
    if kty not in _REQUIRED_MEMBERS:
        raise FormatError("public key must have kty RSA, EC or OKP")
    if not all(isinstance(data.get(name), str) and data.get(name) for name in _REQUIRED_MEMBERS[kty]):
        raise FormatError(f"a {kty} public key needs the members {', '.join(_REQUIRED_MEMBERS[kty])}")
    if kty == "EC" and data["crv"] not in ("P-256", "P-384"):
        raise FormatError("EC public keys must be on P-256 or P-384")
    if kty == "OKP" and data["crv"] != "Ed25519":
        raise FormatError("OKP public keys must be Ed25519")
    if data.get("use", "sig") != "sig":
        raise FormatError("public key use must be 'sig'")
    if kty == "RSA":
        check_rsa_members(data)  # at most 8192 bits, odd modulus, valid exponent
    key = _load(data)
    if "alg" in data and data["alg"] not in algs_for(key):
        raise FormatError("public key alg does not fit the key")
    if kty == "RSA" and key.get_op_key("verify").key_size < MIN_RSA_BITS:
        raise FormatError("RSA public keys must be at least 2048 bits")
    return key


def _load(data: dict[str, Any]) -> jwk.JWK:
    try:
        key = jwk.JWK(**data)
        key.get_op_key("verify")  # jwcrypto builds keys lazily: force the modulus/point checks now
    except (JWException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise FormatError("public key does not import") from exc
    if key.has_private or not key.has_public:
        raise FormatError("public key is not a usable public key")
    return key


def parse_wallet_jwk(value: Any, *, relaxed: bool = False) -> WalletKey:
    """Read the ``publicKey`` of a binding request.

    Strict: RSA of at least 2048 bits with ``n`` and ``e``, EC P-256/P-384 or OKP Ed25519. Relaxed
    (the GovStack sandbox): any JSON object with a string ``kty``; a key that loads is kept as the
    key it is (even a weak one), one that does not load is kept as sent with ``key=None``. Both
    modes refuse private-key members: idbb never stores private key material.
    """
    data = decode_jwk_input(value)
    if not isinstance(data.get("kty"), str) or not data["kty"]:
        raise FormatError("public key must be a JWK object with a kty")
    if PRIVATE_MEMBERS & data.keys():
        raise FormatError("a private key was sent where a public key is expected")
    try:
        key = _strict_key(data)
    except FormatError:
        if not relaxed:
            raise
        try:
            key = _load(data)
        except FormatError:
            try:
                print_ = b64url_encode(hashlib.sha256(canonical_json(data)).digest())
            except FormatError as exc:
                raise FormatError("public key is not plain JSON") from exc
            return WalletKey(public=dict(data), thumbprint=print_, key=None)
    return WalletKey(public=key.export_public(as_dict=True), thumbprint=key.thumbprint(), key=key)


def _b64decode(part: str, what: str) -> bytes:
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise FormatError(f"{what} is not base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{what} is not base64url") from exc


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = loads(_b64decode(part, what))  # UTF-8, bounded nesting
    except FormatError as exc:
        raise FormatError(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise FormatError(f"{what} is not a JSON object")
    return value


def _checked_header(header_b64: str, key: jwk.JWK | None) -> tuple[dict[str, Any], str]:
    header = _json_object(header_b64, "JWS header")
    alg = header.get("alg")
    thumb = header.get("x5t#S256")
    # esignet-notes.md §4.2/§4.3: the header MUST name the binding certificate by x5t#S256
    if not isinstance(thumb, str) or not thumb:
        raise FormatError("JWS header has no x5t#S256")
    if header.get("b64", True) is not True:  # RFC 7797 unencoded payloads are not used here
        raise FormatError("JWS header b64=false is not supported")
    if "crit" in header:  # RFC 7515 §4.1.11: unknown critical extensions MUST be refused
        raise FormatError("JWS header crit is not supported")
    if key is not None and (not isinstance(alg, str) or alg not in algs_for(key)):
        raise FormatError("JWS alg does not fit the bound key")
    return header, str(alg)


def _verify_compact(compact: str, key: jwk.JWK, alg: str) -> None:
    try:
        token = jws.JWS()
        token.deserialize(compact)
        token.verify(key, alg=alg)
    except (JWException, ValueError, TypeError) as exc:
        raise FormatError("JWS signature does not verify with the bound key") from exc


def unverified_x5t_s256(token: Any) -> str:
    """The ``x5t#S256`` header of a WLA token, read before verification to find the bound key."""
    header, _ = _checked_header(compact_parts(token, max_length=MAX_TOKEN_LENGTH)[0], None)
    return str(header["x5t#S256"])


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def verify_wla(token: Any, key: jwk.JWK, *, individual_id: str, audience: str, now: float, max_age: int) -> dict[str, Any]:
    """Verify a wallet-local-authentication token (esignet-notes.md §4.2) and return its claims.

    ``now`` is epoch seconds. Checks: compact JWS signed by ``key`` with an algorithm fitting it,
    ``x5t#S256`` in the header, ``sub`` = ``individual_id``, ``aud`` = ``audience`` (string or
    list), ``iat`` no more than 60 s ahead and no older than ``max_age``, ``exp`` in the future.
    """
    header_b64, payload_b64, _ = parts = compact_parts(token, max_length=MAX_TOKEN_LENGTH)
    _, alg = _checked_header(header_b64, key)
    _verify_compact(".".join(parts), key, alg)
    claims = _json_object(payload_b64, "JWS payload")
    # eSignet BindingValidatorServiceImpl: sub MUST equal the individual id of the request
    if not isinstance(claims.get("sub"), str) or claims["sub"] != individual_id:
        raise FormatError("sub is not the individual being authenticated")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in [a for a in audiences if isinstance(a, str)]:  # aud MUST name the binding audience
        raise FormatError("aud does not name the binding audience")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _number(iat) or not _number(exp):
        raise FormatError("iat and exp must be numbers")
    if iat > now + IAT_LEEWAY:
        raise FormatError("iat is in the future")
    if iat < now - max_age:
        raise FormatError("iat is too old")
    if exp <= now:
        raise FormatError("token has expired")
    if "iss" in claims and not isinstance(claims["iss"], str):
        raise FormatError("iss must be a string")
    return claims


def verify_detached_consent(signature: Any, payload: bytes, key: jwk.JWK) -> dict[str, Any]:
    """Verify the detached JWS a wallet sends with ``/v2/consent`` (esignet-notes.md §2.5, §4.3).

    ``signature`` is ``base64url(header) + "." + base64url(sig)`` (exactly two parts, eSignet's
    form) or RFC 7515 Appendix F's ``header..sig``; the signing input is ``header + "." +
    base64url(payload)``. Returns the protected header.
    """
    if not isinstance(signature, str) or not signature or len(signature) > MAX_TOKEN_LENGTH:
        raise FormatError("signature must be a detached JWS")
    parts = signature.split(".")
    if len(parts) == 3 and parts[1] == "":
        parts = [parts[0], parts[2]]
    if len(parts) != 2 or not parts[0] or not parts[1]:  # eSignet: exactly 2 dot-separated parts
        raise FormatError("signature must be base64url(header).base64url(signature)")
    header, alg = _checked_header(parts[0], key)
    _verify_compact(f"{parts[0]}.{b64url_encode(payload)}.{parts[1]}", key, alg)
    return header


def _utf16_order(value: str) -> bytes:
    """Java's ``String.compareTo`` order (UTF-16 code units), which eSignet's sorted lists follow."""
    return value.encode("utf-16-be", "surrogatepass")


def _sorted(values: Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    items = list(values)
    if not all(isinstance(v, str) for v in items):
        raise FormatError("consent lists must hold strings")
    return sorted(items, key=_utf16_order)


def consent_payload(accepted_claims: Iterable[str] | None, permitted_scopes: Iterable[str] | None) -> bytes:
    """The bytes a wallet signs for consent: eSignet's Jackson ``TreeMap`` JSON (esignet-notes.md §4.3).

    Keys in ``TreeMap`` order, lists sorted, no spaces, non-ASCII as UTF-8 (Jackson's default), an
    absent list as ``null``.
    """
    body = {"accepted_claims": _sorted(accepted_claims), "permitted_authorized_scopes": _sorted(permitted_scopes)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
