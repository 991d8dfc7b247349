"""Pushed authorization requests (RFC 9126): the client posts its request, authenticated, and gets
a single-use ``request_uri`` valid ``IDBB_PAR_TTL`` seconds (60 by default)."""

import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error

from app.clock import clock
from app.errors import InvalidClient, InvalidDpopProof, InvalidRequest, InvalidRequestObject
from app.extensions import db, state
from app.models.login import PushedRequest
from app.services import audit
from app.services.oidc import dpop
from app.services.oidc.authorize_flow import available_acrs
from app.services.oidc.authorize_request import PAR_URN_PREFIX, PageError, RedirectError, parse
from app.services.oidc.catalog import RP_TOKEN_AUTH_METHODS
from app.services.oidc.grants import header
from app.services.oidc.token_endpoint import PAR_PATH, TokenResponse, _Request, _server, precheck
from app.services.stored_secrets import digest
from app.services.transaction import atomic

_PAGE_ERRORS = {
    "error.unknown_client": InvalidClient.code,
    "error.bad_redirect_uri": InvalidRequest.code,
    "error.bad_request_object": InvalidRequestObject.code,
}


def _error(status: int, error: str, description: str, extra: dict[str, str] | None = None) -> TokenResponse:
    headers = {"Cache-Control": "no-store", **(extra or {})}
    return TokenResponse(status, {"error": error, "error_description": description}, headers)


@atomic()
def push(form: Mapping[str, list[str]], headers: Mapping[str, str]) -> TokenResponse:
    """POST /oauth/par. Whatever the answer, the transaction commits: a refused request still spends its
    client assertion's ``jti`` and its DPoP proof's ``jti`` in the SQL replay store (RFC 7523 §3 item 7,
    RFC 9449 §11.1), or the same assertion could be replayed here or at the other endpoints."""
    response = _push(form, headers)
    return response


def _push(form: Mapping[str, list[str]], headers: Mapping[str, str]) -> TokenResponse:
    server = _server()
    request = _Request(server.issuer + PAR_PATH, headers, form)
    refused = precheck(form, headers)  # repeated parameters, two client authentication methods
    if refused is not None:
        challenge = {k: v for k, v in refused.get_headers() if k == "WWW-Authenticate"}  # RFC 6749 §5.2
        return _error(refused.status_code, refused.error or InvalidRequest.code, refused.description or "", challenge)
    try:
        client = server.authenticate_client(request, list(RP_TOKEN_AUTH_METHODS), endpoint="par")
    except OAuth2Error as exc:
        return _error(401, exc.error or InvalidClient.code, exc.description or "Client authentication failed.")
    params = {k: list(v) for k, v in form.items() if k not in ("client_assertion", "client_assertion_type", "client_secret")}
    if "request_uri" in params:  # RFC 9126 §2.1: request_uri MUST NOT be pushed
        return _error(400, InvalidRequest.code, "request_uri must not be pushed.")
    if params.get("client_id", [client.get_client_id()]) != [client.get_client_id()]:
        return _error(400, InvalidRequest.code, "client_id does not match the authenticated client.")
    params["client_id"] = [client.get_client_id()]
    try:
        proof = dpop.check(header(headers, "DPoP"), method="POST", url=server.issuer + PAR_PATH)
    except dpop.DpopRefused as dpop_refused:  # its own name: `refused` above is typed as precheck's result
        extra = {"DPoP-Nonce": dpop_refused.nonce} if dpop_refused.nonce else {}
        return _error(400, dpop_refused.error, dpop_refused.description, extra)
    try:
        parsed, _ = parse(params, available_acrs=available_acrs(), pushing=True)  # RFC 9126 §2.1: validated as at /authorize
    except PageError as err:
        return _error(400, _PAGE_ERRORS.get(err.key, InvalidRequest.code), "The authorization request is invalid.")
    except RedirectError as err:
        return _error(400, err.error, err.description)
    if proof and parsed.dpop_jkt and proof.jkt != parsed.dpop_jkt:  # RFC 9449 §10.1: both name one key
        return _error(400, InvalidDpopProof.code, "dpop_jkt does not match the DPoP proof's key.")
    stored: dict[str, Any] = {k: v[0] for k, v in params.items()}
    request_uri = PAR_URN_PREFIX + secrets.token_urlsafe(32)
    ttl = state().settings.par_ttl
    db.session.add(
        PushedRequest(
            uri_hash=digest(request_uri),
            client_id=client.get_client_id(),
            params=stored,
            dpop_jkt=proof.jkt if proof else parsed.dpop_jkt,
            expires_at=clock.now() + timedelta(seconds=ttl),
        )
    )
    audit.record("par.pushed", actor=client.get_client_id())
    return TokenResponse(201, {"request_uri": request_uri, "expires_in": ttl}, {"Cache-Control": "no-store"})
