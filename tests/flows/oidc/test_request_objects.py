"""Signed request objects (JAR, RFC 9101): the key, the client_id, expiry."""

from typing import Any

import jwt as pyjwt
import pytest

from app.clock import clock
from tests.conftest import ISSUER, server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    assert_error_page,
)
from tests.flows.oidc_helpers import (
    RelyingParty,
    new_rsa_key,
    register_rp,
)

# --- Request objects (JAR) -------------------------------------------------------------------------------


def request_object(
    rp: RelyingParty, pem: bytes | None = None, kid: str | None = None, **overrides: Any
) -> tuple[dict[str, str], str]:
    params = rp.authorize_params()
    claims: dict[str, Any] = {**params, "iss": rp.client_id, "aud": ISSUER, "exp": int(clock.timestamp()) + 300, **overrides}
    headers = {"kid": kid} if kid else None
    return params, pyjwt.encode(claims, pem or rp.private_pem, algorithm="RS256", headers=headers)


def authorize_with_request(rp: RelyingParty, token: str) -> Any:
    # the query carries only client_id (and the required response_type/scope): the object has the rest
    return rp.http.get(
        "/authorize",
        params={"client_id": rp.client_id, "response_type": "code", "scope": "openid", "request": token},
        follow_redirects=False,
    )


@pytest.mark.parametrize("kid", [None, "rp-key-2024"])
def test_signed_request_object_carries_the_request(client, rp, citizen, kid):
    """With or without a ``kid`` header: the client has one registered key, and it verifies."""
    params, token = request_object(rp, kid=kid)
    rp.last = params
    page = authorize_with_request(rp, token)
    assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    code = rp.code_from(rp.consent(consent_page))
    response = rp.exchange(code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"].split() == ["openid", "profile"]  # from the object, not the query
    claims = verify_with_pyjwt(body["id_token"], server_jwks(client), audience=rp.client_id)
    assert claims["nonce"] == params["nonce"]


@pytest.mark.parametrize(("kid", "accepted"), [("rp-key-1", True), (None, True), ("rp-key-0", False)])
def test_request_object_kid_must_name_the_registered_key_when_both_have_one(client, admin_token, kid, accepted):
    """RFC 7515 §4.1.4: a ``kid`` that names another key than the registered one is refused (same key or not)."""
    pem, public = new_rsa_key()
    registered = register_rp(client, admin_token, publicKey={**public, "kid": "rp-key-1"})
    rp = RelyingParty(registered.client_id, pem, public, client)
    params, token = request_object(rp, kid=kid)
    rp.last = params
    page = authorize_with_request(rp, token)
    if accepted:
        assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    else:
        assert_error_page(page, status=200)


def test_request_object_signed_by_another_key_is_an_error_page(rp):
    other_pem, _ = new_rsa_key()
    _, token = request_object(rp, pem=other_pem)
    assert_error_page(authorize_with_request(rp, token), status=200)


def test_request_object_with_another_client_id_is_an_error_page(client, admin_token, rp):
    other = register_rp(client, admin_token)
    _, token = request_object(rp, client_id=other.client_id)
    assert_error_page(authorize_with_request(rp, token), status=200)


def test_expired_request_object_is_an_error_page(rp):
    _, token = request_object(rp, exp=int(clock.timestamp()) - 10)
    assert_error_page(authorize_with_request(rp, token), status=200)
