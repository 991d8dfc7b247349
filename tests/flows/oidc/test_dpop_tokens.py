"""DPoP-bound tokens (RFC 9449): the nonce challenge, bound tokens at userinfo, proof binding and replay."""

from tests.conftest import ISSUER, server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    TOKEN,
    USERINFO,
    DpopKey,
    assert_oauth_error,
    dpop_tokens,
    obtain_code,
    userinfo,
)

# --- DPoP-bound tokens -----------------------------------------------------------------------------------


def test_dpop_client_without_proof_is_invalid_dpop_proof(dpop_rp, citizen):
    code = obtain_code(dpop_rp, citizen)
    assert_oauth_error(dpop_rp.exchange(code), "invalid_dpop_proof")


def test_dpop_nonce_challenge_then_bound_token(client, dpop_rp, citizen):
    key = DpopKey()
    code = obtain_code(dpop_rp, citizen)
    assert_oauth_error(dpop_rp.exchange(code), "invalid_dpop_proof")  # the code survives a refused request

    challenge = dpop_rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN)})
    assert_oauth_error(challenge, "use_dpop_nonce")
    nonce = challenge.headers["dpop-nonce"]
    assert nonce

    response = dpop_rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN, nonce=nonce)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    access = verify_with_pyjwt(body["access_token"], server_jwks(client), audience=ISSUER)
    assert access["cnf"] == {"jkt": key.jkt}


def test_dpop_bound_token_at_userinfo(client, dpop_rp, citizen):
    key = DpopKey()
    body, nonce = dpop_tokens(dpop_rp, citizen, key)
    access = body["access_token"]
    url = ISSUER + USERINFO

    proof = key.proof("GET", url, nonce=nonce, access_token=access)
    ok = userinfo(client, access, "DPoP", proof)
    assert ok.status_code == 200, ok.headers
    assert verify_with_pyjwt(ok.text, server_jwks(client), audience=dpop_rp.client_id)["sub"]

    replay = userinfo(client, access, "DPoP", proof)  # the same proof (same jti) again
    assert replay.status_code == 401
    assert 'error="invalid_dpop_proof"' in replay.headers["www-authenticate"]

    as_bearer = userinfo(client, access)
    assert as_bearer.status_code == 401
    assert as_bearer.headers["www-authenticate"].startswith("DPoP")

    no_proof = userinfo(client, access, "DPoP")
    assert no_proof.status_code == 401


def test_dpop_proof_bound_to_another_key_or_request_is_refused(client, dpop_rp, citizen):
    key = DpopKey()
    body, nonce = dpop_tokens(dpop_rp, citizen, key)
    access = body["access_token"]
    url = ISSUER + USERINFO
    stranger = DpopKey().proof("GET", url, nonce=nonce, access_token=access)
    assert userinfo(client, access, "DPoP", stranger).status_code == 401
    wrong_method = key.proof("POST", url, nonce=nonce, access_token=access)
    assert userinfo(client, access, "DPoP", wrong_method).status_code == 401
    no_ath = key.proof("GET", url, nonce=nonce)
    assert userinfo(client, access, "DPoP", no_ath).status_code == 401
    assert userinfo(client, access, "DPoP", key.proof("GET", url, nonce=nonce, access_token=access)).status_code == 200


def test_dpop_proof_replay_at_the_token_endpoint(dpop_rp, citizen):
    key = DpopKey()
    code = obtain_code(dpop_rp, citizen)
    nonce = dpop_rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN)}).headers["dpop-nonce"]
    proof = key.proof("POST", ISSUER + TOKEN, nonce=nonce)
    assert dpop_rp.exchange(code, headers={"DPoP": proof}).status_code == 200
    code = obtain_code(dpop_rp, citizen)
    assert_oauth_error(dpop_rp.exchange(code, headers={"DPoP": proof}), "invalid_dpop_proof")
