"""Relying-party metadata beyond GovStack's client fields, and the policy the OP derives from it.

GovStack's client schema has no room for the choices an OpenID Provider must know (OIDC Dynamic
Client Registration §2 names them): ID token and userinfo algorithms, an encryption key, the
subject type, the token-endpoint authentication method, post-logout redirect URIs. Client
management accepts them under their standard names, at the top level of the request or inside
eSignet's ``additionalConfig`` (which also carries eSignet's own switches: PAR required, DPoP-bound
tokens, PKCE required, consent lifetime, userinfo response type). Strict by default: PKCE is
required unless a client is explicitly registered without it.
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jwcrypto import jwk
from jwcrypto.common import base64url_decode

from app.errors import InvalidAdditionalConfig, InvalidRequest
from app.extensions import state
from app.formats import FormatError
from app.formats.json_text import CONTROL_CHARACTERS
from app.formats.jwk import check_rsa_members
from app.models.clients import Client
from app.services.oidc.catalog import ENCRYPTION_ALGS, ENCRYPTION_ENCS, ID_TOKEN_SIGNING_ALGS, RP_TOKEN_AUTH_METHODS

_BOOL_KEYS = ("require_pushed_authorization_requests", "dpop_bound_access_tokens", "require_pkce")
_KNOWN = frozenset(
    {
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "id_token_encrypted_response_alg",
        "id_token_encrypted_response_enc",
        "userinfo_encrypted_response_alg",
        "userinfo_encrypted_response_enc",
        "jwks",
        "subject_type",
        "token_endpoint_auth_method",
        "post_logout_redirect_uris",
        "userinfo_response_type",
        "consent_expire_in_mins",
        *_BOOL_KEYS,
    }
)
#: eSignet's additionalConfig members that are UI wording only: kept, not interpreted.
_PASSTHROUGH = frozenset({"purpose", "signup_banner_required", "forgot_pwd_link_required"})


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})


def strict_profile() -> bool:
    """The production profile: https only, no plain http but for loopback redirect URIs."""
    return state().settings.profile == "production"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def printable_text(value: Any, max_len: int) -> bool:
    """1..max_len characters, not blank, and no NUL or other control character (issue 14: they were stored
    as given; PostgreSQL refuses NUL in text, a 500 there)."""
    return (
        isinstance(value, str) and 0 < len(value.strip()) and len(value) <= max_len and not CONTROL_CHARACTERS.search(value)
    )


def valid_redirect_uri(value: Any) -> bool:
    """Absolute, no fragment (RFC 6749 §3.1.2), no wildcard (matching is exact), no script schemes;
    plain http only for loopback in the strict profile (RFC 8252 §7.3, RFC 9700 §2.6)."""
    if not printable_text(value, 1024) or value != value.strip() or "*" in value or "#" in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme) or scheme in _FORBIDDEN_SCHEMES:
        return False
    if scheme in {"http", "https"}:
        if not parts.hostname:
            return False
        if scheme == "http" and strict_profile() and not _is_loopback(parts.hostname):
            return False
        return True
    return bool(parts.path or parts.netloc)  # private-use scheme of a native app (RFC 8252 §7.1)


def _bad(message: str) -> InvalidRequest:
    return InvalidAdditionalConfig(message)


def _enc_key(value: Any) -> dict[str, Any]:
    """The one public encryption key of a ``jwks`` member (OIDC Registration §2 ``jwks``)."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise _bad("jwks must be a JWK Set.")
    candidates = [k for k in value["keys"] if isinstance(k, dict) and k.get("use", "enc") == "enc"]
    if len(candidates) != 1:
        raise _bad("jwks must hold exactly one encryption key (use: enc).")
    if candidates[0].get("kty") == "RSA":
        try:
            check_rsa_members(candidates[0])  # at most 8192 bits, odd modulus, valid exponent
        except FormatError as exc:
            raise _bad(f"jwks: {exc}.") from exc
    try:
        key = jwk.JWK(**candidates[0])
    except Exception as exc:  # jwcrypto raises several types for malformed keys
        raise _bad("jwks holds a malformed key.") from exc
    if key.has_private or key.get("kty") not in ("RSA", "EC"):
        raise _bad("The encryption key must be a public RSA or EC key.")
    if key.get("kty") == "RSA" and int.from_bytes(base64url_decode(key.get("n")), "big").bit_length() < 2048:
        raise _bad("RSA encryption keys must be at least 2048 bits.")
    if key.get("kty") == "EC" and key.get("crv") not in ("P-256", "P-384", "P-521"):
        raise _bad("EC encryption keys must be on a NIST curve.")
    return dict(key.export_public(as_dict=True))


def validate(request: dict[str, Any]) -> dict[str, Any]:
    """Normalised metadata from a create/update request; raises ``invalid_additional_config``."""
    merged: dict[str, Any] = {}
    additional = request.get("additionalConfig")
    if additional is not None and not isinstance(additional, dict):
        raise _bad("additionalConfig must be an object.")
    for source in (additional or {}, request):
        for key, value in source.items():
            if key in _KNOWN or (source is additional and key in _PASSTHROUGH):
                merged[key] = value
            elif source is additional:
                raise _bad(f"additionalConfig has an unknown member: {key[:40]}.")
    out: dict[str, Any] = {}
    for key in ("id_token_signed_response_alg", "userinfo_signed_response_alg"):
        if key in merged:
            if merged[key] not in ID_TOKEN_SIGNING_ALGS:
                raise _bad(f"{key} must be one of {', '.join(ID_TOKEN_SIGNING_ALGS)}.")
            out[key] = merged[key]
    if "jwks" in merged:
        out["enc_jwk"] = _enc_key(merged["jwks"])
    for prefix in ("id_token", "userinfo"):
        alg, enc = merged.get(f"{prefix}_encrypted_response_alg"), merged.get(f"{prefix}_encrypted_response_enc")
        if alg is None and enc is None:
            continue
        if alg not in ENCRYPTION_ALGS:
            raise _bad(f"{prefix}_encrypted_response_alg must be one of {', '.join(ENCRYPTION_ALGS)}.")
        if enc is None:
            enc = "A128CBC-HS256"  # OIDC Registration §2: the default when only alg is given
        if enc not in ENCRYPTION_ENCS:
            raise _bad(f"{prefix}_encrypted_response_enc must be one of {', '.join(ENCRYPTION_ENCS)}.")
        if "enc_jwk" not in out:
            raise _bad("Encrypted responses need a jwks member with the client's encryption key.")
        kty = out["enc_jwk"]["kty"]
        if (alg == "RSA-OAEP-256") != (kty == "RSA"):
            raise _bad(f"{alg} does not fit a {kty} key.")
        out[f"{prefix}_encrypted_response_alg"], out[f"{prefix}_encrypted_response_enc"] = alg, enc
    if "subject_type" in merged:
        if merged["subject_type"] not in ("pairwise", "public"):
            raise _bad("subject_type must be pairwise or public.")
        out["subject_type"] = merged["subject_type"]
    if "token_endpoint_auth_method" in merged:
        if merged["token_endpoint_auth_method"] not in RP_TOKEN_AUTH_METHODS:
            raise _bad(f"token_endpoint_auth_method must be one of {', '.join(RP_TOKEN_AUTH_METHODS)}.")
        out["token_endpoint_auth_method"] = merged["token_endpoint_auth_method"]
    if "post_logout_redirect_uris" in merged:
        uris = merged["post_logout_redirect_uris"]
        if not isinstance(uris, list) or not all(valid_redirect_uri(u) for u in uris) or len(uris) > 10:
            raise _bad("post_logout_redirect_uris must be a list of absolute URIs without fragment.")
        out["post_logout_redirect_uris"] = list(dict.fromkeys(uris))
    if "userinfo_response_type" in merged:
        if merged["userinfo_response_type"] not in ("JWS", "JWE", "JSON"):
            raise _bad("userinfo_response_type must be JWS, JWE or JSON.")
        if merged["userinfo_response_type"] == "JWE" and "enc_jwk" not in out:
            raise _bad("userinfo_response_type JWE needs a jwks member with the client's encryption key.")
        out["userinfo_response_type"] = merged["userinfo_response_type"]
    for key in _BOOL_KEYS:
        if key in merged:
            if not isinstance(merged[key], bool):
                raise _bad(f"{key} must be true or false.")
            out[key] = merged[key]
    if "consent_expire_in_mins" in merged:
        value = merged["consent_expire_in_mins"]
        if isinstance(value, bool) or not isinstance(value, int) or not 10 <= value <= 525600:
            raise _bad("consent_expire_in_mins must be a whole number of minutes, 10 to 525600.")
        out["consent_expire_in_mins"] = value
    out.update({k: merged[k] for k in _PASSTHROUGH if k in merged})
    return out


@dataclass(frozen=True)
class ClientPolicy:
    """How the OP treats one relying party, from its metadata and the server's settings."""

    require_pkce: bool
    require_par: bool
    dpop_bound: bool
    subject_type: str
    id_token_alg: str
    userinfo_alg: str
    userinfo_format: str  # "JWS", "JWE" or "JSON"
    userinfo_encryption: tuple[str, str] | None
    id_token_encryption: tuple[str, str] | None
    enc_jwk: dict[str, Any] | None
    consent_ttl: int | None
    post_logout_redirect_uris: tuple[str, ...]


def policy(client: Client) -> ClientPolicy:
    """The policy for ``client``: its registered metadata over the server's settings."""
    meta = client.client_metadata or {}
    enc_jwk = meta.get("enc_jwk")
    ui_enc = None
    if "userinfo_encrypted_response_alg" in meta:
        ui_enc = (meta["userinfo_encrypted_response_alg"], meta["userinfo_encrypted_response_enc"])
    elif meta.get("userinfo_response_type") == "JWE" and enc_jwk:
        ui_enc = ("RSA-OAEP-256" if enc_jwk["kty"] == "RSA" else "ECDH-ES", "A256GCM")
    fmt = "JWE" if ui_enc else meta.get("userinfo_response_type", "JWS")
    id_enc = None
    if "id_token_encrypted_response_alg" in meta:
        id_enc = (meta["id_token_encrypted_response_alg"], meta["id_token_encrypted_response_enc"])
    consent_minutes = meta.get("consent_expire_in_mins")
    return ClientPolicy(
        require_pkce=meta.get("require_pkce", True),
        require_par=state().settings.require_par or bool(meta.get("require_pushed_authorization_requests")),
        dpop_bound=bool(meta.get("dpop_bound_access_tokens")),
        subject_type=meta.get("subject_type", "pairwise"),
        id_token_alg=meta.get("id_token_signed_response_alg", "RS256"),
        userinfo_alg=meta.get("userinfo_signed_response_alg", "RS256"),
        userinfo_format=fmt,
        userinfo_encryption=ui_enc,
        id_token_encryption=id_enc,
        enc_jwk=enc_jwk,
        consent_ttl=consent_minutes * 60 if consent_minutes else None,
        post_logout_redirect_uris=tuple(meta.get("post_logout_redirect_uris", ())),
    )
