"""OpenID Connect Core 1.0 helpers: ``at_hash``/``c_hash``, pairwise subjects and the ``claims`` parameter.

* :func:`token_hash`: OIDC Core §3.1.3.6 (``at_hash``) and §3.3.2.11 (``c_hash``); for ``EdDSA`` (Ed25519) the
  hash is SHA-512, as the OpenID Connect Core errata set 2 specifies.
* :func:`pairwise_subject`: OIDC Core §8.1, a keyed hash of sector identifier and local account id.
* :func:`parse_claims_request`: OIDC Core §5.5 and §5.5.1, with ``purpose`` from OpenID Connect for Identity
  Assurance 1.0 §6.1 (OIDC4IDA).
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from app.formats.errors import FormatError
from app.formats.jose import b64url_encode

#: JWS algorithm -> the hash its left half is taken of (OIDC Core §3.1.3.6: "the hash algorithm used in the alg").
TOKEN_HASH_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    **dict.fromkeys(("RS256", "PS256", "ES256", "HS256"), hashlib.sha256),
    **dict.fromkeys(("RS384", "PS384", "ES384", "HS384"), hashlib.sha384),
    **dict.fromkeys(("RS512", "PS512", "ES512", "HS512"), hashlib.sha512),
    "EdDSA": hashlib.sha512,  # OIDC Core errata 2 §3.1.3.6: Ed25519 uses SHA-512
}
MAX_CLAIMS_REQUEST_BYTES = 8192
MAX_REQUESTED_CLAIMS = 100
MIN_PAIRWISE_KEY_LENGTH = 16
PURPOSE_LENGTH = (3, 300)  # OIDC4IDA §6.1: purpose is 3 to 300 characters
CLAIMS_TARGETS = ("userinfo", "id_token")


def token_hash(value: str, alg: str) -> str:
    """``at_hash``/``c_hash`` of ``value`` for an ID Token signed with ``alg``: base64url of the hash's left half."""
    hash_function = TOKEN_HASH_ALGORITHMS.get(alg)
    if hash_function is None:  # "none" and unknown algorithms have no defined hash
        raise FormatError("no token hash is defined for this algorithm")
    try:
        data = value.encode("ascii")  # OIDC Core §3.1.3.6: the octets of the ASCII representation
    except (UnicodeEncodeError, AttributeError) as exc:
        raise FormatError("token value is not ASCII text") from exc
    digest = hash_function(data).digest()
    return b64url_encode(digest[: len(digest) // 2])  # OIDC Core §3.1.3.6: the left-most half, base64url


def pairwise_subject(key: bytes, sector: str, local_id: str) -> str:
    """OIDC Core §8.1 pairwise ``sub``: base64url(HMAC-SHA256(key, sector || NUL || local_id)).

    Stable for one (sector, account), unlinkable across sectors without ``key``. ``sector`` is used as given:
    the caller derives it (host of the single redirect URI or of ``sector_identifier_uri``, §8.1).
    """
    if not isinstance(key, bytes) or len(key) < MIN_PAIRWISE_KEY_LENGTH:
        raise ValueError(f"pairwise subject key must be at least {MIN_PAIRWISE_KEY_LENGTH} bytes")
    if not isinstance(sector, str) or not sector or "\x00" in sector:  # the NUL separator keeps inputs unambiguous
        raise FormatError("sector identifier is empty or malformed")
    if not isinstance(local_id, str) or not local_id:
        raise FormatError("local subject identifier is empty")
    message = f"{sector}\x00{local_id}".encode()
    return b64url_encode(hmac.new(key, message, hashlib.sha256).digest())


def parse_claims_request(text: str | None) -> dict[str, dict[str, dict[str, Any] | None]]:
    """Parse the ``claims`` request parameter (OIDC Core §5.5) into ``{"userinfo"|"id_token": {claim: spec}}``.

    ``spec`` is ``None`` (default request) or an object whose ``essential``, ``values`` and ``purpose`` members are
    type-checked; other top-level and per-claim members are passed by, as §5.5 and §5.5.1 require they be ignored.
    """
    if text is None or text == "":
        return {}
    if not isinstance(text, str):
        raise FormatError("claims parameter is not a string")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise FormatError("claims parameter is not UTF-8 text") from exc
    if size > MAX_CLAIMS_REQUEST_BYTES:
        raise FormatError("claims parameter is too long")
    try:
        value = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant)
    except FormatError:
        raise
    except (ValueError, RecursionError) as exc:
        raise FormatError("claims parameter is not valid JSON") from exc
    if not isinstance(value, dict):  # OIDC Core §5.5: "a JSON object"
        raise FormatError("claims parameter is not a JSON object")
    result: dict[str, dict[str, dict[str, Any] | None]] = {}
    count = 0
    for target in CLAIMS_TARGETS:  # OIDC Core §5.5: other members not understood MUST be ignored
        if target not in value:
            continue
        requested = value[target]
        if not isinstance(requested, dict):
            raise FormatError(f"claims {target} member is not a JSON object")
        for name, spec in requested.items():
            _check_claim_spec(target, name, spec)
        count += len(requested)
        if count > MAX_REQUESTED_CLAIMS:
            raise FormatError("claims parameter requests too many claims")
        result[target] = requested
    return result


def is_essential(spec: dict[str, Any] | None) -> bool:
    """Whether a claim request is ``{"essential": true}`` (OIDC Core §5.5.1); ``null`` means voluntary."""
    return isinstance(spec, dict) and spec.get("essential") is True


def _check_claim_spec(target: str, name: str, spec: Any) -> None:
    if not name:
        raise FormatError(f"claims {target} has an empty claim name")
    if spec is None:  # OIDC Core §5.5.1: null requests the claim in the default manner
        return
    if not isinstance(spec, dict):
        raise FormatError(f"claims {target} request for a claim is neither null nor an object")
    if "essential" in spec and not isinstance(spec["essential"], bool):  # OIDC Core §5.5.1: essential is a boolean
        raise FormatError(f"claims {target} essential member is not a boolean")
    if "values" in spec and not isinstance(spec["values"], list):  # OIDC Core §5.5.1: values is an array
        raise FormatError(f"claims {target} values member is not an array")
    if "purpose" in spec:
        purpose = spec["purpose"]
        low, high = PURPOSE_LENGTH
        if not isinstance(purpose, str) or not low <= len(purpose) <= high:  # OIDC4IDA §6.1: MUST return an error
            raise FormatError(f"claims {target} purpose must be a string of {low} to {high} characters")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """RFC 8259 §4 / RFC 7493 §2.3: refuse duplicate member names instead of silently keeping the last."""
    result: dict[str, Any] = {}
    for name, item in pairs:
        if name in result:
            raise FormatError("claims parameter has a duplicate member name")
        result[name] = item
    return result


def _refuse_constant(name: str) -> Any:
    raise FormatError(f"claims parameter contains the non-JSON constant {name}")
