"""RFC 7662 introspection (resource servers with the `introspect` scope) and RFC 7009 revocation."""

from app.clock import clock
from tests.conftest import ISSUER, bearer, seal_audit


def call(client, path, caller, **form):
    data = {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": caller.assertion(aud=ISSUER + path),
        **form,
    }
    return client.post(path, data=data)


def test_introspection_of_an_active_token(client, api_client):
    resource_server = api_client("introspect")
    caller = api_client("read_oidc_client")
    token = caller.token()
    response = call(client, "/oauth/introspect", resource_server, token=token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == caller.client_id and body["scope"] == "read_oidc_client"
    assert body["token_type"] == "Bearer" and body["iss"] == ISSUER and body["exp"] > body["iat"]


def test_introspection_says_inactive_for_expired_garbage_and_foreign_tokens(client, api_client):
    resource_server = api_client("introspect")
    token = api_client("read_oidc_client").token()
    assert call(client, "/oauth/introspect", resource_server, token="not-a-token").json() == {"active": False}
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert call(client, "/oauth/introspect", resource_server, token=tampered).json() == {"active": False}
    clock.advance(601)
    assert call(client, "/oauth/introspect", resource_server, token=token).json() == {"active": False}


def test_introspection_needs_the_introspect_scope(client, api_client):
    nosy = api_client("read_oidc_client")
    token = api_client("read_oidc_client").token()
    assert call(client, "/oauth/introspect", nosy, token=token).json() == {"active": False}


def test_introspection_needs_client_authentication(client, api_client):
    token = api_client("read_oidc_client").token()
    response = client.post("/oauth/introspect", data={"token": token})
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_introspection_without_token_parameter_is_invalid_request(client, api_client):
    response = call(client, "/oauth/introspect", api_client("introspect"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_revoked_token_no_longer_opens_the_api_and_introspects_inactive(client, api_client):
    caller = api_client("read_oidc_client")
    token = caller.token()
    assert client.get("/client-mgmt/oidc-client/x", headers=bearer(token)).status_code == 200
    response = call(client, "/oauth/revoke", caller, token=token)
    assert response.status_code == 200
    refused = client.get("/client-mgmt/oidc-client/x", headers=bearer(token))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert call(client, "/oauth/introspect", api_client("introspect"), token=token).json() == {"active": False}
    other = caller.token()  # a fresh token still works
    assert client.get("/client-mgmt/oidc-client/x", headers=bearer(other)).status_code == 200


def test_a_client_cannot_revoke_another_clients_token(client, api_client):
    victim = api_client("read_oidc_client")
    token = victim.token()
    response = call(client, "/oauth/revoke", api_client("read_oidc_client"), token=token)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert client.get("/client-mgmt/oidc-client/x", headers=bearer(token)).status_code == 200


def test_revoking_an_unknown_token_answers_200(client, api_client):
    assert call(client, "/oauth/revoke", api_client("read_oidc_client"), token="whatever").status_code == 200


def test_revocation_is_audited(app, client, api_client):
    from app.extensions import db
    from app.models.audit import AuditEvent

    caller = api_client("read_oidc_client")
    call(client, "/oauth/revoke", caller, token=caller.token())
    with app.app.app_context():
        seal_audit()
        actions = [e.action for e in db.session.query(AuditEvent)]
    assert "token.revoked" in actions
