"""Refresh tokens: offline_access, rotation, family revocation on reuse, scope narrowing (RFC 6749 §6, RFC 9700 §4.14)."""

import jwt as pyjwt

from tests.conftest import server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    assert_oauth_error,
    at_hash,
    offline_tokens,
    refresh,
    tokens,
    userinfo,
    verify_signed,
)
from tests.flows.oidc_helpers import (
    register_rp,
)

# --- Refresh tokens: offline_access, rotation, family revocation -----------------------------------------


def test_offline_access_issues_a_refresh_token(rp, citizen):
    body = offline_tokens(rp, citizen)
    assert isinstance(body.get("refresh_token"), str) and len(body["refresh_token"]) >= 32
    assert "offline_access" in body["scope"].split()


def test_no_refresh_token_without_offline_access(rp, citizen):
    assert "refresh_token" not in tokens(rp, citizen)


def test_refresh_rotates_and_the_old_token_is_refused(client, rp, citizen):
    first = offline_tokens(rp, citizen)
    response = refresh(rp, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["token_type"] == "Bearer"
    assert userinfo(client, second["access_token"]).status_code == 200
    claims = verify_with_pyjwt(second["id_token"], server_jwks(client), audience=rp.client_id)
    assert claims["at_hash"] == at_hash(second["access_token"], "RS256")
    assert_oauth_error(refresh(rp, first["refresh_token"]), "invalid_grant")


def test_reusing_a_rotated_refresh_token_revokes_the_family(client, rp, citizen):
    first = offline_tokens(rp, citizen)
    second = refresh(rp, first["refresh_token"]).json()
    third = refresh(rp, second["refresh_token"]).json()
    assert userinfo(client, third["access_token"]).status_code == 200

    assert_oauth_error(refresh(rp, first["refresh_token"]), "invalid_grant")  # replay of a spent token
    assert_oauth_error(refresh(rp, third["refresh_token"]), "invalid_grant")  # the newest dies with it
    assert userinfo(client, third["access_token"]).status_code == 401
    assert userinfo(client, first["access_token"]).status_code == 401


def test_refresh_token_of_another_client_is_refused(client, admin_token, rp, citizen):
    body = offline_tokens(rp, citizen)
    other = register_rp(client, admin_token)
    assert_oauth_error(refresh(other, body["refresh_token"]), "invalid_grant")
    assert refresh(rp, body["refresh_token"]).status_code == 200  # untouched by the attempt


def test_refresh_cannot_widen_the_scope(rp, citizen):
    body = offline_tokens(rp, citizen)
    assert_oauth_error(refresh(rp, body["refresh_token"], scope="openid profile email"), "invalid_scope")


def test_refresh_can_narrow_the_scope_of_the_access_token_only(client, rp, citizen):
    """RFC 6749 §6: a smaller scope limits the new access token; the refresh token keeps the grant's scope."""
    body = offline_tokens(rp, citizen)
    jwks = server_jwks(client)
    narrow = refresh(rp, body["refresh_token"], scope="openid")
    assert narrow.status_code == 200, narrow.text
    assert narrow.json()["scope"] == "openid"
    access = pyjwt.decode(narrow.json()["access_token"], options={"verify_signature": False})
    assert access["scope"] == "openid"
    info = userinfo(client, narrow.json()["access_token"])
    assert info.status_code == 200
    claims = verify_signed(info.text, jwks, rp.client_id, "RS256")
    assert "name" not in claims and claims["sub"]  # profile claims are withheld from an openid-only token

    wide = refresh(rp, narrow.json()["refresh_token"])  # no scope: as granted, offline_access included
    assert wide.status_code == 200, wide.text
    assert set(wide.json()["scope"].split()) == {"openid", "profile", "offline_access"}
    info = userinfo(client, wide.json()["access_token"])
    assert verify_signed(info.text, jwks, rp.client_id, "RS256")["name"] == "Amina Diallo"


def test_refresh_narrowed_to_non_openid_scopes_gets_no_id_token_and_no_userinfo(client, rp, citizen):
    """OIDC Core §12.2 and §5.3: without ``openid`` the token is no OpenID token; userinfo says insufficient_scope."""
    body = offline_tokens(rp, citizen)
    narrow = refresh(rp, body["refresh_token"], scope="profile offline_access")
    assert narrow.status_code == 200, narrow.text
    assert "id_token" not in narrow.json() and narrow.json()["scope"] == "profile offline_access"
    info = userinfo(client, narrow.json()["access_token"])
    assert info.status_code == 403
    assert 'error="insufficient_scope"' in info.headers["www-authenticate"]
