"""Sign in with the wallet (GovStack §8 "Wallet – QR Code") in a real browser: headless Chromium runs the
page and its wallet.js against ``idbb serve``; the test plays the wallet app over HTTP with httpx.

The browser picks the wallet on the login page and shows the QR code; the "wallet" reads the code, links the
transaction, authenticates the person with their PIN and consents (or declines); the page's long polls see
it and the browser lands on the relying party with code, state and iss (or error=access_denied). The server
runs with a 2 s long-poll timeout (the page polls again and again) and 10 s link codes (the page renews
them while it waits).
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt as pyjwt
import pytest

from tests.browser.conftest import Server, serve_idbb
from tests.conftest import request_time
from tests.flows.oidc_helpers import ASSERTION_TYPE, pkce_pair, query
from tests.flows.wallet.test_wallet_page import CODE, decode_png

pytestmark = pytest.mark.browser

WALLET_ACRS = ["idbb:acr:static-code", "idbb:acr:linked-wallet"]
LINK_CODE_TTL = 10


@pytest.fixture(scope="module")
def wallet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``idbb serve`` (2 s long polls, 10 s link codes) for a relying party that allows the wallet."""
    with serve_idbb(
        tmp_path_factory.mktemp("browser-wallet"), WALLET_ACRS, long_poll_timeout="2", link_code_ttl=str(LINK_CODE_TTL)
    ) as server:
        yield server


@pytest.fixture
def page(chromium: Any, wallet_server: Server) -> Iterator[Any]:
    context = chromium.new_context(locale="en-US")
    context.set_default_timeout(15_000)
    wallet_server.callbacks.clear()
    page = context.new_page()
    rp_origin = wallet_server.redirect_uri.rsplit("/", 1)[0] + "/"
    # Nothing leaves idbb and the stub relying party (the client logo is simply not shown).
    page.route(lambda url: not url.startswith((wallet_server.issuer + "/", rp_origin)), lambda route: route.abort())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))  # uncaught exceptions in wallet.js
    page.script_errors = errors
    yield page
    context.close()


@pytest.fixture
def wallet(wallet_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_server.issuer, timeout=10) as http:
        yield http


def call(http: httpx.Client, path: str, request: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json={"requestTime": request_time(), "request": request})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return dict(body["response"])


def open_wallet_page(page: Any, server: Server) -> tuple[dict[str, str], str]:
    """/authorize in the browser, then the login page's wallet entry; the request's parameters and PKCE verifier."""
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
        "acr_values": " ".join(WALLET_ACRS),
        "prompt": "consent",
    }  # the phone asks for consent every time, whatever an earlier test gave
    page.goto(f"{server.issuer}/authorize?{urlencode(params)}")
    page.click("#wallet-login")
    page.wait_for_selector("#wallet-qr svg")
    assert page.url.startswith(server.issuer + "/authorize/wallet?txn=")
    return params, verifier


def shown_code(page: Any) -> str:
    code = "".join(page.locator("#wallet-code").inner_text().split())
    assert CODE.fullmatch(code), code
    return code


def scanned(page: Any) -> str:
    """The QR code on screen as a phone would read it: a screenshot, decoded by zxing-cpp."""
    decoded = decode_png(page.locator("#wallet-qr").screenshot())
    assert len(decoded) == 1, decoded
    return str(decoded[0])


def link_and_authenticate(wallet: httpx.Client, code: str, server: Server) -> dict[str, Any]:
    linked = call(wallet, "/linked-authorization/v2/link-transaction", {"linkCode": code})
    authenticated = call(
        wallet,
        "/linked-authorization/v2/authenticate",
        {
            "linkedTransactionId": linked["linkTransactionId"],
            "individualId": server.citizen.uin,
            "challengeList": [{"authFactorType": "PIN", "challenge": server.citizen.pin, "format": "number"}],
        },
    )
    assert authenticated["consentAction"] == "CAPTURE"
    return linked


def test_sign_in_with_the_wallet_lands_on_the_relying_party_with_a_code(
    page: Any, wallet: httpx.Client, wallet_server: Server
) -> None:
    server = wallet_server
    params, verifier = open_wallet_page(page, server)
    code = shown_code(page)
    expires = page.get_attribute("#wallet", "data-expires")
    assert scanned(page) == f"idbb-wallet://wla-auth?linkCode={code}&linkExpireDateTime={quote(expires, safe='')}"
    assert page.get_attribute("#wallet-same-device", "href").startswith(f"idbb-wallet://wla-auth?linkCode={code}&")
    assert page.locator("#wallet-remaining").inner_text().strip().startswith("0:")
    cookies = {c["name"]: c for c in page.context.cookies(server.issuer + "/linked-authorization/")}
    xsrf = cookies["XSRF-TOKEN"]
    assert xsrf["httpOnly"] and xsrf["secure"] and xsrf["sameSite"] == "Strict"
    assert xsrf["path"] == "/linked-authorization"

    linked = link_and_authenticate(wallet, code, server)
    page.locator("#wallet-linked").wait_for(state="visible")  # the page saw the link (link-status long poll)
    assert "Continue on your phone" in page.locator("#wallet-linked").inner_text()
    assert page.locator("#wallet-scan").is_hidden()
    time.sleep(2.5)  # at least one link-auth-code poll times out on the server and is sent again

    with page.expect_navigation(url=lambda u: u.startswith(server.redirect_uri), timeout=15_000):
        call(
            wallet,
            "/linked-authorization/consent",
            {
                "linkedTransactionId": linked["linkTransactionId"],
                "acceptedClaims": linked["essentialClaims"] + linked["voluntaryClaims"],
                "permittedAuthorizeScopes": [],
            },
        )
    assert page.locator("#rp").is_visible()
    got = query(page.url)
    assert got["state"] == params["state"]
    assert got["iss"] == server.issuer  # RFC 9207
    assert got["code"] and "error" not in got
    assert len(server.callbacks) == 1

    # The code is a real one: the relying party redeems it.
    now = int(time.time())
    assertion = pyjwt.encode(
        {
            "iss": server.client_id,
            "sub": server.client_id,
            "aud": server.issuer + "/oauth/token",
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        },
        server.private_pem,
        algorithm="RS256",
    )
    token = wallet.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": got["code"],
            "redirect_uri": server.redirect_uri,
            "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    assert token.status_code == 200, token.text
    assert "id_token" in token.json()
    assert page.script_errors == []


def test_declining_on_the_phone_lands_on_the_relying_party_with_access_denied(
    page: Any, wallet: httpx.Client, wallet_server: Server
) -> None:
    server = wallet_server
    params, _ = open_wallet_page(page, server)
    linked = link_and_authenticate(wallet, shown_code(page), server)
    page.locator("#wallet-linked").wait_for(state="visible")
    with page.expect_navigation(url=lambda u: u.startswith(server.redirect_uri), timeout=15_000):
        call(
            wallet,
            "/linked-authorization/consent",
            {
                "linkedTransactionId": linked["linkTransactionId"],
                "acceptedClaims": [],
                "permittedAuthorizeScopes": [],
                "consentAction": "DECLINE",
            },
        )
    got = query(page.url)
    assert got["error"] == "access_denied"
    assert got["state"] == params["state"] and got["iss"] == server.issuer
    assert "code" not in got
    assert page.script_errors == []


def test_the_page_renews_the_code_before_it_expires(page: Any, wallet: httpx.Client, wallet_server: Server) -> None:
    server = wallet_server
    params, _ = open_wallet_page(page, server)
    first = shown_code(page)
    # Renewed about 2 s before the 10 s code expires: a new code, its QR image (qr.svg) and the same-device link.
    page.wait_for_function(
        "code => document.getElementById('wallet-code').innerText.replace(/\\s/g, '') !== code",
        arg=first,
        timeout=LINK_CODE_TTL * 1000 + 5000,
    )
    second = shown_code(page)
    assert second != first
    page.wait_for_selector("#wallet-qr img")
    src = page.get_attribute("#wallet-qr img", "src")
    assert src.startswith(f"/authorize/wallet/qr.svg?code={second}&exp=")
    page.wait_for_function("() => document.querySelector('#wallet-qr img').complete")
    assert f"linkCode={second}&" in scanned(page)
    assert page.get_attribute("#wallet-same-device", "href").startswith(f"idbb-wallet://wla-auth?linkCode={second}&")

    linked = link_and_authenticate(wallet, second, server)
    with page.expect_navigation(url=lambda u: u.startswith(server.redirect_uri), timeout=15_000):
        call(
            wallet,
            "/linked-authorization/consent",
            {
                "linkedTransactionId": linked["linkTransactionId"],
                "acceptedClaims": linked["essentialClaims"],
                "permittedAuthorizeScopes": [],
            },
        )
    got = query(page.url)
    assert got["code"] and got["state"] == params["state"] and got["iss"] == server.issuer
    assert page.script_errors == []


def test_a_refused_poll_shows_a_message_and_a_way_to_start_again(page: Any, wallet_server: Server) -> None:
    server = wallet_server
    open_wallet_page(page, server)
    txn = page.get_attribute("#wallet", "data-txn")
    # Another value in the XSRF-TOKEN cookie than the page's token: the next poll is refused (HTTP 403).
    page.context.add_cookies(
        [
            {
                "name": "XSRF-TOKEN",
                "value": "x" * 43,
                "domain": "localhost",
                "path": "/linked-authorization",
                "secure": True,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    page.locator("#wallet-error").wait_for(state="visible", timeout=15_000)
    assert page.get_attribute("#wallet-error", "role") == "alert"
    assert page.locator("#wallet-error-text").inner_text().strip() == "Signing in with your wallet did not work."
    assert page.get_attribute("#wallet-restart", "href") == f"/authorize/resume?txn={quote(txn, safe='')}"
    assert page.locator("#wallet-scan").is_hidden()
    page.click("#wallet-restart")
    page.wait_for_selector("#pin-form")  # back on the login page of the same transaction
    assert server.callbacks == []
    assert page.script_errors == []


def test_the_page_stops_when_the_transaction_ends(page: Any, wallet_server: Server) -> None:
    """The page stops polling and says so when the transaction's lifetime is over (here shortened to 3 s by
    rewriting the page's data-txn-expires on its way to the browser)."""
    server = wallet_server

    def shorten(route: Any) -> None:
        response = route.fetch()
        body = response.text()
        now = int(body.split('data-server-now="', 1)[1].split('"', 1)[0])
        start, rest = body.split('data-txn-expires="', 1)
        route.fulfill(response=response, body=start + f'data-txn-expires="{now + 3000}' + rest[rest.index('"') :])

    page.route(lambda url: url.startswith(server.issuer + "/authorize/wallet?"), shorten)
    open_wallet_page(page, server)
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/linked-authorization/" in request.url else None)
    page.locator("#wallet-error").wait_for(state="visible", timeout=10_000)
    assert page.locator("#wallet-error-text").inner_text().strip() == "This sign-in request has expired."
    assert page.locator("#wallet-scan").is_hidden()
    seen = len(polls)
    time.sleep(2.5)
    assert len(polls) == seen  # no more polls
    assert page.script_errors == []
