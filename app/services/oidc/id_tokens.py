"""ID tokens (OIDC Core §2, §3.1.3.6) and userinfo responses (§5.3), signed and optionally encrypted.

Subjects are pairwise by default (§8.1): HMAC of the relying party's sector (its GovStack
``relyingPartyId``) and the person, under a key derived from the KEK, so two relying parties
cannot link their users while one relying party sees a stable ``sub``. Claims come from the
registry record; localized values (``name#fr``, §5.2) are taken from biographic attributes
stored with a ``#<language>`` suffix.
"""

import json
from typing import Any

from jwcrypto import jwk

from app.clock import clock
from app.extensions import db, state
from app.formats.jose import sign_jwt
from app.formats.jwe import encrypt_compact
from app.formats.oidc import pairwise_subject, token_hash
from app.models.clients import Client
from app.models.grants import Grant
from app.models.registry import Identity
from app.services import keys
from app.services.oidc import client_metadata
from app.services.oidc.catalog import scope_claims
from app.services.stored_secrets import purpose_key

_KTY_FOR_ALG = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
_GENDER = {"M": "male", "F": "female", "MALE": "male", "FEMALE": "female"}


def subject(client: Client, identity_id: str) -> str:
    meta = client_metadata.policy(client)
    if meta.subject_type == "public":
        return identity_id
    return pairwise_subject(purpose_key("pairwise subject"), client.rp_id or client.client_id, identity_id)


def sign(claims: dict[str, Any], alg: str, typ: str | None = None) -> str:
    key = keys.signing_key(_KTY_FOR_ALG[alg])
    return sign_jwt(claims, key.jwk, alg, typ=typ)


def _maybe_encrypt(token: str, encryption: tuple[str, str] | None, enc_jwk: dict[str, Any] | None) -> str:
    if encryption is None or enc_jwk is None:
        return token
    # OIDC Core §10.2: sign, then encrypt; the result is a nested JWT
    return encrypt_compact(token.encode("ascii"), jwk.JWK(**enc_jwk), encryption[0], encryption[1], cty="JWT")


def _value(bio: dict[str, Any], names: tuple[str, ...], lang: str | None) -> Any:
    for name in names:
        key = f"{name}#{lang}" if lang else name
        if bio.get(key) not in (None, ""):
            return bio[key]
    return None


def _claim(identity: Identity, claim: str, lang: str | None) -> Any:
    bio = identity.biographic or {}
    contacts = identity.contacts or {}
    if claim == "given_name":
        return _value(bio, ("givenName", "firstName"), lang)
    if claim == "family_name":
        return _value(bio, ("familyName", "lastName"), lang)
    if claim == "middle_name":
        return _value(bio, ("middleName",), lang)
    if claim == "name":
        full = _value(bio, ("fullName", "name"), lang)
        if full:
            return full
        parts = [
            _value(bio, ("givenName", "firstName"), lang),
            _value(bio, ("middleName",), lang),
            _value(bio, ("familyName", "lastName"), lang),
        ]
        return " ".join(p for p in parts if p) or None
    if lang:
        return None  # only names are stored per language
    if claim == "birthdate":
        return bio.get("dateOfBirth") or bio.get("birthdate")
    if claim == "gender":
        raw = bio.get("gender")
        return _GENDER.get(str(raw).upper(), str(raw).lower()) if raw else None
    if claim == "email":
        return contacts.get("email") or bio.get("email")
    if claim == "phone_number":
        return contacts.get("phoneNumber") or bio.get("phoneNumber")
    if claim == "address":
        address = bio.get("address")
        if isinstance(address, dict):
            return address
        return {"formatted": str(address)} if address else None
    if claim == "locale":
        return bio.get("preferredLanguage")
    if claim == "nickname":
        return bio.get("nickname")
    return None


def person_claims(identity: Identity, names: list[str], locales: list[str]) -> dict[str, Any]:
    """The person's values for ``names``; localized variants as ``claim#lang`` (OIDC Core §5.2)."""
    out: dict[str, Any] = {}
    for name in names:
        value = _claim(identity, name, None)
        if value is not None:
            out[name] = value
        for lang in locales:
            localized = _claim(identity, name, lang)
            if localized is not None:
                out[f"{name}#{lang}"] = localized
    return out


def id_token(grant: Grant, client: Client, access_token: str) -> str:
    policy = client_metadata.policy(client)
    now = clock.epoch()
    settings = state().settings
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": subject(client, grant.identity_id),
        "aud": client.client_id,
        "azp": client.client_id,
        "exp": now + settings.id_token_ttl,
        "iat": now,
        "auth_time": grant.auth_time,
        "acr": grant.acr,
        "amr": list(grant.amr),
        "at_hash": token_hash(access_token, policy.id_token_alg),
    }
    if grant.nonce:
        claims["nonce"] = grant.nonce
    if grant.session_id:
        claims["sid"] = grant.session_id
    requested = (grant.claims or {}).get("id_token") or []
    if requested:
        identity = db.session.get(Identity, grant.identity_id)
        if identity is not None:
            claims.update(person_claims(identity, requested, grant.claims_locales))
    token = sign(claims, policy.id_token_alg, typ="JWT")
    return _maybe_encrypt(token, policy.id_token_encryption, policy.enc_jwk)


def userinfo(grant: Grant, client: Client, token_scope: list[str] | None = None) -> tuple[str, str]:
    """The userinfo body and its content type: signed JWT (GovStack default), nested JWE, or JSON.

    ``token_scope`` is the access token's scope; when a refresh narrowed it (RFC 6749 §6), the claims only
    the dropped scopes stood for are withheld (OIDC Core §5.4).
    """
    identity = db.session.get(Identity, grant.identity_id)
    names = (grant.claims or {}).get("userinfo") or []
    if token_scope is not None:
        withheld = set(scope_claims(set(grant.scope) - set(token_scope))) - set(scope_claims(token_scope))
        names = [name for name in names if name not in withheld]
    values = person_claims(identity, names, grant.claims_locales) if identity is not None else {}
    body: dict[str, Any] = {"sub": subject(client, grant.identity_id), **values}
    policy = client_metadata.policy(client)
    if policy.userinfo_format == "JSON":
        return json.dumps(body), "application/json"
    settings = state().settings
    body.update({"iss": settings.issuer, "aud": client.client_id, "iat": clock.epoch()})  # OIDC Core §5.3.2
    token = sign(body, policy.userinfo_alg)
    return _maybe_encrypt(token, policy.userinfo_encryption, policy.enc_jwk), "application/jwt"
