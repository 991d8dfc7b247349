"""Selective Disclosure for JWTs (RFC 9901): issuance of an SD-JWT in compact form, and its parsing and
processing on the verifier side (§7.1, §7.3).

Selectively disclosable claims are named by claim paths as OpenID4VCI 1.0 Appendix C (Claims Path Pointer)
and SD-JWT VC draft 18 §4.6.1 write them: a tuple of object member names and array indexes, ``None`` standing
for every element of an array, e.g. ``("address", "locality")`` or ``("nationalities", None)``. A claim inside a
disclosable object can be disclosable itself (recursive disclosures, §4.2.6). Keys come in as arguments
(jwcrypto JWKs).
"""

import hashlib
import json
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from jwcrypto import jwk

from app.formats.errors import DisclosureError, FormatError, SdJwtError
from app.formats.jose import b64url_encode, check_time_claims, decode_b64url, peek_claims, peek_header, sign_jwt, verify_jwt

SD_ALG = "sha-256"  # §4.1.1: the hash algorithm idbb uses (the default, registered in the IANA hash registry)
SD_KEY, SD_ALG_KEY, ARRAY_KEY = "_sd", "_sd_alg", "..."
#: §4.2.1, §4.2.2: names that are SD-JWT syntax and can never be claim names in a disclosure or payload.
RESERVED_NAMES = frozenset({SD_KEY, SD_ALG_KEY, ARRAY_KEY})
KB_TYP = "kb+jwt"  # §4.3: the KB-JWT typ header MUST be kb+jwt
SALT_BYTES = 16  # §4.2.1: the salt SHOULD have at least 128 bits of entropy
DEFAULT_DECOYS = (1, 4)

ClaimPath = tuple[str | int | None, ...]


@dataclass(frozen=True)
class Disclosure:
    """One disclosure: its base64url form (what is hashed and sent) and the decoded salt, name and value."""

    encoded: str
    salt: str
    name: str | None  # None for an array element (§4.2.2)
    value: Any

    @property
    def digest(self) -> str:
        return digest_of(self.encoded)


@dataclass(frozen=True)
class IssuedSdJwt:
    """An issued SD-JWT: the compact serialisation (``<jwt>~<d1>~...~``), its parts, and the payload as signed."""

    compact: str
    jwt: str
    disclosures: tuple[Disclosure, ...]
    payload: dict[str, Any]


@dataclass(frozen=True)
class ParsedSdJwt:
    """A compact SD-JWT or SD-JWT+KB split into its issuer-signed JWT, disclosures and optional KB-JWT (§4)."""

    jwt: str
    disclosures: tuple[Disclosure, ...]
    kb_jwt: str | None
    #: the bytes the KB-JWT's sd_hash covers: the SD-JWT up to and including the last ``~`` (§4.3.1)
    presented: str = field(repr=False)


def digest_of(encoded: str) -> str:
    """§4.2.3: base64url(SHA-256(ASCII bytes of the base64url disclosure))."""
    return b64url_encode(hashlib.sha256(encoded.encode("ascii")).digest())


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DisclosureError("claim value is not JSON") from exc


def make_disclosure(name: str | None, value: Any, *, salt: str | None = None) -> Disclosure:
    """A disclosure ``[salt, name, value]`` for an object member or ``[salt, value]`` for an array element (§4.2.1-2)."""
    if name is not None and (not isinstance(name, str) or name in RESERVED_NAMES):
        # §4.2.1: the claim name MUST NOT be _sd or ... (nor _sd_alg, which is payload syntax)
        raise DisclosureError(f"{name!r} cannot be a selectively disclosable claim name")
    # §4.2.1: the salt MUST be unpredictable, created with a CSPRNG, at least 128 bits recommended
    salt = salt if salt is not None else b64url_encode(secrets.token_bytes(SALT_BYTES))
    array = [salt, value] if name is None else [salt, name, value]
    encoded = b64url_encode(_json(array).encode("utf-8"))
    return Disclosure(encoded, salt, name, value)


def decoy_digest() -> str:
    """§4.2.5: a decoy digest, the hash of a random number, indistinguishable from a real one."""
    return b64url_encode(hashlib.sha256(secrets.token_bytes(32)).digest())


def _decoy_count(decoys: tuple[int, int]) -> int:
    low, high = decoys
    if not 0 <= low <= high:
        raise DisclosureError("decoy range must be 0 <= low <= high")
    return low + secrets.randbelow(high - low + 1)


def _normalise_paths(paths: Iterable[Sequence[str | int | None]]) -> set[ClaimPath]:
    normalised = set()
    for path in paths:
        if isinstance(path, str):
            path = (path,)
        path = tuple(path)
        if not path or not all(
            part is None or isinstance(part, str) or (isinstance(part, int) and not isinstance(part, bool) and part >= 0)
            for part in path
        ):
            raise DisclosureError(f"claim path {path!r} is not a path of names, indexes and None")
        normalised.add(path)
    return normalised


def apply_disclosures(
    claims: Mapping[str, Any],
    disclosable: Iterable[Sequence[str | int | None]],
    *,
    never_disclosable: Collection[str] = (),
    decoys: tuple[int, int] = DEFAULT_DECOYS,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Turn the claims at the ``disclosable`` paths into disclosures; return the payload and the disclosures.

    ``_sd`` arrays get decoys (a random count in ``decoys``, inclusive) and are sorted (§4.2.4.1: the order MUST NOT
    reveal the original order). ``_sd_alg`` is set when any digest is present. Top-level names in
    ``never_disclosable`` are refused as paths. A path that names no claim is refused. The payload is a new object
    down to every disclosable claim; a subtree holding none (``cnf``, ``status``) is checked and shared with
    ``claims``, not copied.
    """
    paths = _normalise_paths(disclosable)
    for path in paths:
        if isinstance(path[0], str) and path[0] in never_disclosable:
            raise DisclosureError(f"claim {path[0]!r} must not be selectively disclosable")
    if RESERVED_NAMES & claims.keys():
        raise DisclosureError("claims may not use the names _sd, _sd_alg or ...")
    disclosures: list[Disclosure] = []
    used: set[ClaimPath] = set()

    def step(candidates: list[ClaimPath], depth: int, got: str | int) -> tuple[list[ClaimPath], list[ClaimPath]]:
        # the patterns whose part at ``depth`` matches ``got``, None matching any array index (OpenID4VCI 1.0
        # Appendix C): those that end here name this node, the longer ones go on into its children. Narrowing the
        # candidates on the way down matches every node against the few patterns still alive under it, not
        # against every path again (what matching each node's full path did, ~24 times a credential)
        here: list[ClaimPath] = []
        deeper: list[ClaimPath] = []
        for pattern in candidates:
            want = pattern[depth]
            if want == got or (want is None and isinstance(got, int)):
                (here if len(pattern) == depth + 1 else deeper).append(pattern)
        used.update(here)
        return here, deeper

    def walk(value: Any, depth: int, candidates: list[ClaimPath]) -> Any:
        if not candidates and depth and plain(value):  # no disclosable claim below: checked, shared, not copied
            return value
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            digests: list[str] = []
            for name, child in value.items():
                if not isinstance(name, str):
                    raise DisclosureError("claim names must be strings")
                if name in RESERVED_NAMES:
                    raise DisclosureError("claims may not use the names _sd, _sd_alg or ...")
                here, deeper = step(candidates, depth, name) if candidates else ([], [])
                processed = walk(child, depth + 1, deeper)
                if here:
                    disclosure = make_disclosure(name, processed)
                    disclosures.append(disclosure)
                    digests.append(disclosure.digest)
                else:
                    out[name] = processed
            if digests:
                digests += [decoy_digest() for _ in range(_decoy_count(decoys))]
                out[SD_KEY] = sorted(digests)  # §4.2.4.1: sorted, so the order reveals nothing
            return out
        if isinstance(value, list | tuple):
            items: list[Any] = []
            for index, child in enumerate(value):
                here, deeper = step(candidates, depth, index) if candidates else ([], [])
                processed = walk(child, depth + 1, deeper)
                if here:
                    disclosure = make_disclosure(None, processed)
                    disclosures.append(disclosure)
                    items.append({ARRAY_KEY: disclosure.digest})  # §4.2.4.2
                else:
                    items.append(processed)
            return items
        return value

    def plain(value: Any) -> bool:
        # the names a payload reserves (§4.2.4.1-2) appear nowhere, however deep; False for a container that is
        # not a dict, list or tuple (another Mapping), which the copying walk turns into a dict as before
        if type(value) is dict:
            for name, child in value.items():
                if not isinstance(name, str):
                    raise DisclosureError("claim names must be strings")
                if name in RESERVED_NAMES:
                    raise DisclosureError("claims may not use the names _sd, _sd_alg or ...")
                if not plain(child):
                    return False
            return True
        if isinstance(value, list | tuple):
            return all(plain(child) for child in value)
        return not isinstance(value, Mapping)

    payload = walk(claims, 0, list(paths))
    missing = paths - used
    if missing:
        raise DisclosureError(f"claim paths name no claim: {sorted(map(repr, missing))}")
    if disclosures:
        payload[SD_ALG_KEY] = SD_ALG  # §4.1.1
    return payload, disclosures


def serialise(jwt: str, disclosures: Iterable[Disclosure | str], kb_jwt: str = "") -> str:
    """§4: ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~<optional KB-JWT>``."""
    parts = [jwt, *(d.encoded if isinstance(d, Disclosure) else d for d in disclosures)]
    return "~".join(parts) + "~" + kb_jwt


def issue_sd_jwt(
    claims: Mapping[str, Any],
    key: jwk.JWK,
    alg: str,
    *,
    disclosable: Iterable[Sequence[str | int | None]] = (),
    never_disclosable: Collection[str] = (),
    typ: str | None = None,
    extra_header: Mapping[str, Any] | None = None,
    decoys: tuple[int, int] = DEFAULT_DECOYS,
) -> IssuedSdJwt:
    """Sign an SD-JWT (§4, §5): the payload with ``_sd`` digests, then the compact serialisation with every disclosure."""
    payload, disclosures = apply_disclosures(claims, disclosable, never_disclosable=never_disclosable, decoys=decoys)
    token = sign_jwt(payload, key, alg, typ=typ, extra_header=extra_header)
    return IssuedSdJwt(serialise(token, disclosures), token, tuple(disclosures), payload)


def parse_disclosure(encoded: str) -> Disclosure:
    """Decode one disclosure: a base64url JSON array of 3 (object member) or 2 (array element) (§4.2.1, §4.2.2)."""
    raw = decode_b64url(encoded, "disclosure")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SdJwtError("disclosure is not JSON") from exc
    if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[0], str):
        raise SdJwtError("disclosure is not [salt, name, value] or [salt, value]")
    if len(value) == 3:
        if not isinstance(value[1], str) or value[1] in RESERVED_NAMES:  # §7.1 step 3.b.ii.3: reject _sd, ...
            raise SdJwtError("disclosure claim name is not allowed")
        return Disclosure(encoded, value[0], value[1], value[2])
    return Disclosure(encoded, value[0], None, value[1])


def parse_compact(serialised: str) -> ParsedSdJwt:
    """Split a compact SD-JWT or SD-JWT+KB (§4): it MUST end in ``~`` unless a KB-JWT follows."""
    if not isinstance(serialised, str) or "~" not in serialised:
        raise SdJwtError("not a compact SD-JWT")
    parts = serialised.split("~")
    jwt, *middle, last = parts
    presented = serialised[: len(serialised) - len(last)]
    disclosures = tuple(parse_disclosure(part) for part in middle)
    if any(not part for part in middle):
        raise SdJwtError("empty disclosure in SD-JWT")
    return ParsedSdJwt(jwt, disclosures, last or None, presented)


def process_payload(payload: Mapping[str, Any], disclosures: Iterable[Disclosure]) -> dict[str, Any]:
    """§7.1 step 3: replace digests by the disclosed claims, drop ``_sd``/``_sd_alg`` and undisclosed digests.

    Refused: an ``_sd_alg`` other than sha-256, a digest that occurs twice, a disclosure no digest points to or
    used twice, a disclosed name that already exists, a member disclosure in an array or an element one in an object.
    """
    alg = payload.get(SD_ALG_KEY, SD_ALG)
    if alg != SD_ALG:
        raise SdJwtError("unsupported _sd_alg")
    by_digest: dict[str, Disclosure] = {}
    for disclosure in disclosures:
        if disclosure.digest in by_digest:  # §7.1 step 4: no disclosure may be used twice
            raise SdJwtError("the same disclosure is sent twice")
        by_digest[disclosure.digest] = disclosure
    seen: set[str] = set()
    used: set[str] = set()

    def take(digest: Any) -> Disclosure | None:
        if not isinstance(digest, str):
            raise SdJwtError("digest is not a string")
        if digest in seen:  # §7.1 step 4: a digest MUST NOT appear more than once
            raise SdJwtError("a digest occurs twice in the SD-JWT")
        seen.add(digest)
        found = by_digest.get(digest)
        if found is not None:
            used.add(digest)
        return found

    def walk(value: Any, top: bool) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            digests = value.get(SD_KEY, [])
            if not isinstance(digests, list):
                raise SdJwtError("_sd is not an array")
            for name, child in value.items():
                if name == SD_KEY or (top and name == SD_ALG_KEY):
                    continue
                out[name] = walk(child, False)
            for digest in digests:
                disclosure = take(digest)
                if disclosure is None:
                    continue  # undisclosed or a decoy
                if disclosure.name is None:
                    raise SdJwtError("an array-element disclosure is referenced from an object")
                if disclosure.name in out:  # §7.1 step 3.b.ii.4: the claim name MUST NOT already exist
                    raise SdJwtError("a disclosed claim name already exists")
                out[disclosure.name] = walk(disclosure.value, False)
            return out
        if isinstance(value, list):
            items = []
            for item in value:
                if isinstance(item, dict) and ARRAY_KEY in item:
                    if len(item) != 1:
                        raise SdJwtError("an array digest object has other members")
                    disclosure = take(item[ARRAY_KEY])
                    if disclosure is None:
                        continue
                    if disclosure.name is not None:
                        raise SdJwtError("an object-member disclosure is referenced from an array")
                    items.append(walk(disclosure.value, False))
                else:
                    items.append(walk(item, False))
            return items
        return value

    processed = cast(dict[str, Any], walk(dict(payload), True))  # walk maps an object to an object
    if used != by_digest.keys():  # §7.1 step 5: every disclosure MUST be referenced by a digest
        raise SdJwtError("a disclosure is not referenced by the SD-JWT")
    return processed


def verify_sd_jwt(
    serialised: str,
    keys: Mapping[str, jwk.JWK],
    *,
    algorithms: Iterable[str],
    typ: str | None = None,
    now: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any], ParsedSdJwt]:
    """§7.1: verify the issuer-signed JWT, process the disclosures; return (header, processed claims, parsed).

    With ``now`` the ``exp``/``nbf``/``iat`` claims are checked (jose.check_time_claims). The KB-JWT, if any, is
    left to :func:`verify_key_binding`.
    """
    parsed = parse_compact(serialised)
    algorithms = [a for a in algorithms if a != "none"]  # §7.1 step 2.a: none MUST NOT be accepted
    header, payload = verify_jwt(parsed.jwt, keys, algorithms=algorithms, typ=typ)
    if now is not None:
        check_time_claims(payload, now)
    return header, process_payload(payload, parsed.disclosures), parsed


def verify_key_binding(
    parsed: ParsedSdJwt,
    holder_key: jwk.JWK,
    *,
    audience: str,
    nonce: str,
    now: int,
    max_age: int = 300,
    algorithms: Iterable[str] = ("ES256", "ES384", "ES512", "EdDSA"),
) -> dict[str, Any]:
    """§7.3: the KB-JWT is signed by the ``cnf`` key, typ kb+jwt, fresh iat, the expected aud and nonce, sd_hash."""
    if not parsed.kb_jwt:
        raise SdJwtError("presentation has no key-binding JWT")
    kid = str(peek_header(parsed.kb_jwt).get("kid"))
    try:
        _, claims = verify_jwt(parsed.kb_jwt, {kid: holder_key}, algorithms=algorithms, typ=KB_TYP)
    except FormatError as exc:
        raise SdJwtError(f"key-binding JWT: {exc}") from exc
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or not now - max_age <= iat <= now + 60:
        raise SdJwtError("key-binding JWT iat is not recent")  # §7.3 step 5.b: iat within an acceptable window
    if claims.get("aud") != audience or claims.get("nonce") != nonce:  # §7.3 step 5.c
        raise SdJwtError("key-binding JWT is for another audience or nonce")
    if claims.get("sd_hash") != digest_of(parsed.presented):  # §7.3 step 5.d
        raise SdJwtError("key-binding JWT sd_hash does not match the presentation")
    return claims


def unverified_payload(serialised: str) -> dict[str, Any]:
    """The issuer-signed JWT's payload of a compact SD-JWT, unverified (to find the issuer and key)."""
    return peek_claims(parse_compact(serialised).jwt)
