"""OSIA v7 ``integrity`` blocks: scope selection, RFC 8785 hashes and detached JWS signatures.

OSIA 7.1 "Security & Privacy" (``03_-_security.rst``, "Solution") and the ``Integrity`` schema (osia-notes.md §4.6):
build a JSON holding only the nodes named by ``scope`` (whitespace-separated JSON paths, RFC 9535), canonicalise it
with RFC 8785, hash it with ``alg``; ``signature`` is a compact JWS, "in detached mode if possible" (RFC 7515
Appendix F). The JWS payload is the canonical JSON of the selection.

Scope subset read here: ``$`` (the whole document except its own top-level ``integrity`` and ``encryption``) and
dotted member names ``$.a`` / ``$.a.b``. OSIA's own example writes member paths without the ``$.`` prefix
(``image biometricType biometricSubType``; ``biographicData.firstName``): those are read as relative to the
document, the same as ``$.image``. Wildcards, indexes and filters (``parts[*].pages``) are refused for now.

Hash encoding: the ``Integrity.hash`` schema does not fix one; OSIA's worked example shows lower-case hex
(``7a0f87b0…``, which is SHA-256 over its canonical JSON), so :func:`scope_digest` writes hex by default and
:func:`verify_block` reads hex, base64url or base64.
"""

import base64
import binascii
import copy
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any, Literal

from jwcrypto import jwk
from jwcrypto import jws as jose_jws
from jwcrypto.common import JWException, json_encode

from app.formats.canonical import canonical_json
from app.formats.errors import FormatError
from app.formats.jose import decode_header_segment

#: OSIA ``Integrity.alg`` values ("SHA256, SHA384, SHA512") and their hyphenated spellings -> hashlib names.
HASH_ALGORITHMS: dict[str, str] = {
    "SHA256": "sha256",
    "SHA-256": "sha256",
    "SHA384": "sha384",
    "SHA-384": "sha384",
    "SHA512": "sha512",
    "SHA-512": "sha512",
}
#: Top-level members that ``$`` leaves out: the blocks that describe the document are not part of it.
_SELF_MEMBERS = ("integrity", "encryption")
# RFC 9535 §2.5.1.1 member-name-shorthand: name-first = ALPHA / "_" / non-ASCII; name-char adds DIGIT.
_NAME = r"[A-Za-z_\u0080-\U0010FFFF][A-Za-z0-9_\u0080-\U0010FFFF]*"
_PATH = re.compile(rf"(?:\$|\$\.{_NAME}(?:\.{_NAME})*|{_NAME}(?:\.{_NAME})*)")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_B64 = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def _parse_scope(scope: str) -> list[tuple[str, ...]]:
    """``"$.a.b c"`` -> ``[("a", "b"), ("c",)]``; ``$`` is the empty tuple."""
    if not isinstance(scope, str) or not scope.split():
        raise FormatError("integrity scope is empty")
    paths: list[tuple[str, ...]] = []
    for expression in scope.split():
        if not _PATH.fullmatch(expression):
            raise FormatError("integrity scope uses JSONPath syntax that is not supported")
        if expression == "$":
            paths.append(())
        else:
            paths.append(tuple(expression.removeprefix("$.").split(".")))
    return paths


def select_scope(document: dict[str, Any], scope: str) -> dict[str, Any]:
    """A JSON object holding only the nodes of ``document`` that ``scope`` selects, each at its own path.

    Raises FormatError for unsupported path syntax or a path that selects nothing.
    """
    if not isinstance(document, dict):
        raise FormatError("integrity document is not a JSON object")
    paths = sorted(set(_parse_scope(scope)), key=len)  # shorter first: a selected node covers its descendants
    nodes = [(path, _resolve(document, path)) for path in paths]  # every path must exist, even a covered one
    selected: dict[str, Any] = {}
    taken: list[tuple[str, ...]] = []
    for path, node in nodes:
        if any(_covers(prefix, path) for prefix in taken):
            continue
        taken.append(path)
        if not path:
            selected.update(node)
            continue
        target = selected
        for name in path[:-1]:
            target = target.setdefault(name, {})
        target[path[-1]] = node
    return copy.deepcopy(selected)  # the caller may change the selection without changing the document


def _resolve(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    if not path:
        return {name: value for name, value in document.items() if name not in _SELF_MEMBERS}
    node: Any = document
    for name in path:
        if not isinstance(node, dict) or name not in node:
            raise FormatError("integrity scope selects a node that is not in the document")
        node = node[name]
    return node


def _covers(prefix: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """True when the node at ``prefix`` already holds ``path`` (``$`` holds all but the top-level blocks)."""
    if not prefix:
        return not path or path[0] not in _SELF_MEMBERS
    return path[: len(prefix)] == prefix


def _hash_name(alg: str) -> str:
    name = HASH_ALGORITHMS.get(alg.upper()) if isinstance(alg, str) else None
    if name is None:
        raise FormatError("integrity hash algorithm is not supported")
    return name


def _scope_hash(document: dict[str, Any], scope: str, alg: str) -> bytes:
    return hashlib.new(_hash_name(alg), canonical_json(select_scope(document, scope))).digest()


def scope_digest(document: dict[str, Any], scope: str, alg: str, *, encoding: Literal["hex", "base64url"] = "hex") -> str:
    """The OSIA ``Integrity.hash`` of ``scope`` in ``document``: ``alg`` over the RFC 8785 canonical JSON of the
    selection, as lower-case hex (OSIA's example) or base64url without padding.
    """
    digest = _scope_hash(document, scope, alg)
    if encoding == "hex":
        return digest.hex()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    raise FormatError("integrity hash encoding is not supported")


def _decode_hash(value: Any, size: int) -> bytes:
    """Read a received ``hash`` as hex (2 x size characters) or as base64url/base64 of ``size`` bytes."""
    if not isinstance(value, str):
        raise FormatError("integrity hash is not a string")
    if len(value) == 2 * size and _HEX.fullmatch(value):
        return bytes.fromhex(value)
    if _B64.fullmatch(value):
        text = value.rstrip("=").replace("+", "-").replace("/", "_")
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as exc:
            raise FormatError("integrity hash is neither hex nor base64") from exc
        if len(decoded) == size:
            return decoded
    raise FormatError("integrity hash is neither hex nor base64 of the right length")


def sign_detached(payload: bytes, key: jwk.JWK, alg: str) -> str:
    """A compact JWS over ``payload`` with the payload part left empty (RFC 7515 Appendix F): ``header..sig``."""
    if alg == "none":  # RFC 8725 §3.2: never produce unsecured JWS
        raise FormatError("signature algorithm 'none' is not allowed")
    header: dict[str, Any] = {"alg": alg}
    kid = key.get("kid")
    if kid:
        header["kid"] = kid
    try:
        token = jose_jws.JWS(payload)
        token.add_signature(key, alg=alg, protected=json_encode(header))
        protected, _, signature = token.serialize(compact=True).split(".")
    except (JWException, ValueError, TypeError) as exc:
        raise FormatError("payload cannot be signed with this key and algorithm") from exc
    return f"{protected}..{signature}"


def _detached_header(token: str) -> dict[str, Any]:
    if not isinstance(token, str):
        raise FormatError("signature is not a compact JWS")
    parts = token.split(".")
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(part) for part in parts) or not parts[0] or not parts[2]:
        raise FormatError("signature is not a compact JWS")
    if parts[1]:  # RFC 7515 Appendix F: the payload part of a detached JWS is empty
        raise FormatError("signature is not a detached JWS")
    return decode_header_segment(parts[0], "signature")


def verify_detached(jws: str, payload: bytes, keys: list[jwk.JWK], algorithms: Iterable[str]) -> dict[str, Any]:
    """Verify a detached compact JWS over ``payload`` with any of ``keys``; return its protected header.

    Accepts the RFC 7515 Appendix F form (payload base64url in the signing input) and the RFC 7797 form
    (``b64: false`` listed in ``crit``, as PyJWT's ``is_payload_detached`` produces).
    """
    header = _detached_header(jws)
    alg = header.get("alg")
    if alg == "none" or alg not in set(algorithms):  # RFC 8725 §3.1: only algorithms we chose; never "none"
        raise FormatError("signature algorithm is not accepted")
    crit = header.get("crit")
    if crit is not None:
        # RFC 7515 §4.1.11: recipients MUST reject a JWS whose "crit" names an extension they do not process
        if not isinstance(crit, list) or not crit or any(name != "b64" for name in crit):
            raise FormatError("signature has critical header parameters that are not supported")
    if "b64" in header:
        if not isinstance(header["b64"], bool):
            raise FormatError("signature b64 header is not a boolean")
        if header["b64"] is False and not (isinstance(crit, list) and "b64" in crit):
            raise FormatError("signature b64 header must be listed in crit")  # RFC 7797 §6: MUST be in "crit"
    if not isinstance(payload, bytes | bytearray):
        raise FormatError("signed payload must be bytes")
    for key in keys:
        try:
            obj = jose_jws.JWS()
            obj.allowed_algs = [alg]
            obj.deserialize(jws)
            obj.verify(key, alg=alg, detached_payload=bytes(payload))
        except (JWException, ValueError, TypeError, KeyError):
            continue
        return header
    raise FormatError("signature does not verify with any accepted key")


def verify_block(document: dict[str, Any], block: dict[str, Any], keys: list[jwk.JWK], algorithms: Iterable[str]) -> None:
    """Check one OSIA ``Integrity`` object against ``document`` (the object that holds it).

    Recomputes the hash of ``scope`` and compares it in constant time with ``hash``; for ``type: JWS`` also verifies
    ``signature`` as a detached JWS over the canonical JSON of the selection. ``type: NONE`` checks only the hash.
    """
    if not isinstance(block, dict):
        raise FormatError("integrity block is not a JSON object")
    kind = block.get("type", "NONE")  # Integrity.type default: NONE
    if kind not in {"NONE", "JWS"}:
        raise FormatError("integrity type is not supported")  # PKCS7 (RFC 5652) is not implemented
    if block.get("followRef", False) is not False:
        raise FormatError("integrity followRef is not supported")
    if block.get("encrypted", False) is not False:
        raise FormatError("integrity over encrypted data is not supported")
    if "signatureRef" in block:
        raise FormatError("integrity signatureRef is not supported")
    scope, alg = block.get("scope"), block.get("alg")
    if not isinstance(scope, str) or not isinstance(alg, str) or "hash" not in block:
        raise FormatError("integrity block needs scope, alg and hash")  # Integrity required: scope, alg, hash
    name = _hash_name(alg)
    selected = canonical_json(select_scope(document, scope))
    actual = hashlib.new(name, selected).digest()
    expected = _decode_hash(block["hash"], len(actual))
    if not hmac.compare_digest(actual, expected):
        raise FormatError("integrity hash does not match the data")
    if kind == "JWS":
        signature = block.get("signature")
        if not isinstance(signature, str) or not signature:
            raise FormatError("integrity block of type JWS has no signature")
        verify_detached(signature, selected, keys, algorithms)
