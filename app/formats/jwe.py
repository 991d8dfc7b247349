"""Whole-payload JWE (RFC 7516) in compact serialisation, with jwcrypto and pinned algorithm lists.

Used for OSIA ``encryption`` blocks of type JWE (osia-notes.md §4.6) and encrypted JOSE payloads. Only key
management and content encryption algorithms we chose are accepted: never ``RSA1_5`` (RFC 8725 §3.2, Bleichenbacher
padding oracle), ``dir`` or compression (``zip``: decompression bombs, RFC 8725 §3.6).

An empty plaintext is refused both ways: jwcrypto 1.6 cannot tell an empty plaintext from a failed decryption
(``JWE.decrypt`` tests ``if not self.plaintext``), and no payload idbb encrypts is empty.
"""

from collections.abc import Iterable
from typing import Any, cast

from jwcrypto import jwe, jwk
from jwcrypto.common import JWException, json_encode

from app.formats.errors import FormatError
from app.formats.jose import decode_header_segment

#: Default key management algorithms accepted when decrypting.
DECRYPT_ALGS = ("RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW")
#: Default content encryption algorithms accepted when decrypting.
DECRYPT_ENCS = ("A256GCM", "A128CBC-HS256")
#: Algorithms :func:`encrypt_compact` will produce (RFC 7518 §4, §5), never RSA1_5, dir or password-based ones.
ENCRYPT_ALGS = frozenset({"RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"})
ENCRYPT_ENCS = frozenset({"A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"})
_NEVER = frozenset({"RSA1_5", "dir", "none"})


def _compact_header(token: str) -> dict[str, Any]:
    if not isinstance(token, str):
        raise FormatError("token is not a compact JWE")
    parts = token.split(".")
    if len(parts) != 5:  # RFC 7516 §7.1: five base64url parts
        raise FormatError("token is not a compact JWE")
    return decode_header_segment(parts[0], "JWE")


def decrypt_compact(
    token: str,
    key: jwk.JWK,
    *,
    algs: Iterable[str] = DECRYPT_ALGS,
    encs: Iterable[str] = DECRYPT_ENCS,
) -> bytes:
    """Decrypt a compact JWE with ``key`` and return the plaintext; anything not allowed raises FormatError."""
    allowed_algs = [alg for alg in algs if alg not in _NEVER]
    allowed_encs = list(encs)
    header = _compact_header(token)
    if header.get("alg") not in allowed_algs:  # RFC 8725 §3.1: only the algorithms we chose
        raise FormatError("JWE key management algorithm is not accepted")
    if header.get("enc") not in allowed_encs:
        raise FormatError("JWE content encryption algorithm is not accepted")
    if "zip" in header:
        raise FormatError("compressed JWE is not accepted")
    if "crit" in header:  # RFC 7516 §4.1.13 (RFC 7515 §4.1.11): MUST reject unknown critical extensions
        raise FormatError("JWE has critical header parameters that are not supported")
    try:
        obj = jwe.JWE(algs=allowed_algs + allowed_encs)  # jwcrypto enforces the same allow-list again
        obj.deserialize(token, key=key)
        plaintext = obj.payload
    except (JWException, ValueError, TypeError, KeyError) as exc:
        raise FormatError("JWE does not decrypt with this key") from exc
    if not isinstance(plaintext, bytes):
        raise FormatError("JWE does not decrypt with this key")
    return plaintext


def encrypt_compact(plaintext: bytes, public_key: jwk.JWK, alg: str, enc: str, *, cty: str | None = None) -> str:
    """Encrypt ``plaintext`` to ``public_key`` as a compact JWE (its ``kid`` goes into the header).
    ``cty="JWT"`` marks a nested JWT (RFC 7519 §5.2, OIDC Core §16.14)."""
    if alg not in ENCRYPT_ALGS:
        raise FormatError("JWE key management algorithm is not supported")
    if enc not in ENCRYPT_ENCS:
        raise FormatError("JWE content encryption algorithm is not supported")
    if not isinstance(plaintext, bytes | bytearray) or not plaintext:
        raise FormatError("JWE plaintext must be non-empty bytes")
    header: dict[str, Any] = {"alg": alg, "enc": enc}
    kid = public_key.get("kid")
    if kid:
        header["kid"] = kid
    if cty:
        header["cty"] = cty
    try:
        obj = jwe.JWE(bytes(plaintext), protected=json_encode(header), algs=[alg, enc])
        obj.add_recipient(public_key)
        return cast(str, obj.serialize(compact=True))  # jwcrypto has no type hints
    except (JWException, ValueError, TypeError, KeyError) as exc:
        raise FormatError("plaintext cannot be encrypted to this key") from exc
