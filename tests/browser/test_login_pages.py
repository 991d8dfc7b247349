"""The login and consent pages in a real browser: headless Chromium against ``idbb serve``.

The HTML-level flow tests (tests/flows) post the forms themselves; these prove the pages work as a
person uses them: cookies kept by the browser, CSP letting the forms post and the final redirect
leave, the right language and text direction, the error announced in place.
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt as pyjwt
import pytest

from tests.browser.conftest import Server
from tests.flows.oidc_helpers import ASSERTION_TYPE, pkce_pair, query

pytestmark = pytest.mark.browser


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(locale="en-US")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def local_only(page: Any, server: Server) -> Any:
    """Abort every request leaving idbb and the stub relying party (the client logo, for one)."""
    rp_origin = server.redirect_uri.rsplit("/", 1)[0] + "/"
    page.route(lambda url: not url.startswith((server.issuer + "/", rp_origin)), lambda route: route.abort())
    return page


@pytest.fixture
def page(context: Any, idbb_server: Server) -> Any:
    idbb_server.callbacks.clear()
    return local_only(context.new_page(), idbb_server)


def authorize_url(server: Server, **extra: str) -> tuple[str, dict[str, str], str]:
    verifier, challenge = pkce_pair()
    params = {
        "client_id": server.client_id,
        "redirect_uri": server.redirect_uri,
        "response_type": "code",
        "scope": "openid profile",
        "state": uuid.uuid4().hex,
        "nonce": uuid.uuid4().hex,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{server.issuer}/authorize?{urlencode(params)}", params, verifier


def sign_in(page: Any, identifier: str, pin: str) -> None:
    page.fill("#identifier", identifier)
    page.fill("#pin", pin)
    page.click("#pin-submit")


def client_assertion(server: Server) -> str:
    now = int(time.time())
    claims = {
        "iss": server.client_id,
        "sub": server.client_id,
        "aud": server.issuer + "/oauth/token",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    return pyjwt.encode(claims, server.private_pem, algorithm="RS256")


def verify(token: str, jwks: dict[str, Any], server: Server) -> dict[str, Any]:
    """Check an idbb-signed JWT with PyJWT against the published JWKS (signature, iss, aud, exp, iat)."""
    kid = pyjwt.get_unverified_header(token)["kid"]
    published = [k for k in jwks["keys"] if k["kid"] == kid]
    assert published, f"kid {kid} is not in the JWKS"
    return dict(
        pyjwt.decode(
            token,
            key=pyjwt.PyJWK(published[0]),
            algorithms=[published[0]["alg"]],
            audience=server.client_id,
            issuer=server.issuer,
            leeway=5,
        )
    )


def test_sign_in_consent_and_redirect_back_with_a_code(page: Any, idbb_server: Server) -> None:
    server = idbb_server
    url, params, verifier = authorize_url(server)
    page.goto(url)
    assert page.locator("#pin-form").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies(server.issuer)}
    assert cookies["idbb_browser"]["secure"] and cookies["idbb_browser"]["httpOnly"]

    sign_in(page, server.citizen.uin, server.citizen.pin)
    page.wait_for_selector("#consent-form")
    voluntary = page.locator("#consent-form input[name=claims]")
    shown = {voluntary.nth(i).get_attribute("value") for i in range(voluntary.count())}
    assert {"name", "birthdate"} <= shown, shown
    page.uncheck("#claim-birthdate")
    assert not page.is_checked("#claim-birthdate") and page.is_checked("#claim-name")

    with page.expect_navigation(url=lambda u: u.startswith(server.redirect_uri)):
        page.click("#consent-accept")
    assert page.locator("#rp").is_visible()
    assert len(server.callbacks) == 1
    got = query(page.url)
    assert got["state"] == params["state"]
    assert got["iss"] == server.issuer  # RFC 9207
    assert got["code"]

    with httpx.Client(base_url=server.issuer, timeout=10) as http:
        response = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": got["code"],
                "redirect_uri": server.redirect_uri,
                "code_verifier": verifier,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(server),
            },
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        jwks = http.get("/.well-known/jwks.json").json()
        userinfo = http.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})

    id_token = verify(tokens["id_token"], jwks, server)
    assert id_token["nonce"] == params["nonce"]
    assert id_token["sub"]
    assert "birthdate" not in id_token

    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.headers["content-type"].startswith("application/jwt")
    claims = verify(userinfo.text, jwks, server)
    assert claims["sub"] == id_token["sub"]
    assert claims["name"] == "Amina Diallo"
    assert "birthdate" not in claims  # unticked on the consent page


def test_arabic_is_right_to_left_and_french_follows_accept_language(
    chromium: Any, page: Any, idbb_server: Server, tmp_path: Any
) -> None:
    url, _, _ = authorize_url(idbb_server, ui_locales="ar")
    page.goto(url)
    page.wait_for_selector("#pin-form")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    shot = tmp_path / "login-ar.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000

    french = chromium.new_context(locale="fr-FR")
    try:
        fr_page = local_only(french.new_page(), idbb_server)
        url, _, _ = authorize_url(idbb_server)
        fr_page.goto(url)
        assert fr_page.evaluate("document.documentElement.lang") == "fr"
        assert fr_page.evaluate("document.documentElement.dir") == "ltr"
        assert fr_page.locator("#pin-submit").inner_text().strip() == "Se connecter"
        assert fr_page.locator("label[for=pin]").inner_text().strip() == "Code PIN"
    finally:
        french.close()


def test_wrong_pin_shows_an_alert_and_stays_on_the_login_page(page: Any, idbb_server: Server) -> None:
    url, _, _ = authorize_url(idbb_server)
    page.goto(url)
    sign_in(page, idbb_server.citizen.uin, "000000" if idbb_server.citizen.pin != "000000" else "111111")
    error = page.locator("#error")
    error.wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.inner_text().strip() == "The ID number or PIN is incorrect."
    assert page.url.startswith(idbb_server.issuer + "/authorize")
    assert page.locator("#pin-form").is_visible() and page.locator("#consent-form").count() == 0
    assert idbb_server.callbacks == []
    assert page.locator("#identifier").get_attribute("aria-describedby") == "error"
    assert page.locator("#identifier").input_value() == idbb_server.citizen.uin  # no need to type it again
    assert page.locator("#pin").input_value() == ""
