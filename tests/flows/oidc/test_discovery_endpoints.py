"""Discovery over HTTP: the metadata, every advertised endpoint answers, the JWKS."""

from urllib.parse import urlsplit

from tests.conftest import ISSUER, server_jwks

# --- Discovery -------------------------------------------------------------------------------------------

REQUIRED_METADATA = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "registration_endpoint",
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "acr_values_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "id_token_encryption_alg_values_supported",
    "id_token_encryption_enc_values_supported",
    "userinfo_signing_alg_values_supported",
    "userinfo_encryption_alg_values_supported",
    "userinfo_encryption_enc_values_supported",
    "request_object_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "claims_supported",
    "claims_parameter_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "ui_locales_supported",
    "claims_locales_supported",
    "display_values_supported",
    "claim_types_supported",
    "pushed_authorization_request_endpoint",
    "require_pushed_authorization_requests",
    "end_session_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "code_challenge_methods_supported",
    "dpop_signing_alg_values_supported",
    "authorization_response_iss_parameter_supported",
)
#: How each advertised endpoint is called to see that it is there (method, expected statuses).
ENDPOINT_PROBES = {
    "authorization_endpoint": ("GET", {200}),  # no parameters: the error page (GovStack §8: 200)
    "token_endpoint": ("POST", {400}),
    "userinfo_endpoint": ("GET", {401}),
    "jwks_uri": ("GET", {200}),
    "registration_endpoint": ("POST", {200, 401}),
    "pushed_authorization_request_endpoint": ("POST", {401}),
    "end_session_endpoint": ("GET", {200}),
    "introspection_endpoint": ("POST", {400, 401}),
    "revocation_endpoint": ("POST", {400, 401}),
}


def test_discovery_document(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = response.json()
    missing = [name for name in REQUIRED_METADATA if name not in metadata]
    assert not missing, missing
    assert metadata["issuer"] == ISSUER
    for name, value in metadata.items():
        if name.endswith("_supported") and not isinstance(value, bool):
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), name
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"pairwise", "public"} <= set(metadata["subject_types_supported"])
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["response_types_supported"] == ["code"]
    assert {"authorization_code", "refresh_token"} <= set(metadata["grant_types_supported"])
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert {"RS256", "PS256", "ES256", "EdDSA"} <= set(metadata["id_token_signing_alg_values_supported"])
    assert "RSA-OAEP-256" in metadata["userinfo_encryption_alg_values_supported"]
    assert "A256GCM" in metadata["userinfo_encryption_enc_values_supported"]
    assert "offline_access" in metadata["scopes_supported"] and "openid" in metadata["scopes_supported"]
    assert "idbb:acr:static-code" in metadata["acr_values_supported"]
    assert response.headers["content-type"].startswith("application/json")


def test_every_advertised_endpoint_answers(client):
    metadata = client.get("/.well-known/openid-configuration").json()
    endpoints = {k: v for k, v in metadata.items() if k.endswith("_endpoint") or k == "jwks_uri"}
    assert set(endpoints) == set(ENDPOINT_PROBES), set(endpoints) ^ set(ENDPOINT_PROBES)
    for name, url in endpoints.items():
        assert url.startswith(ISSUER + "/"), (name, url)
        method, expected = ENDPOINT_PROBES[name]
        response = client.request(method, urlsplit(url).path, follow_redirects=False)
        assert response.status_code in expected, (name, response.status_code, response.text[:200])


def test_authorization_server_metadata_matches(client):
    oidc = client.get("/.well-known/openid-configuration").json()
    oauth = client.get("/.well-known/oauth-authorization-server")
    assert oauth.status_code == 200
    assert oauth.json()["issuer"] == ISSUER
    assert oauth.json()["token_endpoint"] == oidc["token_endpoint"]


def test_jwks_publishes_every_signing_key_type(client):
    jwks = server_jwks(client)
    kinds = {(k["kty"], k["alg"]) for k in jwks["keys"] if k["use"] == "sig"}
    assert {("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")} <= kinds
    assert all("d" not in k and "p" not in k for k in jwks["keys"])
