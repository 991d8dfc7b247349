"""Grants: authorization codes, the tokens issued from them, and their revocation.

A grant is born with its authorization code (RFC 6749 §4.1.2) and carries everything the person
consented to. Codes are single-use and short-lived; a second redemption revokes every token issued
from the grant (RFC 6749 §4.1.2: "SHOULD revoke ... all tokens previously issued based on that
authorization code"). Refresh tokens rotate on every use; presenting a rotated one revokes the
whole family (RFC 9700 §4.14.2). Access tokens carry the grant id (``gid``), so revoking the grant
stops them at once. The token-endpoint grant classes are Authlib's, with these rules added, one module
per grant: :mod:`app.services.oidc.code_grant` and :mod:`app.services.oidc.refresh_grant`; both answer
through :func:`token_response`.
"""

import secrets
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    OAuth2Error,
)

from app.clock import clock
from app.errors import AccessDenied, InvalidDpopProof
from app.extensions import db, state
from app.models.clients import Client
from app.models.grants import Grant, RefreshToken
from app.services import audit
from app.services.issuance.authorization import IssuerStateRefused, redeem, token_claim, token_details
from app.services.oidc import access_tokens, client_metadata, dpop, id_tokens
from app.services.oidc.authorize_request import AuthRequest, RedirectError
from app.services.stored_secrets import digest


def issue_code(
    request: AuthRequest,
    *,
    identity_id: str,
    amr: list[str],
    acr: str,
    auth_time: int,
    session_id: str | None,
    accepted_claims: list[str],
    scopes: list[str],
) -> str:
    """Mint the authorization code for a consented request; returns the code (only its hash is kept)."""
    if request.issuance_id is not None:  # OpenID4VCI 1.0 §5.1.3: the issuer_state is spent with this code
        try:
            redeem(request.issuance_id, identity_id=identity_id, client_id=request.client_id)
        except IssuerStateRefused as refused:
            raise RedirectError(AccessDenied(str(refused)), request.redirect_uri, request.state) from None
    code = secrets.token_urlsafe(32)
    now = clock.now()
    accepted = set(accepted_claims)
    claims = {target: sorted(n for n in part if n in accepted) for target, part in request.claims.items()}
    db.session.add(
        Grant(
            grant_id=secrets.token_urlsafe(18),
            code_hash=digest(code),
            code_expires_at=now + timedelta(seconds=state().settings.code_ttl),
            client_id=request.client_id,
            identity_id=identity_id,
            redirect_uri=request.redirect_uri,
            scope=scopes,
            claims=claims,
            claims_locales=request.claims_locales,
            nonce=request.nonce,
            acr=acr,
            amr=amr,
            auth_time=auth_time,
            session_id=session_id,
            code_challenge=request.code_challenge,
            dpop_jkt=request.dpop_jkt,
            created_at=now,
            authorization_details=list(request.authorization_details) or None,
            authorization_claims=dict(request.authorization_claims) or None,
            issuance_id=request.issuance_id,
        )
    )
    audit.record(
        "authorization.code_issued",
        actor=request.client_id,
        target=identity_id,
        details={"acr": acr, "scope": " ".join(scopes)},
    )
    return code


def revoke(grant: Grant, reason: str) -> None:
    if grant.revoked_at is None:
        grant.revoked_at = clock.now()
        audit.record("grant.revoked", actor=grant.client_id, target=grant.grant_id, details={"reason": reason})


def is_active(grant_id: str | None) -> bool:
    if not grant_id:
        return True  # client_credentials tokens have no grant
    grant = db.session.get(Grant, grant_id)
    return grant is not None and grant.revoked_at is None


def revoke_refresh_token(token: str, client_id: str) -> bool:
    """RFC 7009 §2.1: revoking a refresh token revokes its grant (and so the access tokens)."""
    row = db.session.get(RefreshToken, digest(token))
    if row is None:
        return False
    grant = db.session.get(Grant, row.grant_id)
    if grant is None or grant.client_id != client_id:
        return False
    revoke(grant, "refresh token revoked by the client")
    return True


class DpopError(OAuth2Error):
    """RFC 9449 §7.1: ``invalid_dpop_proof``; §8: ``use_dpop_nonce`` with a ``DPoP-Nonce`` header."""

    status_code = 400

    def __init__(self, refused: dpop.DpopRefused) -> None:
        super().__init__(description=refused.description)
        self.error = refused.error
        self.nonce = refused.nonce

    def get_headers(self) -> list[tuple[str, str]]:
        headers = list(super().get_headers())
        if self.nonce:
            headers.append(("DPoP-Nonce", self.nonce))
        return headers


def header(headers: Any, name: str) -> str | None:
    """A request header by case-insensitive name (plain dicts from the handler keep the sender's case)."""
    wanted = name.lower()
    return next((v for k, v in dict(headers).items() if k.lower() == wanted), None)


def dpop_key_for(grant_obj: Any, client: Client, bound_jkt: str | None) -> str | None:
    """The DPoP key the new tokens are bound to (None: bearer tokens)."""
    policy = client_metadata.policy(client)
    request = grant_obj.request
    try:
        proof = dpop.check(
            header(request.headers, "DPoP"), method="POST", url=request.uri, required=policy.dpop_bound or bool(bound_jkt)
        )
    except dpop.DpopRefused as refused:
        raise DpopError(refused) from None
    jkt = proof.jkt if proof else None
    if bound_jkt and jkt != bound_jkt:  # RFC 9449 §10: the code is bound to this key
        raise DpopError(InvalidDpopProof("The DPoP key does not match the binding."))
    return jkt


def token_response(
    grant: Grant,
    client: Client,
    jkt: str | None,
    *,
    grant_type: str,
    narrowed: list[str] | None = None,
    details: list[str] | None = None,
    detail_claims: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The token response; ``narrowed`` is a refresh request's smaller scope (RFC 6749 §6), which limits the
    new access token while the grant, and so the rotated refresh token, keeps what was consented; ``details`` the
    credential configurations a token request's ``authorization_details`` narrowed to (OpenID4VCI 1.0 §6.1), and
    ``detail_claims`` their claims (§5.1.1; by default the grant's)."""
    extra: dict[str, Any] = {"gid": grant.grant_id}
    if jkt:
        extra["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1
    claims_granted = detail_claims if details is not None else dict(grant.authorization_claims or {})
    if details is not None or claims_granted:
        # RFC 9396 §9.1: the token obtains only these (and only these claims of them)
        extra["authorization_details"] = token_claim(
            details if details is not None else list(grant.authorization_details or ()), claims_granted
        )
    scope = " ".join(s for s in grant.scope if narrowed is None or s in narrowed)
    access, claims = access_tokens.issue(
        client_id=client.client_id, subject=id_tokens.subject(client, grant.identity_id), scope=scope, extra=extra
    )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": claims["exp"] - claims["iat"],
        "scope": scope,
    }
    if details is not None or grant.authorization_details:
        # OpenID4VCI 1.0 §6.2: REQUIRED when authorization_details were used (authorization or token request)
        body["authorization_details"] = token_details(
            details if details is not None else list(grant.authorization_details or ()), claims_granted
        )
    if "openid" in scope.split():  # a refresh narrowed to non-OpenID scopes gets no ID token (OIDC Core §12.2)
        body["id_token"] = id_tokens.id_token(grant, client, access)
    if "offline_access" in grant.scope:  # OIDC Core §11: only with offline_access consented
        refresh = secrets.token_urlsafe(32)
        now = clock.now()
        db.session.add(
            RefreshToken(
                token_hash=digest(refresh),
                grant_id=grant.grant_id,
                created_at=now,
                expires_at=now + timedelta(seconds=state().settings.refresh_token_ttl),
            )
        )
        body["refresh_token"] = refresh
    audit.record(
        "token.issued", actor=client.client_id, target=claims["jti"], details={"grant_type": grant_type, "scope": scope}
    )
    return body
