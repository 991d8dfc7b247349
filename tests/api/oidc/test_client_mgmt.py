"""GovStack/eSignet OIDC client management over HTTP: every error code, replay, duplicates, keys."""

import base64
import copy
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import bearer, request_time, seal_audit


def rsa_public_jwk(bits: int = 2048) -> dict[str, Any]:
    return RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key(), as_dict=True)


def rsa_private_jwk() -> dict[str, Any]:
    return RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), as_dict=True)


@pytest.fixture(scope="module")
def rp_key() -> dict[str, Any]:
    return rsa_public_jwk()


def envelope(request: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Wrap ``request`` with ``changes`` applied (``_DROP`` removes a member) in a fresh envelope."""
    for name, value in changes.items():
        if value is _DROP:
            request.pop(name, None)
        else:
            request[name] = value
    return {"requestTime": request_time(), "request": request}


def create_body(rp_key: dict[str, Any], **changes: Any) -> dict[str, Any]:
    request = {
        "clientId": "health-portal",
        "clientName": "Health Portal",
        "relyingPartyId": "ministry-of-health",
        "logoUri": "https://health.example.gov/logo.png",
        "redirectUris": ["https://health.example.gov/cb"],
        "authContextRefs": ["idbb:acr:static-code", "idbb:acr:generated-code"],
        "publicKey": rp_key,
        "userClaims": ["name", "birthdate"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    return envelope(request, changes)


def update_body(**changes: Any) -> dict[str, Any]:
    request = {
        "clientName": "Health Portal v2",
        "status": "active",
        "logoUri": "https://health.example.gov/logo2.png",
        "redirectUris": ["https://health.example.gov/cb2"],
        "userClaims": ["name"],
        "authContextRefs": ["idbb:acr:static-code"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    return envelope(request, changes)


_DROP = object()


def only_error(response: Any) -> str:
    """eSignet envelope: HTTP 200, empty response, exactly one error; returns its code."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"] == {}
    assert len(body["errors"]) == 1, body
    assert body["errors"][0]["errorMessage"]
    assert body["responseTime"].endswith("Z")
    return str(body["errors"][0]["errorCode"])


def post(client: Any, token: str, body: Any) -> Any:
    return client.post("/client-mgmt/oidc-client", json=body, headers=bearer(token))


def test_create_returns_client_id_and_empty_errors(client, admin_token, rp_key):
    response = post(client, admin_token, create_body(rp_key))
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == []
    assert body["response"] == {"clientId": "health-portal", "status": "active"}


def test_created_client_can_be_read_back(client, admin_token, rp_key):
    post(client, admin_token, create_body(rp_key))
    body = client.get("/client-mgmt/oidc-client/health-portal", headers=bearer(admin_token)).json()
    assert body["errors"] == []
    got = body["response"]
    assert got["clientName"] == "Health Portal"
    assert got["relyingPartyId"] == "ministry-of-health"
    assert got["redirectUris"] == ["https://health.example.gov/cb"]
    assert got["publicKey"]["n"] == rp_key["n"]
    assert "d" not in got["publicKey"]


def test_redirect_uris_may_be_omitted_on_create(client, admin_token, rp_key):
    response = post(client, admin_token, create_body(rp_key, redirectUris=_DROP))
    assert response.json()["errors"] == []


@pytest.mark.parametrize(
    "change, code",
    [
        ({"clientId": _DROP}, "invalid_client_id"),
        ({"clientId": ""}, "invalid_client_id"),
        ({"clientId": "has space"}, "invalid_client_id"),
        ({"clientId": "x" * 51}, "invalid_client_id"),
        ({"clientName": _DROP}, "invalid_client_name"),
        ({"clientName": "   "}, "invalid_client_name"),
        ({"clientName": "n" * 257}, "invalid_client_name"),
        ({"relyingPartyId": _DROP}, "invalid_rp_id"),
        ({"relyingPartyId": ""}, "invalid_rp_id"),
        ({"logoUri": "not a uri"}, "invalid_uri"),
        ({"logoUri": "http://health.example.gov/logo.png"}, "invalid_uri"),
        ({"logoUri": _DROP}, "invalid_uri"),
        ({"redirectUris": []}, "invalid_redirect_uri"),
        ({"redirectUris": [""]}, "invalid_redirect_uri"),
        ({"redirectUris": ["/relative/cb"]}, "invalid_redirect_uri"),
        ({"redirectUris": ["https://health.example.gov/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirectUris": ["https://*.example.gov/cb"]}, "invalid_redirect_uri"),
        ({"redirectUris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirectUris": ["http://health.example.gov/cb"]}, "invalid_redirect_uri"),
        ({"authContextRefs": ["mosip:idp:acr:static-code"]}, "invalid_acr"),
        ({"authContextRefs": []}, "invalid_acr"),
        ({"userClaims": ["shoe_size"]}, "invalid_claim"),
        ({"grantTypes": ["implicit"]}, "invalid_grant_type"),
        ({"grantTypes": []}, "invalid_grant_type"),
        ({"clientAuthMethods": ["none"]}, "invalid_client_auth"),
        ({"clientAuthMethods": []}, "invalid_client_auth"),
    ],
)
def test_each_invalid_member_gets_its_single_error_code(client, admin_token, rp_key, change, code):
    assert only_error(post(client, admin_token, create_body(rp_key, **change))) == code


def test_loopback_and_native_app_redirect_uris_are_accepted(client, admin_token, rp_key):
    uris = ["http://127.0.0.1:8765/cb", "http://localhost/cb", "gov.example.health:/oauth2redirect"]
    response = post(client, admin_token, create_body(rp_key, redirectUris=uris))
    assert response.json()["errors"] == []


@pytest.mark.parametrize("request_time_value", [None, "", "2026-01-01T10:00:00Z", "2026-01-01 10:00:00.000", "yesterday"])
def test_missing_or_malformed_request_time_is_invalid_request(client, admin_token, rp_key, request_time_value):
    body = create_body(rp_key)
    body["requestTime"] = request_time_value
    assert only_error(post(client, admin_token, body)) == "invalid_request"


def test_request_time_outside_the_allowed_skew_is_invalid_request(client, admin_token, rp_key):
    body = create_body(rp_key)
    body["requestTime"] = request_time(-600)
    assert only_error(post(client, admin_token, body)) == "invalid_request"


def test_missing_request_member_is_invalid_request(client, admin_token):
    assert only_error(post(client, admin_token, {"requestTime": request_time()})) == "invalid_request"


def test_first_failing_member_in_govstack_order_is_reported(client, admin_token, rp_key):
    body = create_body(rp_key, clientName="", userClaims=["shoe_size"], publicKey={"kty": "oct", "k": "AAAA"})
    assert only_error(post(client, admin_token, body)) == "invalid_client_name"


@pytest.mark.parametrize("key_case", ["private", "symmetric", "garbage", "small_rsa", "empty"])
def test_unusable_public_keys_are_refused(client, admin_token, rp_key, key_case):
    keys = {
        "private": rsa_private_jwk(),
        "symmetric": {"kty": "oct", "k": base64.urlsafe_b64encode(b"0" * 32).decode()},
        "garbage": "not a key",
        "small_rsa": rsa_public_jwk(1024),
        "empty": {},
    }
    assert only_error(post(client, admin_token, create_body(rp_key, publicKey=keys[key_case]))) == "invalid_public_key"


@pytest.mark.parametrize("encoding", ["object", "json_string", "base64url", "base64"])
def test_public_key_is_accepted_in_all_encodings(client, admin_token, rp_key, encoding):
    text = json.dumps(rp_key)
    value = {
        "object": rp_key,
        "json_string": text,
        "base64url": base64.urlsafe_b64encode(text.encode()).decode().rstrip("="),
        "base64": base64.b64encode(text.encode()).decode(),
    }[encoding]
    response = post(client, admin_token, create_body(rp_key, clientId=f"rp-{encoding}", publicKey=value))
    assert response.json()["errors"] == []
    stored = client.get(f"/client-mgmt/oidc-client/rp-{encoding}", headers=bearer(admin_token)).json()
    assert stored["response"]["publicKey"]["n"] == rp_key["n"]


def test_identical_replay_of_create_succeeds_with_the_same_answer(client, admin_token, rp_key):
    body = create_body(rp_key)
    first = post(client, admin_token, body).json()
    replay = copy.deepcopy(body)
    replay["requestTime"] = request_time()
    second = post(client, admin_token, replay).json()
    assert first["errors"] == second["errors"] == []
    assert first["response"] == second["response"] == {"clientId": "health-portal", "status": "active"}


def test_same_client_id_with_a_different_body_is_duplicate(client, admin_token, rp_key):
    post(client, admin_token, create_body(rp_key))
    assert only_error(post(client, admin_token, create_body(rp_key, clientName="Other"))) == "duplicate_client_id"
    name = client.get("/client-mgmt/oidc-client/health-portal", headers=bearer(admin_token)).json()
    assert name["response"]["clientName"] == "Health Portal"


def test_client_id_of_an_api_client_is_duplicate(client, admin_token, api_client, rp_key):
    taken = api_client("read_oidc_client").client_id
    assert only_error(post(client, admin_token, create_body(rp_key, clientId=taken))) == "duplicate_client_id"


def put(client: Any, token: str, client_id: str, body: Any) -> Any:
    return client.put(f"/client-mgmt/oidc-client/{client_id}", json=body, headers=bearer(token))


def test_update_changes_members_and_ignores_immutable_and_unknown_ones(client, admin_token, rp_key):
    post(client, admin_token, create_body(rp_key))
    other_key = rsa_public_jwk()
    body = update_body(publicKey=other_key, relyingPartyId="someone-else", shoeSize=42, status="INACTIVE")
    response = put(client, admin_token, "health-portal", body)
    assert response.json() == {
        **response.json(),
        "errors": [],
        "response": {"clientId": "health-portal", "status": "inactive"},
    }
    got = client.get("/client-mgmt/oidc-client/health-portal", headers=bearer(admin_token)).json()["response"]
    assert got["clientName"] == "Health Portal v2"
    assert got["redirectUris"] == ["https://health.example.gov/cb2"]
    assert got["status"] == "inactive"
    assert got["publicKey"]["n"] == rp_key["n"]
    assert got["relyingPartyId"] == "ministry-of-health"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"clientName": ""}, "invalid_client_name"),
        ({"logoUri": "ftp://x"}, "invalid_uri"),
        ({"redirectUris": []}, "invalid_redirect_uri"),
        ({"redirectUris": _DROP}, "invalid_redirect_uri"),
        ({"authContextRefs": ["idbb:acr:nothing"]}, "invalid_acr"),
        ({"userClaims": ["password"]}, "invalid_claim"),
        ({"grantTypes": ["password"]}, "invalid_grant_type"),
        ({"clientAuthMethods": ["client_secret_jwt"]}, "invalid_client_auth"),
        ({"status": "deleted"}, "invalid_request"),
    ],
)
def test_update_errors(client, admin_token, rp_key, change, code):
    post(client, admin_token, create_body(rp_key))
    assert only_error(put(client, admin_token, "health-portal", update_body(**change))) == code
    got = client.get("/client-mgmt/oidc-client/health-portal", headers=bearer(admin_token)).json()["response"]
    assert got["clientName"] == "Health Portal"  # nothing half-written


def test_update_of_unknown_client_is_invalid_client_id(client, admin_token):
    assert only_error(put(client, admin_token, "nobody", update_body())) == "invalid_client_id"


def test_read_of_unknown_client_is_invalid_client_id(client, admin_token):
    response = client.get("/client-mgmt/oidc-client/nobody", headers=bearer(admin_token))
    assert only_error(response) == "invalid_client_id"


def test_client_writes_are_audited_with_the_calling_api_client(app, client, api_client, rp_key):
    from app.models.audit import AuditEvent

    caller = api_client("add_oidc_client")
    post(client, caller.token(), create_body(rp_key))
    with app.app.app_context():
        seal_audit()
        from app.extensions import db

        events = db.session.query(AuditEvent).filter_by(action="oidc_client.created").all()
    assert [(e.actor, e.target, e.outcome) for e in events] == [(f"client:{caller.client_id}", "health-portal", "success")]
