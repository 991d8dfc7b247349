"""Revocation (RFC 7009) and introspection (RFC 7662) of the tokens a login issued."""

from tests.conftest import bearer, request_time, server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    DpopKey,
    assert_oauth_error,
    dpop_tokens,
    introspect,
    offline_tokens,
    refresh,
    revoke,
    tokens,
    userinfo,
)
from tests.flows.oidc_helpers import (
    register_rp,
)

# --- Revocation and introspection ------------------------------------------------------------------------


def test_revoking_an_access_token(client, rp, citizen, api_client):
    body = tokens(rp, citizen)
    resource_server = api_client("introspect")
    info = introspect(resource_server, body["access_token"])
    sub = verify_with_pyjwt(body["id_token"], server_jwks(client), audience=rp.client_id)["sub"]
    assert info["active"] is True and info["sub"] == sub and info["client_id"] == rp.client_id
    assert info["scope"] == "openid profile"

    response = revoke(rp, body["access_token"], "access_token")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert userinfo(client, body["access_token"]).status_code == 401
    assert introspect(resource_server, body["access_token"]) == {"active": False}


def test_revoking_a_refresh_token(client, rp, citizen):
    body = offline_tokens(rp, citizen)
    assert revoke(rp, body["refresh_token"], "refresh_token").status_code == 200
    assert_oauth_error(refresh(rp, body["refresh_token"]), "invalid_grant")
    assert userinfo(client, body["access_token"]).status_code == 401  # the grant is gone


def test_revocation_of_another_clients_token_changes_nothing(client, admin_token, rp, citizen):
    body = offline_tokens(rp, citizen)
    other = register_rp(client, admin_token)
    assert revoke(other, body["refresh_token"]).status_code == 200  # RFC 7009 §2.2: same answer
    assert userinfo(client, body["access_token"]).status_code == 200
    assert refresh(rp, body["refresh_token"]).status_code == 200


def test_revocation_requires_client_authentication(client, rp, citizen):
    body = tokens(rp, citizen)
    response = client.post("/oauth/revoke", data={"token": body["access_token"]})
    assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"
    assert userinfo(client, body["access_token"]).status_code == 200


def test_introspection_tells_a_resource_server_that_a_token_is_dpop_bound(client, dpop_rp, citizen, api_client):
    """RFC 9449 §6.2: without cnf and token_type DPoP the resource server would take the token as a bearer token."""
    key = DpopKey()
    body, _ = dpop_tokens(dpop_rp, citizen, key)
    info = introspect(api_client("introspect"), body["access_token"])
    assert info["active"] is True and info["token_type"] == "DPoP" and info["cnf"] == {"jkt": key.jkt}


def test_introspection_says_inactive_once_the_relying_party_is_deactivated(client, rp, citizen, api_client, admin_token):
    body = tokens(rp, citizen)
    resource_server = api_client("introspect")
    info = introspect(resource_server, body["access_token"])
    assert info["active"] is True and info["token_type"] == "Bearer" and "cnf" not in info
    request = {
        "clientName": "Ministry portal",
        "status": "INACTIVE",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": [rp.redirect_uri],
        "userClaims": ["name"],
        "authContextRefs": ["idbb:acr:static-code"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    updated = client.put(
        f"/client-mgmt/oidc-client/{rp.client_id}",
        headers=bearer(admin_token),
        json={"requestTime": request_time(), "request": request},
    )
    assert updated.status_code == 200 and not updated.json()["errors"], updated.text
    assert userinfo(client, body["access_token"]).status_code == 401
    assert introspect(resource_server, body["access_token"]) == {"active": False}


def test_introspection_needs_the_introspect_scope(client, rp, citizen, api_client):
    body = tokens(rp, citizen)
    assert introspect(api_client("read_oidc_client"), body["access_token"]) == {"active": False}
