"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3) with PKCE (RFC 7636), single use
and reuse detection (RFC 6749 §4.1.2), and DPoP binding (RFC 9449 §10)."""

from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Error, UnauthorizedClientError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.clock import clock
from app.errors import InvalidAuthorizationDetails
from app.extensions import db
from app.formats import pkce
from app.models.grants import Grant
from app.services.issuance.authorization import configurations_for_scopes, narrowed_request
from app.services.oidc.catalog import RP_TOKEN_AUTH_METHODS
from app.services.oidc.grants import dpop_key_for, revoke, token_response
from app.services.stored_secrets import digest


class CodeGrant(AuthorizationCodeGrant):
    """RFC 6749 §4.1.3 with PKCE S256 (RFC 7636 §4.6), single use and reuse detection, DPoP binding."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(RP_TOKEN_AUTH_METHODS)  # every method an RP may be registered with

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if client.row.kind != "oidc" or not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(description="The client may not use the authorization code grant.")
        code = self.request.form.get("code")
        if not code:
            raise InvalidRequestError(description="Missing 'code' in request.")
        grant = db.session.execute(
            select(Grant).where(Grant.code_hash == digest(code)).with_for_update()
        ).scalar_one_or_none()
        if grant is None or grant.client_id != client.get_client_id():
            raise InvalidGrantError(description="The code is unknown or was issued to another client.")
        if grant.code_used_at is not None:
            revoke(grant, "authorization code reused")  # RFC 6749 §4.1.2: revoke tokens issued from the code
            raise InvalidGrantError(description="The code was already used.")
        if grant.code_expires_at <= clock.now() or grant.revoked_at is not None:
            raise InvalidGrantError(description="The code has expired.")
        if self.request.form.get("redirect_uri") != grant.redirect_uri:  # RFC 6749 §4.1.3: MUST be identical
            raise InvalidGrantError(description="redirect_uri does not match the authorization request.")
        verifier = self.request.form.get("code_verifier")
        if grant.code_challenge:
            if not pkce.verify(verifier, grant.code_challenge):  # RFC 7636 §4.6
                raise InvalidGrantError(description="The code_verifier does not match the code_challenge.")
        elif verifier:  # RFC 9700 §2.1.1: a verifier for a code issued without a challenge is refused
            raise InvalidGrantError(description="code_verifier given for a code issued without PKCE.")
        self.request.details, self.request.detail_claims = _narrowed_details(
            self.request.form.get("authorization_details"), grant
        )
        self.request.client = client
        self.request.authorization_code = grant
        self.request.dpop_jkt = dpop_key_for(self, client.row, grant.dpop_jkt)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        grant: Grant = self.request.authorization_code
        _mark_used(grant, clock.now())  # single use
        body = token_response(
            grant,
            self.request.client.row,
            self.request.dpop_jkt,
            grant_type=self.GRANT_TYPE,
            details=self.request.details,
            detail_claims=self.request.detail_claims,
        )
        return 200, body, self.TOKEN_RESPONSE_HEADER


class AuthlibInvalidAuthorizationDetails(OAuth2Error):
    """The Authlib form of :class:`app.errors.InvalidAuthorizationDetails` (the token endpoint runs on Authlib)."""

    error = InvalidAuthorizationDetails.code  # RFC 9396 §6.2


def _narrowed_details(raw: str | None, grant: Grant) -> tuple[list[str] | None, dict[str, list[dict[str, Any]]] | None]:
    """OpenID4VCI 1.0 §6.1: ``authorization_details`` at the token endpoint asks for a subset of the credential
    configurations the grant authorized (by authorization_details, or by their scopes, §5.1.2), and of their claims."""
    if raw is None:
        return None, None
    authorized = list(grant.authorization_details or ()) or configurations_for_scopes(list(grant.scope))
    try:
        result = narrowed_request(raw, authorized, dict(grant.authorization_claims or {}))
    except ValueError as exc:
        raise AuthlibInvalidAuthorizationDetails(description=str(exc)) from None
    assert result is not None  # raw was given
    return result


def _mark_used(grant: Grant, now: datetime) -> None:
    """Spend the code with one UPDATE on the session's connection (the row is locked since the SELECT):
    the ORM's unit of work for one column cost more server CPU than the statement itself."""
    table = Grant.__table__
    db.session.connection().execute(update(table).where(table.c.grant_id == grant.grant_id).values(code_used_at=now))
    set_committed_value(grant, "code_used_at", now)  # the object agrees with the row, and is not flushed again
