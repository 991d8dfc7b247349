"""Authorization server metadata (RFC 8414): only what idbb really serves today.

The OpenID Provider configuration (``/.well-known/openid-configuration``) comes with the login
flows; until then idbb publishes RFC 8414 metadata for its back-office endpoints, which RFC 8414
§2 allows without an ``authorization_endpoint`` because no supported grant type uses one.
"""

from typing import Any

from app.extensions import state
from app.services.api_clients import KNOWN_SCOPES
from app.services.token_endpoint import ASSERTION_ALGS, INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH

AUTH_METHODS = ["private_key_jwt", "client_secret_basic"]


def authorization_server_metadata() -> dict[str, Any]:
    issuer = state().settings.issuer
    return {
        "issuer": issuer,  # RFC 8414 §3.3: MUST be identical to the issuer the metadata is read for
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + "/.well-known/jwks.json",
        "registration_endpoint": issuer + "/client-mgmt/oidc-client",
        "scopes_supported": sorted(KNOWN_SCOPES),
        "response_types_supported": [],  # REQUIRED; no authorization endpoint yet, so none
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
    }
