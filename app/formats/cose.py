"""COSE_Sign1 (RFC 9052 §4.2) and COSE_Key (RFC 9052 §7, RFC 9053 §7) with ``cryptography`` doing the crypto.

pycose 1.1 signs ECDSA through the pure-Python ``ecdsa`` package (slow, CVE-2024-23342 timing side channel),
so the Sig_structure is built here with cbor2 and signed with ``cryptography``; the structures are small and
fixed by RFC 9052. Algorithms: ES256 (-7), ES384 (-35), ES512 (-36) and EdDSA (-8) (RFC 9053 §2.1, §2.2).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.formats.errors import CoseError

#: COSE header labels (RFC 9052 §3.1; RFC 9360 §2 x5chain; RFC 9596 §2 typ).
HEADER_ALG = 1
HEADER_CONTENT_TYPE = 3
HEADER_KID = 4
HEADER_TYP = 16
HEADER_X5CHAIN = 33
#: COSE_Sign1_Tagged (RFC 9052 §2).
TAG_SIGN1 = 18

ES256, ES384, ES512, EDDSA = -7, -35, -36, -8
#: ECDSA algorithm -> (curve, hash) (RFC 9053 §2.1: the curve SHOULD match the hash; idbb insists on it).
_ECDSA: dict[int, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]] = {
    ES256: (ec.SECP256R1, hashes.SHA256),
    ES384: (ec.SECP384R1, hashes.SHA384),
    ES512: (ec.SECP521R1, hashes.SHA512),
}
#: COSE elliptic curves (RFC 9053 §7.1): EC2 P-256 1, P-384 2, P-521 3; OKP Ed25519 6.
_EC2_CURVES: dict[type[ec.EllipticCurve], int] = {ec.SECP256R1: 1, ec.SECP384R1: 2, ec.SECP521R1: 3}
_CURVE_BY_ID = {value: key for key, value in _EC2_CURVES.items()}
KTY_OKP, KTY_EC2 = 1, 2
CRV_ED25519 = 6

SigningKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
VerifyingKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1: the protected header as sent (bytes) and decoded, the unprotected header, the payload."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes


def algorithm_for_key(key: SigningKey | VerifyingKey) -> int:
    """The one COSE algorithm idbb uses with ``key``: ES256/384/512 by curve, EdDSA for Ed25519."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return EDDSA
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        for alg, (curve, _) in _ECDSA.items():
            if isinstance(key.curve, curve):
                return alg
    raise CoseError("key type or curve is not supported for COSE signatures")


def _sig_structure(protected_bytes: bytes, external_aad: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload]
    return cbor2.dumps(["Signature1", protected_bytes, external_aad, payload])


def encode_protected(protected: Mapping[Any, Any]) -> bytes:
    """The protected header bucket: a bstr of the map, or a zero-length bstr when empty (RFC 9052 §3)."""
    return cbor2.dumps(dict(protected), canonical=True) if protected else b""


def sign1(
    payload: bytes,
    key: SigningKey,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
) -> bytes:
    """A COSE_Sign1_Tagged (tag 18) over ``payload``, encoded; see :func:`sign1_structure`."""
    structure = sign1_structure(payload, key, protected=protected, unprotected=unprotected, external_aad=external_aad)
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, structure))


def sign1_structure(
    payload: bytes,
    key: SigningKey,
    *,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    external_aad: bytes = b"",
) -> list[Any]:
    """The untagged COSE_Sign1 array ``[protected, unprotected, payload, signature]`` (RFC 9052 §4.2), to embed in
    a larger CBOR structure (ISO 18013-5 IssuerAuth); ``alg`` (label 1) is set in the protected header from the key."""
    alg = algorithm_for_key(key)
    headers = dict(protected or {})
    if headers.setdefault(HEADER_ALG, alg) != alg:
        raise CoseError("protected alg does not fit the signing key")
    protected_bytes = encode_protected(headers)
    to_sign = _sig_structure(protected_bytes, external_aad, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(to_sign)
    else:
        _, hash_type = _ECDSA[alg]
        r, s = decode_dss_signature(key.sign(to_sign, ec.ECDSA(hash_type())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")  # RFC 9053 §2.1: r || s, each fixed length
    return [protected_bytes, dict(unprotected or {}), payload, signature]


def parse_sign1(data: bytes | Any, *, require_tag: bool = True) -> Sign1:
    """Decode a COSE_Sign1 (bytes, or an already decoded CBOR item) without verifying it (to pick the key)."""
    try:
        item = cbor2.loads(data) if isinstance(data, bytes | bytearray) else data
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise CoseError("COSE_Sign1 is not CBOR") from exc
    if isinstance(item, cbor2.CBORTag):
        if item.tag != TAG_SIGN1:
            raise CoseError("COSE message is not tagged COSE_Sign1 (18)")
        item = item.value
    elif require_tag:
        raise CoseError("COSE message is not tagged COSE_Sign1 (18)")
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise CoseError("COSE_Sign1 is not an array of four")
    protected_bytes, unprotected, payload, signature = item
    # cbor2 6 decodes the contents of a tag as immutable values (tuple, frozendict): read any Mapping
    if not isinstance(protected_bytes, bytes) or not isinstance(unprotected, Mapping):
        raise CoseError("COSE_Sign1 headers are malformed")
    unprotected = dict(unprotected)
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise CoseError("COSE_Sign1 payload must be attached and the signature a bstr")
    try:
        protected = cbor2.loads(protected_bytes) if protected_bytes else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise CoseError("COSE protected header is not CBOR") from exc
    if not isinstance(protected, Mapping):
        raise CoseError("COSE protected header is not a map")
    protected = dict(protected)
    if set(protected) & set(unprotected):  # RFC 9052 §3: a label MUST NOT occur in both buckets
        raise CoseError("a COSE header label occurs in both buckets")
    return Sign1(protected_bytes, protected, unprotected, payload, signature)


def verify_sign1(
    data: bytes | Any, public_key: VerifyingKey, *, external_aad: bytes = b"", require_tag: bool = True
) -> Sign1:
    """Verify a COSE_Sign1 with ``public_key`` (RFC 9052 §4.4); the algorithm must be the key's own."""
    message = parse_sign1(data, require_tag=require_tag)
    alg = message.protected.get(HEADER_ALG)
    if alg != algorithm_for_key(public_key):  # the alg is protected and fixed by the key: no algorithm confusion
        raise CoseError("COSE alg does not fit the verification key")
    to_verify = _sig_structure(message.protected_bytes, external_aad, message.payload)
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(message.signature, to_verify)
        else:
            size = (public_key.curve.key_size + 7) // 8
            if len(message.signature) != 2 * size:
                raise CoseError("ECDSA signature has the wrong length")
            r = int.from_bytes(message.signature[:size], "big")
            s = int.from_bytes(message.signature[size:], "big")
            public_key.verify(encode_dss_signature(r, s), to_verify, ec.ECDSA(_ECDSA[alg][1]()))
    except InvalidSignature as exc:
        raise CoseError("COSE signature does not verify") from exc
    return message


def cose_key(public_key: VerifyingKey) -> dict[int, Any]:
    """The public ``key`` as a COSE_Key map: EC2 {1: 2, -1: crv, -2: x, -3: y} or OKP {1: 1, -1: 6, -2: x}."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return {1: KTY_OKP, -1: CRV_ED25519, -2: public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        curve_id = _EC2_CURVES.get(type(public_key.curve))
        if curve_id is None:
            raise CoseError("curve is not supported for COSE_Key")
        size = (public_key.curve.key_size + 7) // 8
        numbers = public_key.public_numbers()
        # RFC 9053 §7.1.1: x and y are bstrs of the field size, leading zeros kept
        return {1: KTY_EC2, -1: curve_id, -2: numbers.x.to_bytes(size, "big"), -3: numbers.y.to_bytes(size, "big")}
    raise CoseError("key type is not supported for COSE_Key")


def public_key_from_cose_key(key: Mapping[Any, Any]) -> VerifyingKey:
    """Import a public COSE_Key (EC2 P-256/384/521 with y as bstr, or OKP Ed25519); private members are refused."""
    if not isinstance(key, Mapping):
        raise CoseError("COSE_Key is not a map")
    if -4 in key:  # the private-key parameter d of EC2/OKP (RFC 9053 §7.1.1, §7.2)
        raise CoseError("a private COSE_Key was given where a public key is expected")
    kty, crv, x = key.get(1), key.get(-1), key.get(-2)
    try:
        if kty == KTY_OKP and crv == CRV_ED25519 and isinstance(x, bytes):
            return ed25519.Ed25519PublicKey.from_public_bytes(x)
        if kty == KTY_EC2 and crv in _CURVE_BY_ID and isinstance(x, bytes) and isinstance(key.get(-3), bytes):
            curve = _CURVE_BY_ID[crv]()
            size = (curve.key_size + 7) // 8
            y = key[-3]
            if len(x) != size or len(y) != size:
                raise CoseError("COSE_Key coordinates have the wrong length")
            return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve).public_key()
    except CoseError:
        raise
    except ValueError as exc:  # not a point on the curve
        raise CoseError("COSE_Key is not a valid public key") from exc
    raise CoseError("COSE_Key type or curve is not supported")
