"""Signing and verifying compact JWTs with jwcrypto, keys passed in as arguments.

Time checks take ``now`` explicitly so callers (and tests) control the clock. Verification pins the
algorithm list and, where a profile defines one, the ``typ`` header (RFC 8725 §3.1, §3.11).
"""

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeGuard, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from jwcrypto import jwk, jws
from jwcrypto.common import JWException, base64url_decode, json_encode

from app.formats.errors import FormatError
from app.formats.json_text import DEFAULT_MAX_DEPTH, check_json_text, loads

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class PublicJwk:
    """A public signing JWK already checked and imported (:func:`app.formats.jwk.import_public_signing_jwk`): its
    members as jwcrypto would export them (the registered parameters and the public key's, RFC 7517 §4, RFC 7518
    §6) and the ``cryptography`` key that verifies with it, its ``use``/``key_ops`` allowing ``verify``.

    What a wallet's proof key becomes: it verifies the proof and is bound into the credential (``cnf``, an mdoc's
    deviceKey) without a jwcrypto JWK, whose construction cost more than the ECDSA check itself (35 µs)."""

    members: Mapping[str, Any]
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

    def get(self, name: str, default: Any = None) -> Any:
        return self.members.get(name, default)


#: A verification key: a jwcrypto JWK (idbb's own and clients' registered keys) or an imported :class:`PublicJwk`
VerificationKey: TypeAlias = jwk.JWK | PublicJwk


def sign_jwt(
    claims: Mapping[str, Any],
    key: jwk.JWK,
    alg: str,
    *,
    typ: str | None = None,
    extra_header: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``claims`` as a compact JWS with ``key`` (its ``kid`` goes into the header).

    ``extra_header`` adds protected header members such as ``x5c`` (RFC 7515 §4.1.6); it cannot replace
    ``alg``, ``kid``, ``typ``, nor add ``crit`` or ``b64`` (which verify_jwt refuses).
    """
    header: dict[str, Any] = {"alg": alg}
    kid = key.get("kid")
    if kid:
        header["kid"] = kid
    if typ:
        header["typ"] = typ
    if extra_header:
        if {"alg", "kid", "typ", "crit", "b64"} & extra_header.keys():
            raise FormatError("extra_header may not set alg, kid, typ, crit or b64")
        header.update(extra_header)
    header_text, claims_bytes = json_encode(header), json_encode(dict(claims)).encode("utf-8")
    protected, payload = b64url_encode(header_text.encode("utf-8")), b64url_encode(claims_bytes)
    signing_input = f"{protected}.{payload}".encode("ascii")
    if alg in _ECDSA or alg in _RSA:
        # ``cryptography`` directly on the key jwcrypto caches (get_op_key): no JWSCore, no JWA registry lookup,
        # no re-parse of the header per token; EdDSA (rare, never on the credential path) still goes through jwcrypto
        return f"{protected}.{payload}.{b64url_encode(_sign_pyca(alg, key, signing_input))}"
    # jwcrypto's JWSCore, not JWS: JWS deep-copies its header registry per object (~1 ms a token); the compact
    # serialization of one protected header needs none of it (RFC 7515 §7.1)
    return f"{protected}.{payload}.{jws.JWSCore(alg, key, header_text, claims_bytes).sign()['signature']}"


def _sign_pyca(alg: str, key: jwk.JWK, signing_input: bytes) -> bytes:
    """An ES* or RS*/PS* signature over ``signing_input`` made with ``cryptography`` (RFC 7518 §3.3-3.5).

    The key must fit the algorithm (jwcrypto's cached key object ignores the curve it is asked for, so it is
    checked here), and ``get_op_key("sign")`` keeps jwcrypto's ``use``/``key_ops`` constraints.
    """
    if alg in _ECDSA:
        curve, hash_type, size = _ECDSA[alg]
        if key.get("kty") != "EC" or key.get("crv") != curve:  # RFC 7518 §3.4: the algorithm fixes the curve
            raise FormatError("key does not fit the algorithm")
        private = key.get_op_key("sign", curve)
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hash_type())))
        # RFC 7518 §3.4: the JWS signature MUST be R || S, each as a big-endian octet string of the curve's length
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if key.get("kty") != "RSA":  # RFC 7518 §3.3, §3.5: RSASSA needs an RSA key
        raise FormatError("key does not fit the algorithm")
    pad, hash_type = _RSA[alg]
    return cast(bytes, key.get_op_key("sign").sign(signing_input, pad, hash_type()))


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2, Appendix C), the encoding of every JOSE segment."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_b64url(segment: str, what: str) -> bytes:
    """Strict base64url without padding (RFC 7515 §2, RFC 4648 §5): other characters are refused, not skipped."""
    if not isinstance(segment, str) or not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise FormatError(f"{what} is not base64url")
    try:
        return cast(bytes, base64url_decode(segment))  # jwcrypto has no type hints
    except (ValueError, binascii.Error) as exc:
        raise FormatError(f"{what} is not base64url") from exc


def decode_header_segment(segment: str, what: str) -> dict[str, Any]:
    """Decode the base64url JSON protected header of a compact JWS or JWE (RFC 7515 §7.1, RFC 7516 §7.1)."""
    return _json_segment(segment, f"{what} header")


def peek_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWT, unverified: only to route or compare before verification."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise FormatError("token is not a compact JWS")
    return _json_segment(parts[1], "token payload")


def check_compact_segments(token: str, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """The header and payload of a compact JWS are base64url of UTF-8 JSON nesting at most ``max_depth``.

    Libraries that verify a JWT (joserfc under Authlib) ``json.loads`` both segments unbounded: a payload
    nested 10,000 deep raised ``RecursionError`` there. Run this first on any JWT from outside.
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) not in (3, 5):
        raise FormatError("token is not a compact JWS or JWE")
    for segment in parts[:1] if len(parts) == 5 else parts[:2]:
        try:
            check_json_text(base64url_decode(segment), max_depth)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise FormatError("token segment is not base64url JSON") from exc


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = loads(base64url_decode(segment))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:  # deep nesting is refused, not a crash
        raise FormatError(f"{what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise FormatError(f"{what} is not a JSON object")
    return value


def compact_parts(token: Any, *, max_length: int | None = None) -> list[str]:
    """The three base64url parts of a compact JWS (RFC 7515 §7.1), unverified; ``max_length`` bounds the
    token first where the caller takes it from an untrusted party before any other check (WLA)."""
    if max_length is not None and (not isinstance(token, str) or not token or len(token) > max_length):
        raise FormatError("token must be a compact JWS of reasonable length")
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(_B64URL.fullmatch(part) for part in parts):  # RFC 7515 §7.1
        raise FormatError("token is not a compact JWS")
    return parts


def peek_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, unverified: only to pick the verification key."""
    return _header(compact_parts(token)[0])


def _header(protected: str) -> dict[str, Any]:
    try:
        header = json.loads(base64url_decode(protected))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise FormatError("token is not a compact JWS") from exc
    if not isinstance(header, dict):
        raise FormatError("token header is not an object")
    return header


def verify_jwt(
    token: str,
    keys: Mapping[str, VerificationKey],
    *,
    algorithms: Iterable[str],
    typ: str | None = None,
    header: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against the key named by its ``kid``; return (header, claims).

    ``header``: what :func:`peek_header` returned for this very token, when the caller read it to choose the key
    (a wallet's proof, an access token), so it is not decoded twice. Claims are not time-checked here: see
    :func:`check_time_claims`.
    """
    protected, payload, signature = compact_parts(token)
    header = _header(protected) if header is None else header
    alg = header.get("alg")
    if alg not in set(algorithms):  # RFC 8725 §3.1: only algorithms we chose; never "none"
        raise FormatError("token algorithm is not accepted")
    if typ is not None and str(header.get("typ", "")).lower() not in {typ, f"application/{typ}"}:
        raise FormatError("token typ header is wrong")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise FormatError("token is signed by an unknown key")
    if "crit" in header or header.get("b64", True) is not True:  # RFC 7515 §4.1.11: we understand no extension
        raise FormatError("token uses a critical header extension")
    try:
        # only the canonical base64url of what was signed, whichever path verifies it (JWSCore's own check)
        if b64url_encode(base64url_decode(protected)) != protected:
            raise ValueError("non-canonical protected header encoding")
        if alg in _ECDSA:
            _verify_ecdsa(alg, key, protected, payload, base64url_decode(signature))
        elif alg in _RSA:
            _verify_rsa(alg, key, protected, payload, base64url_decode(signature))
        elif isinstance(key, PublicJwk):
            _verify_eddsa(alg, key, protected, payload, base64url_decode(signature))
        else:
            core = jws.JWSCore(alg, key, base64url_decode(protected).decode("utf-8"), base64url_decode(payload))
            core.verify(base64url_decode(signature))
        claims = json.loads(base64url_decode(payload))
    except (JWException, ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise FormatError("token signature does not verify") from exc
    if not isinstance(claims, dict):
        raise FormatError("token payload is not a JSON object")
    return header, claims


#: RFC 7518 §3.4: the ECDSA algorithms, their curve (as jwcrypto names it), hash and R/S octet length
_ECDSA: dict[str, tuple[str, type[hashes.HashAlgorithm], int]] = {
    "ES256": ("P-256", hashes.SHA256, 32),
    "ES384": ("P-384", hashes.SHA384, 48),
    "ES512": ("P-521", hashes.SHA512, 66),
}


def _verifier(key: VerificationKey, curve: str | None = None) -> Any:
    """The ``cryptography`` key of ``key``: an imported :class:`PublicJwk` had its ``use``/``key_ops`` checked then;
    a jwcrypto JWK checks them here (and caches the key it builds)."""
    return key.public_key if isinstance(key, PublicJwk) else key.get_op_key("verify", curve)


def _verify_eddsa(alg: str, key: PublicJwk, protected: str, payload: str, signature: bytes) -> None:
    """An EdDSA signature (RFC 8037 §3.1: Ed25519) with an imported key."""
    if alg != "EdDSA" or not isinstance(key.public_key, ed25519.Ed25519PublicKey):
        raise ValueError("key does not fit the algorithm")
    try:
        key.public_key.verify(signature, f"{protected}.{payload}".encode("ascii"))
    except InvalidSignature as exc:
        raise ValueError("signature does not verify") from exc


def _verify_ecdsa(alg: str, key: VerificationKey, protected: str, payload: str, signature: bytes) -> None:
    """An ES256/384/512 signature checked with ``cryptography`` directly (RFC 7518 §3.4).

    The same checks as jwcrypto's ``JWSCore`` (the key's ``use``/``key_ops`` allow ``verify``, its curve is the
    algorithm's; :func:`verify_jwt` checks the protected header is canonical base64url), without building a
    ``JWSCore`` per token (about a third of a proof's verification time), and the signature length is checked as
    §3.4 fixes it.
    """
    curve, hash_type, size = _ECDSA[alg]
    if key.get("kty") != "EC" or key.get("crv") != curve:  # RFC 7518 §3.4: the algorithm fixes the curve
        raise ValueError("key does not fit the algorithm")  # (jwcrypto checks the curve only before it caches the key)
    public = _verifier(key, curve)  # the use / key_ops constraints
    if len(signature) != 2 * size:  # RFC 7518 §3.4: R and S, each exactly the curve's octet length
        raise ValueError("ECDSA signature has the wrong length")
    r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    try:
        public.verify(encode_dss_signature(r, s), f"{protected}.{payload}".encode("ascii"), ec.ECDSA(hash_type()))
    except InvalidSignature as exc:
        raise ValueError("signature does not verify") from exc


#: RFC 7518 §3.3 (RSASSA-PKCS1-v1_5) and §3.5 (RSASSA-PSS): the padding and hash of each RSA algorithm; PSS with
#: MGF1 over the same hash and a salt as long as the hash output (§3.5: "The size of the salt value is the same
#: size as the hash function output"), as jwcrypto configures it.
_RSA: dict[str, tuple[padding.AsymmetricPadding, type[hashes.HashAlgorithm]]] = {
    "RS256": (padding.PKCS1v15(), hashes.SHA256),
    "RS384": (padding.PKCS1v15(), hashes.SHA384),
    "RS512": (padding.PKCS1v15(), hashes.SHA512),
    "PS256": (padding.PSS(padding.MGF1(hashes.SHA256()), hashes.SHA256.digest_size), hashes.SHA256),
    "PS384": (padding.PSS(padding.MGF1(hashes.SHA384()), hashes.SHA384.digest_size), hashes.SHA384),
    "PS512": (padding.PSS(padding.MGF1(hashes.SHA512()), hashes.SHA512.digest_size), hashes.SHA512),
}


def _verify_rsa(alg: str, key: VerificationKey, protected: str, payload: str, signature: bytes) -> None:
    """An RS*/PS* signature checked with ``cryptography`` directly (RFC 7518 §3.3, §3.5).

    The same checks as jwcrypto's ``JWSCore`` (the key's ``use``/``key_ops`` allow ``verify``; :func:`verify_jwt`
    checks the protected header is canonical), and the key must be RSA (jwcrypto would hand an EC key to the RSA
    verifier and fail on a TypeError). The public key object is the one jwcrypto caches in the JWK, so a cached JWK
    (idbb's own keys, :func:`app.services.keys.public_jwks_by_kid`) costs no import per token; no ``JWSCore`` is
    built.
    """
    if key.get("kty") != "RSA":  # RFC 7518 §3.3, §3.5: RSASSA verifies with an RSA key only
        raise ValueError("key does not fit the algorithm")
    public = _verifier(key)  # the use / key_ops constraints
    pad, hash_type = _RSA[alg]
    try:
        public.verify(signature, f"{protected}.{payload}".encode("ascii"), pad, hash_type())
    except InvalidSignature as exc:
        raise ValueError("signature does not verify") from exc


def _numeric_date(value: Any) -> TypeGuard[int | float]:
    """RFC 7519 §2 NumericDate: a finite JSON number (not a boolean, NaN or Infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_time_claims(claims: Mapping[str, Any], now: int, *, leeway: int = 0) -> None:
    """Refuse a token whose ``exp`` has passed or whose ``nbf``/``iat`` lie in the future."""
    exp = claims.get("exp")
    if not _numeric_date(exp):
        raise FormatError("token has no numeric exp")
    if now >= exp + leeway:  # RFC 7519 §4.1.4: MUST NOT be accepted on or after exp
        raise FormatError("token has expired")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not _numeric_date(value) or value > now + leeway):
            raise FormatError(f"token {name} is not a NumericDate in the past")
