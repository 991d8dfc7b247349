"""Issue 14, robustness 13: NUL and control characters never reach the database (PostgreSQL refuses NUL in
text and jsonb: a 500 there); each surface answers its own 4xx. Run on PostgreSQL as well as SQLite."""

import pytest

from tests.conftest import bearer
from tests.enrollment_helpers import full_body
from tests.flows.oidc_helpers import register_rp

NUL = "a\x00b"


@pytest.mark.parametrize(
    "member",
    [
        "state",
        "nonce",
        "login_hint",
        "ui_locales",
        "claims_locales",
        "acr_values",
        "redirect_uri",
        "scope",
        "code_challenge",
        "prompt",
    ],
)
def test_nul_in_an_authorization_request_is_not_a_500(client, admin_token, member):
    rp = register_rp(client, admin_token)
    page = rp.authorize(**{member: NUL})
    assert page.status_code < 500, page.text[:300]


@pytest.mark.parametrize(
    "member",
    ["client_id", "code", "redirect_uri", "code_verifier", "scope", "grant_type", "client_assertion", "refresh_token"],
)
def test_nul_in_a_token_request_is_not_a_500(client, member):
    form = {
        "grant_type": "authorization_code",
        "code": "c",
        "redirect_uri": "https://rp.example/cb",
        "client_id": "x",
        "code_verifier": "v" * 43,
    }
    form[member] = NUL
    response = client.post("/oauth/token", data=form)
    assert 400 <= response.status_code < 500, response.text


def test_nul_at_introspection_revocation_and_par_is_not_a_500(client):
    for path in ("/oauth/introspect", "/oauth/revoke", "/oauth/par"):
        response = client.post(path, data={"token": NUL, "client_id": NUL, "response_type": "code"})
        assert 400 <= response.status_code < 500, (path, response.text)


def test_nul_in_the_wallet_calls_is_not_a_500(client):
    from tests.conftest import request_time

    for path, request in [
        ("/linked-authorization/link-transaction", {"linkCode": NUL}),
        ("/linked-authorization/v2/link-transaction", {"linkCode": NUL}),
        ("/linked-authorization/link-code", {"transactionId": NUL}),
        (
            "/linked-authorization/authenticate",
            {
                "linkedTransactionId": NUL,
                "individualId": NUL,
                "challengeList": [{"authFactorType": "PIN", "challenge": NUL, "format": "number"}],
            },
        ),
        (
            "/linked-authorization/consent",
            {"linkedTransactionId": NUL, "acceptedClaims": [NUL], "permittedAuthorizeScopes": []},
        ),
    ]:
        response = client.post(path, json={"requestTime": request_time(), "request": request}, headers={"X-XSRF-TOKEN": "x"})
        assert response.status_code < 500, (path, response.text)


def test_nul_in_enrollment_identifiers_is_not_a_500(osia):
    assert osia.http.get(osia.url("/v1/enrollments/a%00b"), headers=osia.auth()).status_code < 500
    assert osia.http.get("/v1/enrollments/E-1?transactionId=a%00b", headers=osia.auth()).status_code < 500
    response = osia.create("E-nul", {**full_body(), "contextualData": {NUL: "x"}})
    assert response.status_code == 400


def test_nul_in_the_registry_is_not_a_500(client, api_client):
    token = api_client("registry.read", "registry.write").token()
    assert client.get("/registry/identities/a%00b", headers=bearer(token)).status_code < 500
    response = client.patch(
        "/registry/identities/1234567890",
        json={"changes": {"firstName": NUL}, "reason": "r", "evidence": {}},
        headers=bearer(token),
    )
    assert response.status_code < 500


@pytest.mark.parametrize("path", ["/authorize/login", "/authorize/otp"])
def test_nul_in_a_multipart_login_form_is_not_a_500(client, admin_token, path):
    """The login pages are Flask views, and werkzeug parses multipart/form-data as well as urlencoded forms: a
    NUL sent raw in a multipart field (no %00 for the request guard to see) reached the identifier lookup, a
    500 on PostgreSQL. The guard refuses a NUL in any body at the form surfaces."""
    from tests.flows.oidc_helpers import forms

    rp = register_rp(client, admin_token, acrs=["idbb:acr:static-code", "idbb:acr:generated-code"])
    form = forms(rp.authorize().text)["pin-form"]
    fields = {**form["fields"], "identifier": NUL, "secret": "123456"}
    response = client.post(path, files={name: (None, value) for name, value in fields.items()})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"] == "invalid_request"  # the guard's answer, on SQLite too (not the login page)
