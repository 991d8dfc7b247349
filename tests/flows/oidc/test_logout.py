"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): id_token_hint, confirmation, CSRF."""

from typing import Any

import jwt as pyjwt
import pytest

from tests.conftest import ISSUER
from tests.flows.oidc.token_helpers import (
    LOGGED_OUT,
    assert_error_page,
    tokens,
    userinfo,
)
from tests.flows.oidc_helpers import (
    RelyingParty,
    forms,
    new_rsa_key,
    query,
    register_rp,
)

# --- RP-initiated logout ---------------------------------------------------------------------------------


@pytest.fixture
def logout_rp(client, admin_token) -> RelyingParty:
    return register_rp(client, admin_token, additionalConfig={"post_logout_redirect_uris": [LOGGED_OUT]})


def session_cleared(response: Any) -> bool:
    cookies = response.headers.get_list("set-cookie")
    return any(c.startswith("idbb_session=") and ("Max-Age=0" in c or "expires=Thu, 01 Jan 1970" in c) for c in cookies)


def assert_logged_out(rp: RelyingParty) -> None:
    """prompt=none now answers login_required: no session is left."""
    response = rp.authorize(prompt="none")
    assert response.status_code == 303, response.text[:300]
    got = query(response.headers["location"])
    assert got["error"] == "login_required" and got["state"] == rp.last["state"]


def assert_still_logged_in(rp: RelyingParty) -> None:
    """prompt=none still comes back with a code: the session is alive."""
    response = rp.authorize(prompt="none")
    assert response.status_code == 303, response.text[:300]
    assert "code" in query(response.headers["location"])


def test_logout_with_id_token_hint_redirects_and_ends_the_session(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    assert "idbb_session" in client.cookies
    response = client.get(
        "/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": LOGGED_OUT, "state": "xyz"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(LOGGED_OUT + "?")
    assert query(location) == {"state": "xyz"}
    assert session_cleared(response)
    assert "idbb_session" not in client.cookies

    assert_logged_out(logout_rp)
    assert userinfo(client, body["access_token"]).status_code == 401


def test_a_hint_in_another_browser_logs_nobody_out(client, logout_rp, citizen):
    """RP-Initiated Logout §2: only this browser's session is ended; a leaked ID token ends nobody's."""
    body = tokens(logout_rp, citizen)
    cookie = client.cookies.get("idbb_session")
    client.cookies.delete("idbb_session")  # another browser, holding the ID token
    response = client.get(
        "/logout", params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": LOGGED_OUT}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == LOGGED_OUT
    client.cookies.set("idbb_session", cookie, domain="idbb.test")
    assert_still_logged_in(logout_rp)
    assert userinfo(client, body["access_token"]).status_code == 200


def test_a_hint_from_an_earlier_session_asks_before_ending_this_one(client, logout_rp, citizen):
    """§2: the OP MUST ask when the ID token does not belong to the current session."""
    earlier = tokens(logout_rp, citizen)
    later = tokens(logout_rp, citizen, prompt="login")  # a new login: a new session in this browser
    page = client.get(
        "/logout",
        params={"id_token_hint": earlier["id_token"], "post_logout_redirect_uri": LOGGED_OUT, "state": "s2"},
        follow_redirects=False,
    )
    assert page.status_code == 200 and not session_cleared(page)
    form = forms(page.text)["logout-form"]
    assert userinfo(client, later["access_token"]).status_code == 200  # nothing ended yet
    response = client.post("/logout", data={**form["fields"], "decision": "logout"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == LOGGED_OUT + "?state=s2"
    assert_logged_out(logout_rp)
    assert userinfo(client, later["access_token"]).status_code == 401


def test_an_access_token_is_no_id_token_hint(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    assert_error_page(client.get("/logout", params={"id_token_hint": body["access_token"]}, follow_redirects=False))
    assert_still_logged_in(logout_rp)


def test_logout_to_an_unregistered_uri_is_an_error_page(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    response = client.get(
        "/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": "https://evil.example/bye", "state": "xyz"},
        follow_redirects=False,
    )
    assert_error_page(response)
    assert not session_cleared(response)
    assert userinfo(client, body["access_token"]).status_code == 200  # nothing was ended
    assert_still_logged_in(logout_rp)


def test_logout_with_a_forged_hint_is_an_error_page(client, logout_rp, citizen):
    tokens(logout_rp, citizen)
    pem, _ = new_rsa_key()
    forged = pyjwt.encode({"iss": ISSUER, "aud": logout_rp.client_id, "sub": "x"}, pem, algorithm="RS256")
    assert_error_page(client.get("/logout", params={"id_token_hint": forged}, follow_redirects=False))


def test_logout_without_hint_asks_for_confirmation(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    page = client.get(
        "/logout",
        params={"client_id": logout_rp.client_id, "post_logout_redirect_uri": LOGGED_OUT, "state": "s1"},
        follow_redirects=False,
    )
    assert page.status_code == 200
    form = forms(page.text)["logout-form"]
    assert form["action"] == "/logout"
    assert userinfo(client, body["access_token"]).status_code == 200  # nothing ended yet

    response = client.post("/logout", data={**form["fields"], "decision": "logout"}, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == LOGGED_OUT + "?state=s1"
    assert session_cleared(response)
    assert_logged_out(logout_rp)
    assert userinfo(client, body["access_token"]).status_code == 401


def test_logout_confirmation_without_redirect_shows_done(client, rp, citizen):
    tokens(rp, citizen)
    page = client.get("/logout", follow_redirects=False)
    form = forms(page.text)["logout-form"]
    response = client.post("/logout", data={**form["fields"], "decision": "logout"}, follow_redirects=False)
    assert response.status_code == 200 and 'id="logout-done"' in response.text
    assert session_cleared(response)
    assert_logged_out(rp)


def test_logout_confirmation_needs_its_csrf_token(client, rp, citizen):
    tokens(rp, citizen)
    response = client.post("/logout", data={"decision": "logout", "csrf": "forged"}, follow_redirects=False)
    assert_error_page(response)
    assert_still_logged_in(rp)
