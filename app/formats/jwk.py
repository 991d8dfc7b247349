"""JSON Web Keys: import of client public keys, RFC 7638 thumbprints, algorithm choice.

GovStack IDBB §8 (``publicKey``: "Format: Json Web Key (JWK)") and eSignet accept the client key as
a JSON object; clients in the field also send it as a JSON string or as base64/base64url of that
string, so all three are read. A private, symmetric or otherwise unusable key is refused: the key
only ever verifies a client's ``private_key_jwt`` assertions (RFC 7523 §3).
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk
from jwcrypto.common import JWException

from app.formats.errors import FormatError
from app.formats.jose import PublicJwk, b64url_encode, decode_b64url
from app.formats.json_text import loads

#: Members that only a private or symmetric JWK carries (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Signature algorithms idbb verifies, by key type and curve.
SIGNING_ALGS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("RSA", None): ("RS256", "PS256", "RS384", "PS384", "RS512", "PS512"),
    ("EC", "P-256"): ("ES256",),
    ("EC", "P-384"): ("ES384",),
    ("EC", "P-521"): ("ES512",),
    ("OKP", "Ed25519"): ("EdDSA",),
}
MIN_RSA_BITS = 2048  # NIST SP 800-131A: RSA keys below 2048 bits are disallowed for signatures
#: Larger moduli only cost verification time (a 1,000,000-bit key was accepted and stored): 8192 bits is
#: the largest size common software generates (OpenSSL, HSMs); FIPS 186-5 names nothing above 15360.
MAX_RSA_BITS = 8192


def check_rsa_members(data: dict[str, Any]) -> None:
    """Refuse an RSA ``n``/``e`` that is not a usable public key, before any import spends time on it.

    RFC 8017 §3.1: the modulus is a product of two odd primes (so odd) and the public exponent an odd
    integer with 3 <= e < n; NIST SP 800-131A: n at least 2048 bits; at most ``MAX_RSA_BITS``.
    """
    n_b64, e_b64 = data.get("n"), data.get("e")
    if not isinstance(n_b64, str) or not isinstance(e_b64, str):
        raise FormatError("RSA public key needs n and e")
    if len(n_b64) > (MAX_RSA_BITS // 6) + 4:  # base64url: 6 bits a character; no decoding of huge values
        raise FormatError(f"RSA public keys must be at most {MAX_RSA_BITS} bits")
    try:
        n = int.from_bytes(base64.urlsafe_b64decode(n_b64 + "=" * (-len(n_b64) % 4)), "big")
        e = int.from_bytes(base64.urlsafe_b64decode(e_b64[:64] + "=" * (-len(e_b64[:64]) % 4)), "big")
    except (binascii.Error, ValueError) as exc:
        raise FormatError("RSA n and e must be base64url") from exc
    if n.bit_length() > MAX_RSA_BITS:
        raise FormatError(f"RSA public keys must be at most {MAX_RSA_BITS} bits")
    if n.bit_length() < MIN_RSA_BITS:
        raise FormatError("RSA public keys must be at least 2048 bits")
    if n % 2 == 0:  # RFC 8017 §3.1: n = r_1 * r_2, odd primes
        raise FormatError("RSA modulus is not valid (even)")
    if len(e_b64) > 64 or e < 3 or e % 2 == 0 or e >= n:  # RFC 8017 §3.1: 3 <= e <= n - 1, odd
        raise FormatError("RSA public exponent is not valid")


def decode_jwk_input(value: Any) -> dict[str, Any]:
    """Turn a JWK given as an object, a JSON string, or base64/base64url of that string into a dict."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.strip():
        raise FormatError("public key must be a JWK object or its JSON text")
    text = value.strip()
    if not text.startswith("{"):
        text = _b64_to_text(text)
    try:
        parsed = loads(text)  # bounded nesting: a key nested 10,000 deep raised RecursionError (a 500)
    except FormatError as exc:
        raise FormatError("public key is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise FormatError("public key JSON is not an object")
    return parsed


def _b64_to_text(text: str) -> str:
    padded = text + "=" * (-len(text) % 4)
    for decoder in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            decoded = decoder(padded).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded.startswith("{"):
            return decoded
    raise FormatError("public key is neither JSON nor base64 of JSON")


def parse_public_signing_jwk(value: Any) -> jwk.JWK:
    """Import a client's public signing key, refusing private, symmetric and weak keys."""
    data, kty = _signing_members(value)
    try:
        key = jwk.JWK(**data)
        # jwcrypto builds keys lazily: force the point/modulus checks now; the key object stays cached in the
        # JWK, so the signature check that follows does not import it a second time
        public = key.get_op_key("verify")
    except (JWException, ValueError, TypeError, KeyError) as exc:
        raise FormatError("public key does not import") from exc
    if key.has_private or not key.has_public:
        raise FormatError("public key is not a usable public key")
    if kty == "RSA" and public.key_size < MIN_RSA_BITS:  # NIST SP 800-131A
        raise FormatError("RSA public keys must be at least 2048 bits")
    return key


#: RFC 7517 §4: the registered members a public JWK keeps (jwcrypto's export_public keeps these and drops others)
REGISTERED_MEMBERS = ("kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256")
#: RFC 7518 §6.2.1 / §6.3.1, RFC 8037 §2: each key type's public members
PUBLIC_MEMBERS: dict[str, tuple[str, ...]] = {"EC": ("crv", "x", "y"), "RSA": ("n", "e"), "OKP": ("crv", "x")}
_CURVES: dict[str, tuple[ec.EllipticCurve, int]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
    "P-521": (ec.SECP521R1(), 66),
}


def _signing_members(value: Any) -> tuple[dict[str, Any], str]:
    """A JWK's members and ``kty`` once the checks both importers make have passed: ``kty`` RSA, EC or OKP, no private
    member, ``use`` sig, a key type and curve idbb verifies with (:data:`SIGNING_ALGS`), an ``alg`` that fits them,
    and an RSA ``n``/``e`` of a usable size (:func:`check_rsa_members`)."""
    data = decode_jwk_input(value)
    kty = data.get("kty")
    if not isinstance(kty, str) or kty not in PUBLIC_MEMBERS:
        raise FormatError("public key must have kty RSA, EC or OKP")
    if PRIVATE_MEMBERS & data.keys():
        raise FormatError("a private key was sent where a public key is expected")
    if data.get("use", "sig") != "sig":
        raise FormatError("public key use must be 'sig'")
    crv = None if kty == "RSA" else data.get("crv")
    algs = SIGNING_ALGS.get((kty, crv), ()) if crv is None or isinstance(crv, str) else ()
    if not algs:
        raise FormatError("public key type or curve is not supported for signatures")
    if "alg" in data and data["alg"] not in algs:
        raise FormatError("public key alg does not fit the key")
    if kty == "RSA":
        check_rsa_members(data)
    return data, kty


def _ec_coordinates(data: Mapping[str, Any], *, full_size: bool) -> tuple[bytes, bytes]:
    """An EC key's x and y octets, each the full size of a coordinate of its curve (RFC 7518 §6.2.1.2-3: "MUST be
    the full size"): a key has one spelling, so one RFC 7638 thumbprint (jwcrypto takes a shorter or longer one)."""
    size = _CURVES[str(data.get("crv"))][1]
    x, y = decode_b64url(data.get("x"), "EC x"), decode_b64url(data.get("y"), "EC y")  # type: ignore[arg-type]  # decode_b64url refuses a non-string
    if full_size and (len(x) != size or len(y) != size):  # RFC 7518 §6.2.1.2-3: the full size of a coordinate
        raise FormatError("EC coordinates must be the curve's full size")
    return x, y


def import_public_signing_jwk(value: Any, *, full_size: bool = True) -> PublicJwk:
    """Import a public signing key with ``cryptography`` alone: the checks of :func:`parse_public_signing_jwk`, and
    the point on its curve (the library refuses one that is not), without building a jwcrypto JWK (a wallet's proof
    key: 14 µs against 49, measured here).

    Refused: a private, symmetric or unsupported key; ``use`` other than ``sig`` and ``key_ops`` without
    ``verify`` (RFC 7517 §4.2-4.3, as jwcrypto's ``get_op_key("verify")`` refuses them); an ``alg`` that does not fit
    the key; an EC coordinate not of its curve's full length (RFC 7518 §6.2.1.2-3: "MUST be the full size");
    RSA outside 2048..8192 bits (:func:`check_rsa_members`). ``full_size=False`` only re-reads a key accepted before
    the coordinate check (a deferred request's keys, kept since then); a key that arrives is always checked. Client
    keys registered earlier go through :func:`parse_public_signing_jwk`, which does not check it: they are re-read
    on every use, and refusing one now would lock its client out."""
    data, kty = _signing_members(value)
    ops = data.get("key_ops")
    if ops is not None:
        listed = ops if isinstance(ops, list) else [ops]
        if not all(isinstance(op, str) for op in listed) or len(set(listed)) != len(listed):
            raise FormatError("public key key_ops must be distinct strings")  # RFC 7517 §4.3: MUST NOT repeat
        if "verify" not in listed:  # RFC 7517 §4.3: the key may only be used for the operations listed
            raise FormatError("public key key_ops must allow verify")
    try:
        public: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
        if kty == "EC":
            x, y = _ec_coordinates(data, full_size=full_size)
            curve = _CURVES[str(data["crv"])][0]
            public = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve).public_key()
        elif kty == "RSA":
            n, e = decode_b64url(data["n"], "RSA n"), decode_b64url(data["e"], "RSA e")
            public = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
        else:
            x = decode_b64url(data.get("x"), "OKP x")  # type: ignore[arg-type]  # decode_b64url refuses a non-string
            public = ed25519.Ed25519PublicKey.from_public_bytes(x)  # RFC 8037 §2: 32 octets for Ed25519
    except FormatError:
        raise
    except (ValueError, TypeError) as exc:  # a point off its curve, a wrong length
        raise FormatError("public key does not import") from exc
    members = {name: data[name] for name in (*REGISTERED_MEMBERS, *PUBLIC_MEMBERS[kty]) if name in data}
    return PublicJwk(members, public)


def supported_algs(key: jwk.JWK | PublicJwk) -> tuple[str, ...]:
    """The JWS algorithms this key can verify, by ``kty`` and ``crv``."""
    kty = key.get("kty")
    crv = None if kty == "RSA" else key.get("crv")
    return SIGNING_ALGS.get((kty, crv), ())


#: RFC 7638 §3.2: the required members of each key type, the only ones a thumbprint hashes (RFC 8037 §2 for OKP).
THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def thumbprint(key: jwk.JWK | PublicJwk | Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url: a ``kid`` that is stable and derived from the key.

    Computed from the members with hashlib (a third of jwcrypto's cost: no registry walk, no Hash object); a key
    type RFC 7638 does not list here falls back to jwcrypto.
    """
    members = THUMBPRINT_MEMBERS.get(str(key.get("kty")))
    if members is None:
        if isinstance(key, jwk.JWK):
            return cast(str, key.thumbprint())  # jwcrypto has no type hints
        raise FormatError("key type has no RFC 7638 thumbprint")
    values = {name: key.get(name) for name in members}
    if not all(isinstance(value, str) for value in values.values()):  # §3.2: each required member is a string
        raise FormatError("key lacks a member its thumbprint needs")
    # RFC 7638 §3.3: the required members only, in lexicographic order of their names, with no whitespace or
    # line breaks (json.dumps escapes non-ASCII, which the base64url and curve-name values never contain)
    text = json.dumps(values, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(text.encode("utf-8")).digest())


def public_dict(key: jwk.JWK) -> dict[str, Any]:
    """The public members of ``key`` as a dict (never any private member)."""
    return cast(dict[str, Any], key.export_public(as_dict=True))  # jwcrypto has no type hints
