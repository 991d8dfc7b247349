"""Client assertions: a long ``jti`` is an OAuth error, a ``client_id`` parameter must match the assertion
(review findings R9, R10 of issue 2)."""

import pytest

from tests.conftest import ASSERTION_TYPE

# --- R9: a long jti from a valid client is a 500 on PostgreSQL ---------------------------------------------------------


@pytest.mark.postgres
def test_r9_long_assertion_jti_is_an_oauth_error_not_a_500(api_client):
    response = api_client("read_oidc_client").token_response(jti="x" * 300)
    assert response.status_code in (200, 400, 401)  # today: 500 (replay key overflows VARCHAR(255))


# --- R10: a client_id parameter naming another client is ignored --------------------------------------------------------


def test_r10_client_id_parameter_must_match_the_assertion(client, api_client):
    caller = api_client("read_oidc_client")
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "someone-else",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": caller.assertion(),
        },
    )
    # RFC 7521 §4.2 / RFC 6749 §3.2.1: client_id, if present, MUST identify the authenticated client
    assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"  # today: 200
