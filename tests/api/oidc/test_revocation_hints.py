"""Revocation with a wrong ``token_type_hint`` still revokes the token (RFC 7009 §2.1; review finding R1 of issue 2)."""

from tests.api.client_calls import (
    PROTECTED,
    endpoint_call,
)
from tests.conftest import bearer

# --- R1: revocation with token_type_hint=refresh_token answers 200 but leaves the access token valid ---------------


def test_r1_revocation_with_a_wrong_hint_still_revokes_the_access_token(client, api_client):
    caller = api_client("read_oidc_client")
    token = caller.token()
    revoked = endpoint_call(client, "/oauth/revoke", caller, token=token, token_type_hint="refresh_token")
    assert revoked.status_code == 200  # the client is told the token is gone ...
    # RFC 7009 §2.1: if the token is not found under the hint the server MUST search all token types
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 401  # ... today: still 200
