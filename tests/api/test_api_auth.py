"""Scoped bearer tokens for the administrative APIs, and the token endpoint that issues them."""

import base64
import json
from typing import Any

import jwt as pyjwt
import pytest

from app.clock import clock
from tests.conftest import ASSERTION_TYPE, ISSUER, bearer, request_time, seal_audit, server_jwks, verify_with_pyjwt

READ = "/client-mgmt/oidc-client/anything"


def challenge(response: Any) -> str:
    return str(response.headers.get("www-authenticate", ""))


def test_client_credentials_token_is_an_rfc9068_jwt_verified_by_another_library(client, api_client):
    caller = api_client("read_oidc_client", "add_oidc_client")
    response = caller.token_response(scope="read_oidc_client")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read_oidc_client"
    header = pyjwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    claims = verify_with_pyjwt(body["access_token"], server_jwks(client))
    assert claims["iss"] == ISSUER
    assert claims["client_id"] == claims["sub"] == caller.client_id
    assert claims["scope"] == "read_oidc_client"
    assert claims["exp"] - claims["iat"] == body["expires_in"] > 0
    assert claims["jti"]


def test_without_scope_parameter_the_registered_scopes_are_granted(api_client):
    caller = api_client("read_oidc_client", "update_oidc_client")
    assert set(caller.token_response().json()["scope"].split()) == {"read_oidc_client", "update_oidc_client"}


def test_scope_beyond_registration_is_invalid_scope(api_client):
    response = api_client("read_oidc_client").token_response(scope="read_oidc_client add_oidc_client")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_assertion_jti_cannot_be_replayed(client, api_client):
    caller = api_client("read_oidc_client")
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": caller.assertion(),
    }
    assert client.post("/oauth/token", data=form).status_code == 200
    replay = client.post("/oauth/token", data=form)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"


def test_refused_request_still_burns_the_assertion(client, api_client):
    caller = api_client("read_oidc_client")
    assertion = caller.assertion()
    bad = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": "add_oidc_client",
    }
    assert client.post("/oauth/token", data=bad).json()["error"] == "invalid_scope"
    good = dict(bad, scope="read_oidc_client")
    assert client.post("/oauth/token", data=good).json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere.example/token"},
        {"exp": None},
        {"jti": None},
        {"sub": "somebody-else"},
    ],
)
def test_bad_assertion_claims_are_invalid_client(api_client, claims):
    response = api_client("read_oidc_client").token_response(**claims)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_assertion_with_the_issuer_as_audience_is_accepted(api_client):
    assert api_client("read_oidc_client").token_response(aud=ISSUER).status_code == 200


def test_expired_assertion_is_refused(api_client):
    caller = api_client("read_oidc_client")
    now = int(clock.timestamp())
    response = caller.token_response(iat=now - 600, exp=now - 300)
    assert response.json()["error"] == "invalid_client"


def test_assertion_valid_for_too_long_is_refused(api_client):
    now = int(clock.timestamp())
    response = api_client("read_oidc_client").token_response(exp=now + 3600)
    assert response.json()["error"] == "invalid_client"


def test_assertion_signed_by_another_key_is_refused(client, api_client):
    caller = api_client("read_oidc_client")
    impostor = api_client("read_oidc_client")
    now = int(clock.timestamp())
    forged = pyjwt.encode(
        {"iss": caller.client_id, "sub": caller.client_id, "aud": ISSUER + "/oauth/token", "exp": now + 60, "jti": "x1"},
        impostor.private_pem,
        algorithm="ES256",
    )
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": forged},
    )
    assert response.json()["error"] == "invalid_client"


def test_unsigned_assertion_is_refused(client, api_client):
    caller = api_client("read_oidc_client")
    now = int(clock.timestamp())
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    body = (
        base64.urlsafe_b64encode(
            json.dumps(
                {
                    "iss": caller.client_id,
                    "sub": caller.client_id,
                    "aud": ISSUER + "/oauth/token",
                    "exp": now + 60,
                    "jti": "n1",
                }
            ).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": f"{head}.{body}.",
        },
    )
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_is_invalid_client(client):
    now = int(clock.timestamp())
    from tests.conftest import new_ec_key

    pem, _ = new_ec_key()
    assertion = pyjwt.encode(
        {"iss": "ghost", "sub": "ghost", "aud": ISSUER + "/oauth/token", "exp": now + 60, "jti": "g1"},
        pem,
        algorithm="ES256",
    )
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
    )
    assert response.json()["error"] == "invalid_client"


def test_unsupported_grant_type(api_client, client):
    caller = api_client("read_oidc_client")
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "u",
            "password": "p",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": caller.assertion(),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.headers["cache-control"] == "no-store"


def test_repeated_parameter_is_invalid_request(client, api_client):
    caller = api_client("read_oidc_client")
    body = (
        f"grant_type=client_credentials&scope=a&scope=b&client_assertion_type={ASSERTION_TYPE}"
        f"&client_assertion={caller.assertion()}"
    )
    response = client.post("/oauth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.json()["error"] == "invalid_request"


def test_two_client_authentication_methods_are_refused(client, api_client):
    caller = api_client("read_oidc_client")
    response = client.post(
        "/oauth/token",
        auth=(caller.client_id, "secret"),
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": caller.assertion(),
        },
    )
    assert response.json()["error"] == "invalid_request"


def test_client_secret_basic_for_a_client_registered_that_way(app, client):
    from app.services import api_clients

    with app.app.app_context():
        made = api_clients.register("batch", name="Batch", scopes=["read_oidc_client"], auth_method="client_secret_basic")
    ok = client.post("/oauth/token", auth=("batch", made.secret), data={"grant_type": "client_credentials"})
    assert ok.status_code == 200
    wrong = client.post("/oauth/token", auth=("batch", made.secret + "x"), data={"grant_type": "client_credentials"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "Basic" in challenge(wrong) or "basic" in challenge(wrong).lower()


def test_private_key_jwt_client_cannot_use_a_secret(client, api_client):
    caller = api_client("read_oidc_client")
    response = client.post("/oauth/token", auth=(caller.client_id, "guess"), data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_secret_is_stored_hashed(app):
    from app.extensions import db
    from app.models.clients import Client
    from app.services import api_clients

    with app.app.app_context():
        made = api_clients.register("batch2", name="Batch", scopes=["read_oidc_client"], auth_method="client_secret_basic")
        stored = db.session.get(Client, "batch2").secret_hash
    assert made.secret and made.secret not in stored


# --- the bearer side: 401/403 with WWW-Authenticate -------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(client):
    response = client.get(READ)
    assert response.status_code == 401
    assert challenge(response).startswith("Bearer ")
    assert "error=" not in challenge(response)  # RFC 6750 §3.1: no error code without credentials
    assert response.json()["errors"][0]["errorCode"] == "invalid_token"


def test_wrong_scope_is_403_insufficient_scope(client, api_client):
    token = api_client("read_oidc_client").token()
    response = client.post(
        "/client-mgmt/oidc-client", headers=bearer(token), json={"requestTime": request_time(), "request": {}}
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge(response)
    assert 'scope="add_oidc_client"' in challenge(response)
    assert response.json()["errors"][0]["errorCode"] == "insufficient_scope"


def test_expired_token_is_401_invalid_token(client, api_client):
    token = api_client("read_oidc_client").token()
    clock.advance(601)
    response = client.get(READ, headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)


def test_tampered_token_is_401_invalid_token(client, api_client):
    token = api_client("read_oidc_client").token()
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "read_oidc_client add_oidc_client"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = client.get(READ, headers=bearer(f"{head}.{forged}.{sig}"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)


def test_token_of_another_type_is_refused(app, client, api_client):
    """A JWT signed by idbb but without ``typ: at+jwt`` (RFC 9068 §4) is not an access token."""
    from app.formats.jose import sign_jwt
    from app.services import keys

    caller = api_client("read_oidc_client")
    now = int(clock.timestamp())
    claims = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": caller.client_id,
        "client_id": caller.client_id,
        "scope": "read_oidc_client",
        "iat": now,
        "exp": now + 60,
        "jti": "t1",
    }
    with app.app.app_context():
        key = keys.signing_key("RSA")
        token = sign_jwt(claims, key.jwk, key.alg, typ="JWT")
    response = client.get(READ, headers=bearer(token))
    assert response.status_code == 401


def test_garbage_bearer_is_401(client):
    response = client.get(READ, headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)


def test_token_issuance_is_audited(app, api_client):
    from app.extensions import db
    from app.models.audit import AuditEvent

    caller = api_client("read_oidc_client")
    caller.token()
    with app.app.app_context():
        seal_audit()
        actions = [(e.action, e.actor) for e in db.session.query(AuditEvent).order_by(AuditEvent.seq)]
    assert ("token.issued", caller.client_id) in actions


def test_request_time_helper_is_utc_millis():
    assert request_time().endswith("Z") and len(request_time()) == 24
