"""Token introspection (RFC 7662) and revocation (RFC 7009) on Authlib's endpoint classes.

Both endpoints authenticate the calling client like the token endpoint does. Introspection is for
API clients holding the ``introspect`` scope (resource servers); revocation lets a client revoke
tokens issued to itself. Access tokens are JWTs, so revocation keeps the ``jti`` on a deny list
(the replay store) until the token would have expired anyway.
"""

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from app.clock import clock
from app.formats import FormatError
from app.services import audit
from app.services.oidc import access_tokens, client_lookup, grants
from app.services.oidc.client_auth import ClientAdapter

ENDPOINT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]


class IssuedToken:
    """Authlib's view of an idbb access token (decoded, signature checked)."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    def check_client(self, client: ClientAdapter) -> bool:
        return self.claims["client_id"] == client.get_client_id()

    def is_expired(self) -> bool:
        return clock.epoch() >= int(self.claims["exp"])

    def is_revoked(self) -> bool:
        # a relying party's token dies with its grant (code reuse, refresh reuse, logout, revocation)
        return access_tokens.is_revoked(self.claims) or not grants.is_active(self.claims.get("gid"))


class RefreshTokenRef:
    """An opaque refresh token presented for revocation (RFC 7009 §2.1)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.claims: dict[str, Any] = {}

    def check_client(self, client: ClientAdapter) -> bool:
        return True  # ownership is checked when revoking: another client's token is left alone

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


def _query(token_string: str, token_type_hint: str | None) -> IssuedToken | RefreshTokenRef | None:
    # RFC 7009 §2.1 / RFC 7662 §2.1: the hint only speeds the lookup; a token not found under it
    # MUST be searched for across all types, so the hint is not used to refuse
    try:
        return IssuedToken(access_tokens.decode(token_string))
    except FormatError:
        return RefreshTokenRef(token_string) if token_string else None


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        found = _query(token_string, token_type_hint)
        if not isinstance(found, IssuedToken):
            return None  # refresh tokens are never disclosed
        if client_lookup.active_client(str(found.claims.get("client_id"))) is None:
            return None  # a deactivated client's tokens open nothing (userinfo refuses them too)
        return found

    def check_permission(self, token: IssuedToken, client: ClientAdapter, request: Any) -> bool:
        return "introspect" in client.row.scopes  # least privilege: only resource servers may introspect

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        claims = token.claims
        payload: dict[str, Any] = {
            k: claims[k] for k in ("scope", "client_id", "sub", "exp", "iat", "nbf", "iss", "aud", "jti") if k in claims
        }
        if isinstance(claims.get("cnf"), dict):
            # RFC 9449 §6.2: the resource server must learn the key binding, or it would take a DPoP-bound
            # token as a bearer token and ask for no proof of possession
            payload["cnf"] = claims["cnf"]
            payload["token_type"] = "DPoP"  # noqa: S105 - RFC 7662 §2.2 token type, not a secret
        else:
            payload["token_type"] = "Bearer"  # noqa: S105 - RFC 7662 §2.2 token type, not a secret
        return payload


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | RefreshTokenRef | None:
        return _query(token_string, token_type_hint)

    def revoke_token(self, token: IssuedToken | RefreshTokenRef, request: Any) -> None:
        if isinstance(token, RefreshTokenRef):
            grants.revoke_refresh_token(token.token, request.client.get_client_id())
            return
        access_tokens.revoke(token.claims)
        audit.record("token.revoked", actor=token.claims["client_id"], target=token.claims["jti"])
