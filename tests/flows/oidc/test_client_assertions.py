"""Client assertions at the token endpoint (RFC 7523): replay, audience, key, expiry, client_id."""

import pytest

from app.clock import clock
from tests.conftest import ISSUER
from tests.flows.oidc.token_helpers import (
    assert_oauth_error,
    forged_assertion,
    obtain_code,
)
from tests.flows.oidc_helpers import (
    register_rp,
)

# --- Client assertions -----------------------------------------------------------------------------------


def test_assertion_jti_replay_is_invalid_client(rp, citizen):
    assertion = rp.assertion()
    first = rp.exchange(obtain_code(rp, citizen), client_assertion=assertion)
    assert first.status_code == 200, first.text
    code = obtain_code(rp, citizen)  # SSO session and stored consent: straight back with a code
    assert_oauth_error(rp.exchange(code, client_assertion=assertion), "invalid_client")
    assert rp.exchange(code).status_code == 200  # a fresh assertion works; the code was not burned


def test_refused_request_still_burns_the_assertion(rp, citizen):
    assertion = rp.assertion()
    assert_oauth_error(rp.exchange("no-such-code", client_assertion=assertion), "invalid_grant")
    assert_oauth_error(rp.exchange(obtain_code(rp, citizen), client_assertion=assertion), "invalid_client")


@pytest.mark.parametrize("aud", ["https://elsewhere.example/oauth/token", ISSUER + "/oidc/userinfo"])
def test_assertion_with_a_wrong_audience_is_invalid_client(rp, citizen, aud):
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, client_assertion=rp.assertion(aud)), "invalid_client")


def test_assertion_signed_by_another_key_is_invalid_client(rp, citizen):
    assert_oauth_error(rp.exchange(obtain_code(rp, citizen), client_assertion=forged_assertion(rp)), "invalid_client")


def test_expired_assertion_is_invalid_client(rp, citizen):
    now = int(clock.timestamp())
    stale = rp.assertion(iat=now - 600, exp=now - 300)
    assert_oauth_error(rp.exchange(obtain_code(rp, citizen), client_assertion=stale), "invalid_client")


def test_client_id_not_matching_the_assertion_is_invalid_client(client, admin_token, rp, citizen):
    other = register_rp(client, admin_token)
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, client_id=other.client_id), "invalid_client")
