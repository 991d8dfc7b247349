"""The client adapter that Authlib's server classes talk to.

Client secrets are made and checked in :mod:`app.services.stored_secrets` (API clients have them too);
PINs and passwords use argon2id elsewhere.
"""

from authlib.oauth2.rfc6749 import ClientMixin

from app.models.clients import Client
from app.services.stored_secrets import secret_matches

#: Authlib's names for the methods it implements, mapped to the registered metadata names.
AUTHLIB_METHOD_NAMES = {
    "private_key_jwt": "private_key_jwt",
    "client_secret_basic": "client_secret_basic",
    "client_secret_post": "client_secret_post",
}


class ClientAdapter(ClientMixin):
    """Authlib's view of a :class:`Client` row (only active clients are ever wrapped)."""

    def __init__(self, row: Client) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.row.redirect_uris[0] if self.row.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(self.row.scopes)
        allowed = set(self.row.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris  # exact string match (RFC 9700 §4.1.1)

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return AUTHLIB_METHOD_NAMES.get(method) in self.row.auth_methods

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types
