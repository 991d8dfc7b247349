"""Discovery: the OpenID Provider configuration (OIDC Discovery §3) and RFC 8414 metadata, one document.

Built from the constants the endpoints themselves enforce, so what is advertised is what works.
"""

from typing import Any

from app.extensions import state
from app.formats.dpop import DPOP_ALGS
from app.services.api_clients import KNOWN_SCOPES
from app.services.oidc.authorize_flow import available_acrs
from app.services.oidc.authorize_request import JAR_ALGS
from app.services.oidc.catalog import (
    CLAIMS_SUPPORTED,
    DISPLAYS,
    ENCRYPTION_ALGS,
    ENCRYPTION_ENCS,
    ID_TOKEN_SIGNING_ALGS,
    OIDC_SCOPES,
    PROMPTS,
    RP_TOKEN_AUTH_METHODS,
)
from app.services.oidc.token_endpoint import ASSERTION_ALGS, INTROSPECTION_PATH, PAR_PATH, REVOCATION_PATH, TOKEN_PATH

AUTH_METHODS = ["private_key_jwt", "client_secret_basic"]


def openid_configuration() -> dict[str, Any]:
    """OpenID Provider metadata (OIDC Discovery §3), also served as RFC 8414 authorization server
    metadata: everything listed here works; nothing else is listed."""
    settings = state().settings
    issuer = settings.issuer
    auth_methods = sorted(set(AUTH_METHODS) | set(RP_TOKEN_AUTH_METHODS))
    locales = settings.ui_locale_list()
    return {
        "issuer": issuer,  # RFC 8414 §3.3: MUST be identical to the issuer the metadata is read for
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + TOKEN_PATH,
        "userinfo_endpoint": issuer + "/oidc/userinfo",
        "jwks_uri": issuer + "/.well-known/jwks.json",
        "registration_endpoint": issuer + "/client-mgmt/oidc-client",
        "pushed_authorization_request_endpoint": issuer + PAR_PATH,
        "end_session_endpoint": issuer + "/logout",
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "scopes_supported": sorted(set(OIDC_SCOPES) | set(KNOWN_SCOPES)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ],  # OpenID4VCI 1.0 §6.1
        "pre-authorized_grant_anonymous_access_supported": True,  # OpenID4VCI 1.0 §12.3
        "authorization_details_types_supported": ["openid_credential"],  # RFC 9396 §10, OpenID4VCI 1.0 §5.1.1
        "acr_values_supported": sorted(available_acrs()),
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_SIGNING_ALGS),
        "id_token_encryption_alg_values_supported": list(ENCRYPTION_ALGS),
        "id_token_encryption_enc_values_supported": list(ENCRYPTION_ENCS),
        "userinfo_signing_alg_values_supported": list(ID_TOKEN_SIGNING_ALGS),
        "userinfo_encryption_alg_values_supported": list(ENCRYPTION_ALGS),
        "userinfo_encryption_enc_values_supported": list(ENCRYPTION_ENCS),
        "request_object_signing_alg_values_supported": list(JAR_ALGS),
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "require_pushed_authorization_requests": settings.require_par,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "claims_supported": sorted(
            {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", *CLAIMS_SUPPORTED}
        ),
        "claims_parameter_supported": True,
        "claims_locales_supported": locales,
        "ui_locales_supported": locales,
        "display_values_supported": list(DISPLAYS),
        "prompt_values_supported": list(PROMPTS),
        "claim_types_supported": ["normal"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "authorization_response_iss_parameter_supported": True,
    }
