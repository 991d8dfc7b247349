"""The refresh token grant (RFC 6749 §6) with rotation and family revocation on reuse (RFC 9700 §4.14.2)."""

from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, InvalidScopeError, UnauthorizedClientError
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant

from app.clock import clock
from app.extensions import db
from app.models.grants import Grant, RefreshToken
from app.services.oidc.catalog import RP_TOKEN_AUTH_METHODS
from app.services.oidc.grants import dpop_key_for, revoke, token_response
from app.services.stored_secrets import digest


class RotatingRefreshGrant(RefreshTokenGrant):
    """RFC 6749 §6 with rotation and family revocation on reuse (RFC 9700 §4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(RP_TOKEN_AUTH_METHODS)  # every method an RP may be registered with

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if client.row.kind != "oidc":
            raise UnauthorizedClientError(description="Only relying parties hold refresh tokens.")
        token = self.request.form.get("refresh_token")
        if not token:
            raise InvalidRequestError(description="Missing 'refresh_token' in request.")
        row = db.session.get(RefreshToken, digest(token), with_for_update=True)
        grant = db.session.get(Grant, row.grant_id) if row is not None else None
        if row is None or grant is None or grant.client_id != client.get_client_id():
            raise InvalidGrantError(description="The refresh token is unknown.")
        if row.used_at is not None:
            revoke(grant, "rotated refresh token reused")  # the family is compromised
            raise InvalidGrantError(description="The refresh token was already used.")
        if row.expires_at <= clock.now() or grant.revoked_at is not None:
            raise InvalidGrantError(description="The refresh token has expired or was revoked.")
        requested = (self.request.form.get("scope") or "").split()
        if requested and not set(requested) <= set(grant.scope):  # RFC 6749 §6: no scope beyond the grant
            raise InvalidScopeError(description="The requested scope exceeds the grant.")
        self.request.client = client
        self.request.refresh_token = row
        self.request.grant = grant
        self.request.dpop_jkt = dpop_key_for(self, client.row, grant.dpop_jkt)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        self.request.refresh_token.used_at = clock.now()  # rotated: this one is spent
        requested = (self.request.form.get("scope") or "").split() or None  # RFC 6749 §6: omitted = as granted
        body = token_response(
            self.request.grant,
            self.request.client.row,
            self.request.dpop_jkt,
            grant_type=self.GRANT_TYPE,
            narrowed=requested,
        )
        return 200, body, self.TOKEN_RESPONSE_HEADER
