"""Pushed authorization requests (RFC 9126): single-use request_uri, client authentication, and
require_pushed_authorization_requests."""

import base64
from typing import Any

import pytest

from app.clock import clock
from tests.conftest import ISSUER, server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    PAR,
    TOKEN,
    DpopKey,
    assert_error_page,
    assert_oauth_error,
    forged_assertion,
)
from tests.flows.oidc_helpers import (
    ASSERTION_TYPE,
    RelyingParty,
    query,
    register_rp,
)

# --- Pushed authorization requests -----------------------------------------------------------------------


def push(rp: RelyingParty, aud: str = ISSUER + PAR, **overrides: Any) -> Any:
    params = rp.authorize_params(**overrides)
    rp.last = params
    return rp.http.post(PAR, data={**params, **rp.auth_form(aud)})


def authorize_by_reference(rp: RelyingParty, request_uri: str) -> Any:
    return rp.http.get("/authorize", params={"client_id": rp.client_id, "request_uri": request_uri}, follow_redirects=False)


@pytest.mark.parametrize("aud", [ISSUER + PAR, ISSUER + TOKEN, ISSUER])
def test_par_then_authorize_once(client, rp, citizen, aud):
    response = push(rp, aud)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")

    page = authorize_by_reference(rp, body["request_uri"])
    assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    code = rp.code_from(rp.consent(consent_page))
    token = rp.exchange(code)
    assert token.status_code == 200, token.text
    claims = verify_with_pyjwt(token.json()["id_token"], server_jwks(client), audience=rp.client_id)
    assert claims["nonce"] == rp.last["nonce"]  # the pushed parameters were used

    assert_error_page(authorize_by_reference(rp, body["request_uri"]), status=200)  # single use


def test_par_request_uri_expires(rp):
    request_uri = push(rp).json()["request_uri"]
    clock.advance(61)
    assert_error_page(authorize_by_reference(rp, request_uri), status=200)


def test_par_request_uri_of_another_client_is_refused(client, admin_token, rp):
    request_uri = push(rp).json()["request_uri"]
    other = register_rp(client, admin_token)
    assert_error_page(authorize_by_reference(other, request_uri), status=200)


def test_par_requires_client_authentication(client, rp):
    params = rp.authorize_params()
    response = client.post(PAR, data=params)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    response = client.post(
        PAR, data={**params, "client_assertion_type": ASSERTION_TYPE, "client_assertion": forged_assertion(rp, ISSUER + PAR)}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_par_validates_the_request_like_authorize(rp):
    assert_oauth_error(push(rp, scope="profile"), "invalid_scope")
    assert_oauth_error(push(rp, redirect_uri="https://evil.example/cb"), "invalid_request")


def test_a_refused_push_still_spends_its_client_assertion(rp):
    """RFC 7523 §3 item 7: an assertion is single use even when the request it came with was refused."""
    auth = rp.auth_form(ISSUER + PAR)
    refused = rp.http.post(PAR, data={**rp.authorize_params(scope="profile"), **auth})
    assert_oauth_error(refused, "invalid_scope")
    replayed = rp.http.post(PAR, data={**rp.authorize_params(), **auth})
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client", replayed.text
    key = DpopKey()
    dpop_refused = rp.http.post(
        PAR,
        data={**rp.authorize_params(), **(auth := rp.auth_form(ISSUER + PAR))},
        headers={"DPoP": key.proof("POST", ISSUER + PAR)},
    )
    assert_oauth_error(dpop_refused, "use_dpop_nonce")
    replayed = rp.http.post(PAR, data={**rp.authorize_params(), **auth})
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client", replayed.text


def test_push_with_a_dpop_jkt_other_than_the_proofs_key_is_refused(rp):
    """RFC 9449 §10.1: dpop_jkt and the DPoP proof sent with it must name the same key."""
    key, other = DpopKey(), DpopKey()
    first = rp.http.post(
        PAR, data={**rp.authorize_params(), **rp.auth_form(ISSUER + PAR)}, headers={"DPoP": key.proof("POST", ISSUER + PAR)}
    )
    nonce = first.headers["dpop-nonce"]
    mismatch = rp.http.post(
        PAR,
        data={**rp.authorize_params(dpop_jkt=other.jkt), **rp.auth_form(ISSUER + PAR)},
        headers={"DPoP": key.proof("POST", ISSUER + PAR, nonce=nonce)},
    )
    assert_oauth_error(mismatch, "invalid_dpop_proof")
    same = rp.http.post(
        PAR,
        data={**rp.authorize_params(dpop_jkt=key.jkt), **rp.auth_form(ISSUER + PAR)},
        headers={"DPoP": key.proof("POST", ISSUER + PAR, nonce=nonce)},
    )
    assert same.status_code == 201, same.text


def test_two_client_authentication_methods_are_refused(rp):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request."""
    both = {**rp.auth_form(), "client_secret": "anything"}
    code = "any-code"
    response = rp.http.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": "v" * 43,
            **both,
        },
    )
    assert_oauth_error(response, "invalid_request")
    pushed = rp.http.post(
        PAR,
        data={**rp.authorize_params(), **rp.auth_form(ISSUER + PAR)},
        headers={"Authorization": "Basic " + base64.b64encode(b"x:y").decode()},
    )
    assert_oauth_error(pushed, "invalid_request")
    assert push(rp).status_code == 201  # one method is fine


def test_client_that_requires_par_gets_a_redirect_error_at_plain_authorize(client, admin_token, citizen):
    rp = register_rp(client, admin_token, additionalConfig={"require_pushed_authorization_requests": True})
    response = rp.authorize()
    assert response.status_code == 303, response.text[:300]
    got = query(response.headers["location"])
    assert response.headers["location"].startswith(rp.redirect_uri)
    assert got["error"] == "invalid_request" and got["state"] == rp.last["state"] and got["iss"] == ISSUER
    assert "code" not in got

    page = authorize_by_reference(rp, push(rp).json()["request_uri"])  # pushing works
    assert page.status_code == 200 and "pin-form" in page.text


def test_require_par_setting_is_advertised(make_app):
    app = make_app(require_par=True)
    metadata = app.test_client(base_url=ISSUER).get("/.well-known/openid-configuration").json()
    assert metadata["require_pushed_authorization_requests"] is True
    assert metadata["pushed_authorization_request_endpoint"] == ISSUER + PAR


def test_par_not_required_by_default(client):
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["require_pushed_authorization_requests"] is False
