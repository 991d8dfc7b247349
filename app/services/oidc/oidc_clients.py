"""OIDC client management (GovStack IDBB §8 "Client Management", eSignet ``/client-mgmt``).

One error per response, checked in the order of the GovStack schema's ``required`` list, so a
client sees the same code eSignet would give. A create replayed with the same body answers the
same; the same ``clientId`` with another body is ``duplicate_client_id``. ``publicKey`` and
``relyingPartyId`` never change after creation; unknown members are ignored, not refused.
"""

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import (
    DuplicateClientId,
    InvalidAcr,
    InvalidClaim,
    InvalidClientAuth,
    InvalidClientId,
    InvalidClientName,
    InvalidGrantType,
    InvalidPublicKey,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidRpId,
    InvalidUri,
)
from app.extensions import db, state
from app.formats import FormatError
from app.formats.canonical import canonical_json
from app.formats.jwk import PRIVATE_MEMBERS, decode_jwk_input, parse_public_signing_jwk, public_dict, thumbprint
from app.formats.timefmt import format_response_time
from app.models.clients import Client
from app.services import audit
from app.services.oidc import client_lookup, client_metadata
from app.services.oidc.acr import ACR_VALUES
from app.services.oidc.catalog import CLAIMS_SUPPORTED, RP_GRANT_TYPES, RP_REGISTRABLE_AUTH_METHODS
from app.services.oidc.client_metadata import printable_text, strict_profile, valid_redirect_uri
from app.services.stored_secrets import new_secret
from app.services.transaction import atomic

_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,50}$")  # GovStack: 1..50 characters; visible ASCII, no spaces
STATUSES = ("active", "inactive")


def valid_logo_uri(value: Any) -> bool:
    if not printable_text(value, 1024):
        return False
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    return not (strict_profile() and parts.scheme != "https")  # strict: no mixed content on the consent page


def _list_of(value: Any, allowed: tuple[str, ...], *, allow_empty: bool = False) -> bool:
    return (
        isinstance(value, list)
        and (allow_empty or len(value) > 0)
        and all(isinstance(v, str) and v in allowed for v in value)
    )


def _require(ok: bool, error: type[InvalidRequest], message: str) -> None:
    if not ok:
        raise error(message)


def _check_client_id(req: dict[str, Any]) -> None:
    value = req.get("clientId")
    _require(
        isinstance(value, str) and bool(_CLIENT_ID.match(value)),
        InvalidClientId,
        "clientId must be 1-50 visible ASCII characters.",
    )


def _check_name(req: dict[str, Any]) -> None:
    _require(printable_text(req.get("clientName"), 256), InvalidClientName, "clientName must be 1-256 printable characters.")


def _check_rp_id(req: dict[str, Any]) -> None:
    _require(printable_text(req.get("relyingPartyId"), 50), InvalidRpId, "relyingPartyId must be 1-50 printable characters.")


def _check_status(req: dict[str, Any]) -> None:
    status = req.get("status")
    _require(
        isinstance(status, str) and status.lower() in STATUSES, InvalidRequest, "status must be 'active' or 'inactive'."
    )


def _check_logo(req: dict[str, Any]) -> None:
    _require(valid_logo_uri(req.get("logoUri")), InvalidUri, "logoUri must be an absolute https URL.")


def _check_redirects(req: dict[str, Any], *, optional: bool) -> None:
    uris = req.get("redirectUris")
    if optional and uris is None:  # the issue: redirectUris may be omitted on create
        return
    _require(
        isinstance(uris, list) and bool(uris) and all(valid_redirect_uri(u) for u in uris),
        InvalidRedirectUri,
        "redirectUris must be a non-empty list of absolute URIs without fragment.",
    )


def _check_acrs(req: dict[str, Any]) -> None:
    _require(
        _list_of(req.get("authContextRefs"), ACR_VALUES), InvalidAcr, "authContextRefs must list idbb:acr:* values only."
    )


def _public_key(value: Any) -> tuple[dict[str, Any], str]:
    """The key to store and its thumbprint. In the GovStack sandbox (issue 13 point 1) a key that does not
    import but is a JSON object (or its JSON text / base64) with a ``kty`` and no private member is kept
    as given, thumbprinted by the SHA-256 of its RFC 8785 form, as wallet binding's sandbox mode does
    (GovStack's harness registers ``{"kty":"RSA","a":"AQAB",…}``); such a client cannot authenticate."""
    try:
        key = parse_public_signing_jwk(value)
    except FormatError:
        if not state().settings.is_sandbox:
            raise
        data = decode_jwk_input(value)
        if not isinstance(data.get("kty"), str) or not data["kty"] or PRIVATE_MEMBERS & data.keys():
            raise
        digest = hashlib.sha256(canonical_json(data)).digest()
        return dict(data), base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return public_dict(key), thumbprint(key)


def _check_public_key(req: dict[str, Any]) -> None:
    try:
        _public_key(req.get("publicKey"))
    except FormatError as exc:
        raise InvalidPublicKey("publicKey is not a usable public signing JWK.", detail=str(exc)) from exc


def _check_claims(req: dict[str, Any]) -> None:
    _require(
        _list_of(req.get("userClaims"), CLAIMS_SUPPORTED, allow_empty=True),
        InvalidClaim,
        "userClaims must list supported claims only.",
    )


def _check_grants(req: dict[str, Any]) -> None:
    _require(_list_of(req.get("grantTypes"), RP_GRANT_TYPES), InvalidGrantType, "grantTypes must be ['authorization_code'].")


def _check_auth(req: dict[str, Any]) -> None:
    _require(
        _list_of(req.get("clientAuthMethods"), RP_REGISTRABLE_AUTH_METHODS),
        InvalidClientAuth,
        "clientAuthMethods must be ['private_key_jwt'].",
    )


#: GovStack's ``required`` order for each operation; the first failing member is the one error.
CREATE_CHECKS = (
    _check_client_id,
    _check_name,
    _check_rp_id,
    _check_logo,
    lambda r: _check_redirects(r, optional=True),
    _check_acrs,
    _check_public_key,
    _check_claims,
    _check_grants,
    _check_auth,
)
UPDATE_CHECKS = (
    _check_name,
    _check_status,
    _check_logo,
    lambda r: _check_redirects(r, optional=False),
    _check_claims,
    _check_acrs,
    _check_grants,
    _check_auth,
)


def _validate(req: dict[str, Any], checks: tuple[Any, ...]) -> None:
    for check in checks:
        check(req)


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def create(request: dict[str, Any], *, actor: str) -> dict[str, str]:
    """Register a relying party. Idempotent for an identical body."""
    _validate(request, CREATE_CHECKS)
    metadata = client_metadata.validate(request)
    client_id = request["clientId"]
    public_jwk, key_thumbprint = _public_key(request["publicKey"])
    body_hash = hashlib.sha256(canonical_json(request)).hexdigest()
    existing = db.session.get(Client, client_id)
    if existing is not None:
        if existing.kind == "oidc" and existing.create_request_hash == body_hash:
            return {"clientId": client_id, "status": existing.status}  # identical replay: same answer
        raise DuplicateClientId("A client with this clientId already exists.")
    now = clock.now()
    auth_methods = _dedupe(request["clientAuthMethods"])
    secret = secret_hash = None
    method = metadata.get("token_endpoint_auth_method")
    if method and method.startswith("client_secret_"):
        secret, secret_hash = new_secret()  # shown once, in this response; only its hash is kept
        auth_methods = [method]
    try:
        with atomic():
            db.session.add(
                Client(
                    client_id=client_id,
                    kind="oidc",
                    name=request["clientName"].strip(),
                    status="active",
                    rp_id=request["relyingPartyId"].strip(),
                    logo_uri=request["logoUri"],
                    redirect_uris=_dedupe(request.get("redirectUris") or []),
                    acr_values=_dedupe(request["authContextRefs"]),
                    claims=_dedupe(request["userClaims"]),
                    grant_types=_dedupe(request["grantTypes"]),
                    auth_methods=auth_methods,
                    scopes=[],
                    public_jwk=public_jwk,
                    public_key_thumbprint=key_thumbprint,
                    secret_hash=secret_hash,
                    client_metadata=metadata,
                    create_request_hash=body_hash,
                    created_at=now,
                    updated_at=now,
                )
            )
            audit.record("oidc_client.created", actor=actor, target=client_id)
    except IntegrityError:  # another worker created the same clientId between our read and our insert
        winner = db.session.get(Client, client_id)
        if winner is not None and winner.kind == "oidc" and winner.create_request_hash == body_hash:
            return {"clientId": client_id, "status": winner.status}
        raise DuplicateClientId("A client with this clientId already exists.") from None
    result = {"clientId": client_id, "status": "active"}
    if secret:
        result["clientSecret"] = secret
    return result


def _oidc_client(client_id: str) -> Client:
    row = db.session.get(Client, client_id)
    if row is None or row.kind != "oidc":
        raise InvalidClientId("No OIDC client has this clientId.")
    return row


def update(client_id: str, request: dict[str, Any], *, actor: str) -> dict[str, str]:
    """Replace the updatable members; ``publicKey``, ``relyingPartyId`` and unknown ones are ignored."""
    with atomic():
        row = _oidc_client(client_id)
        _validate(request, UPDATE_CHECKS)
        metadata = client_metadata.validate(request)
        status = request["status"]
        row.name = request["clientName"].strip()
        row.status = status.lower()
        row.logo_uri = request["logoUri"]
        row.redirect_uris = _dedupe(request["redirectUris"])
        row.acr_values = _dedupe(request["authContextRefs"])
        row.claims = _dedupe(request["userClaims"])
        row.grant_types = _dedupe(request["grantTypes"])
        method = (metadata or row.client_metadata or {}).get("token_endpoint_auth_method")
        row.auth_methods = (
            [method] if method and method.startswith("client_secret_") else _dedupe(request["clientAuthMethods"])
        )
        if metadata or "additionalConfig" in request:
            row.client_metadata = metadata
        row.updated_at = clock.now()
        audit.record("oidc_client.updated", actor=actor, target=client_id, details={"status": row.status})
    client_lookup.forget(client_id)
    return {"clientId": client_id, "status": row.status}


def read(client_id: str) -> dict[str, Any]:
    """An operator's view of a relying party (no secrets exist to leak; the key is public)."""
    row = _oidc_client(client_id)
    return {
        "clientId": row.client_id,
        "clientName": row.name,
        "relyingPartyId": row.rp_id,
        "logoUri": row.logo_uri,
        "redirectUris": row.redirect_uris,
        "authContextRefs": row.acr_values,
        "userClaims": row.claims,
        "grantTypes": row.grant_types,
        "clientAuthMethods": row.auth_methods,
        "publicKey": row.public_jwk,
        "status": row.status,
        "additionalConfig": {k: v for k, v in (row.client_metadata or {}).items() if k != "enc_jwk"},
        "createdDateTime": format_response_time(row.created_at),
        "updatedDateTime": format_response_time(row.updated_at),
    }
