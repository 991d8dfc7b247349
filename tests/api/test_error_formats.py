"""Errors come out in the wire format of the path's protocol; a 5xx never leaks internals."""

import pytest

from app.api import error_formats
from tests.conftest import bearer, request_time


def test_malformed_json_at_client_mgmt_is_an_envelope_invalid_request(client, admin_token):
    response = client.post(
        "/client-mgmt/oidc-client", content=b"{not json", headers={**bearer(admin_token), "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["response"] == {}
    assert [e["errorCode"] for e in body["errors"]] == ["invalid_request"]


def test_wrong_media_type_at_client_mgmt_is_an_envelope_error(client, admin_token):
    response = client.post(
        "/client-mgmt/oidc-client", content=b"a=b", headers={**bearer(admin_token), "Content-Type": "text/plain"}
    )
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["errorCode"] == "invalid_request"


def test_unknown_method_at_client_mgmt_keeps_405_in_the_envelope(client, admin_token):
    response = client.delete("/client-mgmt/oidc-client/x", headers=bearer(admin_token))
    assert response.status_code == 405
    assert response.json()["errors"][0]["errorCode"] == "method_not_allowed"


def test_token_endpoint_with_json_body_answers_oauth_json(client):
    response = client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert 400 <= response.status_code < 500
    body = response.json()
    assert set(body) <= {"error", "error_description"} and body["error"]
    assert response.headers["cache-control"] == "no-store"


def test_token_endpoint_without_body_answers_oauth_json(client):
    response = client.post("/oauth/token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_payload"  # GovStack §8 token error precedence


def test_unknown_path_is_problem_json(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


def test_osia_prefix_speaks_osia(client):
    response = client.get("/v1/no-such-interface")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == 404


def test_datastore_prefix_speaks_its_error_object(client):
    response = client.get("/api/v1/datastore/x")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "path, fmt",
    [
        ("/authorize", "oauth"),
        ("/oauth/token", "oauth"),
        ("/oidc/userinfo", "oauth"),
        ("/credential", "oauth"),
        ("/client-mgmt/oidc-client", "envelope"),
        ("/linked-authorization/link-code", "envelope"),
        ("/wallet-binding", "envelope"),
        ("/v1/enrollments/1", "osia"),
        ("/api/v1/identity/x", "datastore"),
        ("/health", "problem"),
        ("/.well-known/jwks.json", "problem"),
    ],
)
def test_prefix_table(path, fmt):
    assert error_formats.wire_format(path) == fmt


def test_internal_error_does_not_leak_at_client_mgmt(client, admin_token, monkeypatch):
    from app.services.oidc import oidc_clients

    def boom(*_a, **_k):
        raise RuntimeError("db password is hunter2 at /srv/secret.py line 42")

    monkeypatch.setattr(oidc_clients, "read", boom)
    response = client.get("/client-mgmt/oidc-client/x", headers=bearer(admin_token))
    assert response.status_code == 500
    assert "hunter2" not in response.text and "secret.py" not in response.text
    assert response.json()["errors"][0]["errorCode"] == "server_error"


def test_internal_error_does_not_leak_at_token_endpoint(client, monkeypatch):
    from app.services.oidc import token_endpoint

    def boom(*_a, **_k):
        raise RuntimeError("hunter2")

    monkeypatch.setattr(token_endpoint, "token", boom)
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "error_description": "An internal error occurred."}


def test_response_that_breaks_the_contract_is_a_generic_500(client, admin_token, monkeypatch):
    """Response validation is on: a handler answer outside the spec never reaches the client."""
    from app.services.oidc import oidc_clients

    monkeypatch.setattr(oidc_clients, "read", lambda _cid: {"clientId": "x", "status": "exploded"})
    response = client.get("/client-mgmt/oidc-client/x", headers=bearer(admin_token))
    assert response.status_code == 500
    assert "exploded" not in response.text


def test_validation_message_does_not_echo_submitted_values():
    from connexion.exceptions import BadRequestProblem

    err = error_formats.classify(BadRequestProblem(detail="'jane.doe@example.org' is not of type 'integer'"))
    assert "jane.doe" not in err.description
    assert err.status == 400


def test_request_time_is_required_before_anything_else(client, admin_token):
    response = client.post("/client-mgmt/oidc-client", json={"request": {"clientId": ""}}, headers=bearer(admin_token))
    assert response.json()["errors"][0]["errorCode"] == "invalid_request"
    assert request_time()


def test_validation_message_keeps_schema_member_names_and_drops_nested_values():
    from connexion.exceptions import BadRequestProblem

    required = error_formats.classify(BadRequestProblem(detail="'documentType' is a required property"))
    assert required.description == "'documentType' is a required property"
    nested = error_formats.classify(
        BadRequestProblem(
            detail="[{'requestData': {'credentials': {'pin': '4821'}}, 'lastName': 'Diallo'}] is not of type 'object'"
        )
    )
    assert "4821" not in nested.description and "Diallo" not in nested.description
    assert nested.description == "value is not of type 'object'"
