"""SD-JWT-based Verifiable Digital Credentials (draft-ietf-oauth-sd-jwt-vc-18) on top of :mod:`app.formats.sd_jwt`.

Issuance: header ``typ: dc+sd-jwt`` (§2.2.1) with ``alg``, ``kid`` and optionally ``x5c`` (§2.5 inline X.509 key
discovery); payload ``iss``, ``iat``, ``exp`` (and ``nbf``), ``vct``, ``cnf.jwk`` (the holder key, RFC 7800 §3.2)
and ``status.status_list`` (Token Status List §6.2), none of them disclosable (§2.2.2.3). Plus the JWT VC Issuer
Metadata document (§3) and its well-known URL, and the verifier-side check (§2.4).
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jwcrypto import jwk

from app.formats.errors import CredentialError, FormatError, SdJwtError
from app.formats.jose import PublicJwk
from app.formats.jwk import PRIVATE_MEMBERS
from app.formats.sd_jwt import DEFAULT_DECOYS, IssuedSdJwt, ParsedSdJwt, issue_sd_jwt, verify_sd_jwt
from app.formats.status_list import checked_reference

TYP = "dc+sd-jwt"  # §2.2.1: the typ value MUST be dc+sd-jwt
LEGACY_TYP = "vc+sd-jwt"  # §2.2.1: both should be accepted for a transitional period (verifier side only)
MEDIA_TYPE = "application/dc+sd-jwt"  # §2.1
#: §2.2.2.3: registered claims that MUST NOT be included in the Disclosures.
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"})
#: Claims set here from the arguments; a caller's ``claims`` may not carry them (``sub`` and ``iat`` may be given).
_SET_BY_ISSUER = NEVER_DISCLOSABLE | {"iat"}
WELL_KNOWN = "/.well-known/jwt-vc-issuer"  # §3


def holder_cnf(holder_key: jwk.JWK | PublicJwk | Mapping[str, Any]) -> dict[str, Any]:
    """``cnf`` with the holder's public JWK (RFC 7800 §3.2); a private or symmetric key is refused."""
    if isinstance(holder_key, PublicJwk):  # imported and checked already (a wallet's proof key)
        return {"jwk": dict(holder_key.members)}
    data = holder_key.export_public(as_dict=True) if isinstance(holder_key, jwk.JWK) else dict(holder_key)
    if PRIVATE_MEMBERS & data.keys() or data.get("kty") not in {"EC", "OKP", "RSA"}:
        raise CredentialError("holder key must be a public EC, OKP or RSA JWK")
    try:
        # a JWK object already holds its key (jwcrypto caches it): no second import of what it exported
        (holder_key if isinstance(holder_key, jwk.JWK) else jwk.JWK(**data)).get_op_key("verify")
    except Exception as exc:  # jwcrypto raises several types for a bad key
        raise CredentialError("holder key does not import") from exc
    return {"jwk": data}


def issue_sd_jwt_vc(
    *,
    issuer: str,
    vct: str,
    claims: Mapping[str, Any],
    holder_key: jwk.JWK | PublicJwk | Mapping[str, Any] | None,
    key: jwk.JWK,
    alg: str,
    iat: int,
    exp: int,
    nbf: int | None = None,
    status: Mapping[str, Any] | None = None,
    disclosable: Iterable[Sequence[str | int | None]] = (),
    x5c: Sequence[str] | None = None,
    vct_integrity: str | None = None,
    aka_vcts: Sequence[str] | None = None,
    decoys: tuple[int, int] = DEFAULT_DECOYS,
) -> IssuedSdJwt:
    """Issue an SD-JWT VC; ``disclosable`` are claim paths into ``claims`` (see :mod:`app.formats.sd_jwt`).

    ``status`` is the ``{"status_list": {"idx", "uri"}}`` map from :func:`app.formats.status_list.status_reference`.
    ``holder_key`` None issues without key binding (§2.2.2.3: cnf is then optional).
    """
    taken = _SET_BY_ISSUER & claims.keys()
    if taken:
        raise CredentialError(f"claims may not set {sorted(taken)}: they come from the issuance arguments")
    if not isinstance(vct, str) or not vct:  # §2.2.2.1: vct REQUIRED, a case-sensitive string
        raise CredentialError("vct must be a non-empty string")
    if not isinstance(issuer, str) or not issuer:
        raise CredentialError("issuer must be a non-empty string")
    for name, value in (("iat", iat), ("exp", exp), ("nbf", nbf)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise CredentialError(f"{name} must be an integer NumericDate")
    if exp <= iat or (nbf is not None and nbf >= exp):
        raise CredentialError("exp must come after iat and nbf")
    if aka_vcts is not None and (not aka_vcts or vct in aka_vcts):  # §2.2.2.2: non-empty, MUST NOT contain vct
        raise CredentialError("aka_vcts must be non-empty and must not contain vct")
    payload: dict[str, Any] = {"iss": issuer, "iat": iat, "exp": exp, "vct": vct}
    if nbf is not None:
        payload["nbf"] = nbf
    if vct_integrity is not None:
        payload["vct#integrity"] = vct_integrity
    if aka_vcts is not None:
        payload["aka_vcts"] = list(aka_vcts)
    if holder_key is not None:
        payload["cnf"] = holder_cnf(holder_key)
    if status is not None:
        payload["status"] = checked_reference(status)
    payload.update(claims)
    extra = {"x5c": list(x5c)} if x5c else None  # §2.5: inline X.509 certificates (RFC 7515 §4.1.6)
    try:
        # §2.2.2.3: these claims MUST NOT be included in the Disclosures: apply_disclosures refuses them
        return issue_sd_jwt(
            payload,
            key,
            alg,
            disclosable=disclosable,
            never_disclosable=NEVER_DISCLOSABLE,
            typ=TYP,
            extra_header=extra,
            decoys=decoys,
        )
    except SdJwtError:
        raise
    except FormatError as exc:
        raise CredentialError(str(exc)) from exc


def verify_sd_jwt_vc(
    serialised: str, keys: Mapping[str, jwk.JWK], *, algorithms: Iterable[str], now: int
) -> tuple[dict[str, Any], dict[str, Any], ParsedSdJwt]:
    """§2.4: verify as an SD-JWT (RFC 9901 §7.1) with the ``typ`` of this draft, time claims and ``vct`` checked."""
    header, claims, parsed = verify_sd_jwt(serialised, keys, algorithms=algorithms, now=now)
    if str(header.get("typ", "")).lower() not in {TYP, LEGACY_TYP, MEDIA_TYPE}:
        raise SdJwtError("SD-JWT VC typ must be dc+sd-jwt")
    if not isinstance(claims.get("vct"), str):  # §2.2.2.1: vct REQUIRED
        raise SdJwtError("SD-JWT VC has no vct")
    return header, claims, parsed


def issuer_metadata_url(iss: str) -> str:
    """§3: insert ``/.well-known/jwt-vc-issuer`` between the host and the path of ``iss`` (its trailing / removed)."""
    parts = urlsplit(iss)
    # §3: iss MUST be an https URL with scheme and host, and no query or fragment
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise CredentialError("iss must be an https URL without query or fragment")
    return urlunsplit(("https", parts.netloc, WELL_KNOWN + parts.path.rstrip("/"), "", ""))


def issuer_metadata(issuer: str, keys: Iterable[jwk.JWK]) -> dict[str, Any]:
    """The JWT VC Issuer Metadata document (§3.2): ``issuer`` and ``jwks`` by value (never ``jwks_uri`` as well)."""
    issuer_metadata_url(issuer)  # the same URL rules
    public = []
    for key in keys:
        data = key.export_public(as_dict=True)
        if not data.get("kid"):  # §3.2: a kid is RECOMMENDED so the JWT's header can name its key
            raise CredentialError("every issuer key needs a kid")
        public.append(data)
    if not public:
        raise CredentialError("issuer metadata needs at least one key")
    return {"issuer": issuer, "jwks": {"keys": public}}
