"""Authorization codes: single use, reuse revokes what the first use issued, expiry, bound to their client
(RFC 6749 §4.1.2)."""

from app.clock import clock
from tests.flows.oidc.token_helpers import (
    assert_oauth_error,
    introspect,
    obtain_code,
    userinfo,
)
from tests.flows.oidc_helpers import (
    register_rp,
)

# --- Codes: single use, reuse revokes, expiry ------------------------------------------------------------


def test_code_reuse_fails_and_revokes_the_first_tokens(client, rp, citizen, api_client):
    code = obtain_code(rp, citizen)
    first = rp.exchange(code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert userinfo(client, access).status_code == 200
    resource_server = api_client("introspect")
    assert introspect(resource_server, access)["active"] is True

    assert_oauth_error(rp.exchange(code), "invalid_grant")
    assert userinfo(client, access).status_code == 401
    assert introspect(resource_server, access) == {"active": False}


def test_code_expires_after_sixty_seconds(rp, citizen):
    code = obtain_code(rp, citizen)
    clock.advance(61)
    assert_oauth_error(rp.exchange(code), "invalid_grant")


def test_code_still_valid_just_before_expiry(rp, citizen):
    code = obtain_code(rp, citizen)
    clock.advance(55)
    assert rp.exchange(code).status_code == 200


def test_code_of_another_client_is_invalid_grant(client, admin_token, rp, citizen):
    code = obtain_code(rp, citizen)
    other = register_rp(client, admin_token)
    other.verifier = rp.verifier
    assert_oauth_error(other.exchange(code), "invalid_grant")
    assert rp.exchange(code).status_code == 200  # the rightful client still can
