"""A successful token exchange: the response shape and headers, and the ID token (OIDC Core §3.1.3.3, §3.1.3.6)."""

import jwt as pyjwt
import pytest

from app.clock import clock
from tests.conftest import ISSUER, server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    at_hash,
    obtain_code,
    tokens,
    verify_signed,
)
from tests.flows.oidc_helpers import (
    register_rp,
)

# --- Success: response shape and the ID token ------------------------------------------------------------


def test_token_response_shape_and_headers(client, rp, citizen):
    code = obtain_code(rp, citizen)
    response = rp.exchange(code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert {"id_token", "access_token", "token_type", "expires_in", "scope"} <= body.keys()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["scope"].split() == ["openid", "profile"]
    assert "refresh_token" not in body  # no offline_access asked


def test_id_token_claims_default_rs256(client, rp, citizen):
    before = int(clock.timestamp())
    body = tokens(rp, citizen, acr_values="idbb:acr:static-code")
    jwks = server_jwks(client)
    assert pyjwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    claims = verify_with_pyjwt(body["id_token"], jwks, audience=rp.client_id)
    assert claims["iss"] == ISSUER and claims["aud"] == rp.client_id
    assert isinstance(claims["sub"], str) and claims["sub"]
    assert claims["sub"] != citizen.uin  # pairwise by default, never the UIN
    assert before <= claims["iat"] <= int(clock.timestamp()) + 1 and claims["exp"] > claims["iat"]
    assert before - 5 <= claims["auth_time"] <= claims["iat"]
    assert claims["nonce"] == rp.last["nonce"]
    assert claims["acr"] == "idbb:acr:static-code" and claims["amr"] == ["pin"]
    assert claims["at_hash"] == at_hash(body["access_token"], "RS256")
    assert isinstance(claims["sid"], str) and claims["sid"]
    access = verify_with_pyjwt(body["access_token"], jwks, audience=ISSUER)
    assert access["sub"] == claims["sub"] and access["client_id"] == rp.client_id


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA", "RS256"])
def test_id_token_signed_with_the_registered_alg(client, admin_token, citizen, alg):
    rp = register_rp(client, admin_token, additionalConfig={"id_token_signed_response_alg": alg})
    body = tokens(rp, citizen)
    claims = verify_signed(body["id_token"], server_jwks(client), rp.client_id, alg)
    assert claims["at_hash"] == at_hash(body["access_token"], alg)
    assert claims["nonce"] == rp.last["nonce"]


def test_id_token_alg_may_be_registered_at_the_top_level(client, admin_token, citizen):
    rp = register_rp(client, admin_token, id_token_signed_response_alg="ES256")
    body = tokens(rp, citizen)
    verify_signed(body["id_token"], server_jwks(client), rp.client_id, "ES256")
