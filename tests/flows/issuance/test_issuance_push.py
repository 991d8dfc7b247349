"""Pushing a credential offer to a wallet's Credential Offer Endpoint (OpenID4VCI 1.0 §4.1): issuer-initiated
issuance to an organisation wallet, against a tiny HTTP server on 127.0.0.1 started by the test. The wallet's
endpoint gets ``GET ?credential_offer_uri=...``; redirects are not followed, slow wallets time out, and each
outcome is a history entry; only allow-listed origins (``IDBB_WALLET_PUSH_ORIGINS``) are reached."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
import pytest
from jwcrypto import jwk
from sd_jwt.verifier import SDJWTVerifier

from tests.conftest import ISSUER
from tests.flows.issuance_helpers import SD_JWT_PID, Backend, HolderKey, Wallet, code_of, published_key
from tests.flows.oidc_helpers import enroll_citizen


class _WalletEndpoint(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path.startswith("/slow"):
            time.sleep(5)
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
        elif self.path.startswith("/broken"):
            self.send_response(500)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def wallet_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_WalletEndpoint,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def pushing(make_app: Any, api_client: Any, wallet_server: tuple[str, list[str]]) -> tuple[Any, Backend, Any]:
    origin, _ = wallet_server
    cx = make_app(wallet_push_origins=f"{origin}, https://wallet.example.org", wallet_push_timeout=0.5)
    http = cx.test_client(base_url=ISSUER)
    return cx, Backend(http, api_client("issuance.write", "issuance.read").token()), http


def test_push_is_refused_while_no_origin_is_allowed(api_client, client, app):
    backend = Backend(client, api_client("issuance.write", "issuance.read").token())
    person = enroll_citizen(app)
    refused = backend.issue(
        credentialConfigurationId=SD_JWT_PID, subject={"uin": person.uin}, walletEndpoint="https://wallet.example.org/offer"
    )
    assert refused.status_code == 400
    assert "unsupported_wallet_push" in refused.json()["message"]
    assert "IDBB_WALLET_PUSH_ORIGINS" in refused.json()["message"]


def test_offer_pushed_to_the_wallet_endpoint_and_collected(pushing, wallet_server):
    cx, backend, http = pushing
    origin, seen = wallet_server
    person = enroll_citizen(cx)
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID,
        subject={"uin": person.uin},
        walletEndpoint=f"{origin}/wallet/offers?tenant=acme",
    )
    assert created["walletPush"] == {"delivered": True, "status": 204}
    [path] = seen
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    assert parts.path == "/wallet/offers" and query["tenant"] == ["acme"]
    assert query["credential_offer_uri"] == [f"{ISSUER}/credential-offer/{created['issuanceId']}"]  # §4.1
    record = backend.read(created["issuanceId"])
    assert record["state"] == "offer_sent"  # the push is a history entry, not a state
    assert [s["state"] for s in record["history"]] == ["offer_sent", "offer_pushed"]

    wallet = Wallet(http)  # the organisation wallet follows the pushed reference
    offer = wallet.offer("openid-credential-offer://?" + parts.query)
    token = wallet.token(code_of(offer))
    answer = wallet.credential(token, [HolderKey()])
    assert answer.status_code == 200, answer.text
    serialised = answer.json()["credentials"][0]["credential"]
    header = pyjwt.get_unverified_header(serialised.split("~")[0])
    issuer_public = jwk.JWK(**published_key(http, header["kid"]))
    verified = SDJWTVerifier(serialised, lambda iss, hdr: issuer_public).get_verified_payload()
    assert verified["personal_administrative_number"] == person.uin
    assert backend.states(created["issuanceId"]) == ["offer_sent", "offer_pushed", "offer_received", "credential_issued"]


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("/moved", {"delivered": False, "status": 302}),
        ("/broken", {"delivered": False, "status": 500}),
        ("/slow", {"delivered": False, "error": "timeout"}),
    ],
)
def test_failed_pushes_are_recorded_and_redirects_never_followed(pushing, wallet_server, path, outcome):
    cx, backend, _ = pushing
    origin, seen = wallet_server
    person = enroll_citizen(cx)
    started = time.monotonic()
    created = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": person.uin}, walletEndpoint=origin + path)
    assert time.monotonic() - started < 4  # the 0.5 s timeout, not the wallet's 5 s (margin for a loaded machine)
    assert created["walletPush"] == outcome
    assert [urlsplit(p).path for p in seen] == [path]  # /elsewhere never requested
    history = backend.read(created["issuanceId"])["history"]
    assert [s["state"] for s in history] == ["offer_sent", "offer_push_failed"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:1/offers",
        "https://evil.example/offers",
        "https://user:pw@wallet.example.org/offers",
        "ftp://wallet.example.org/x",
        "/relative",
        "https://wallet.example.org/offers#frag",
    ],
)
def test_wallet_endpoints_outside_the_allow_list_are_refused(pushing, wallet_server, endpoint):
    cx, backend, _ = pushing
    _, seen = wallet_server
    person = enroll_citizen(cx)
    refused = backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": person.uin}, walletEndpoint=endpoint)
    assert refused.status_code == 400, refused.text
    assert "wallet_endpoint" in refused.json()["message"] or "walletEndpoint" in refused.json()["message"]
    assert seen == []


def test_push_origin_setting_is_validated(settings):
    from app.config import ConfigError

    assert settings.with_(wallet_push_origins="https://a.example, http://127.0.0.1:9").validate()
    for bad in ("https://a.example/path", "wallet.example", "http://wallet.example"):
        with pytest.raises(ConfigError, match="IDBB_WALLET_PUSH_ORIGINS"):  # http only on loopback in production
            settings.with_(wallet_push_origins=bad).validate()
    with pytest.raises(ConfigError, match="IDBB_WALLET_PUSH_TIMEOUT"):
        settings.with_(wallet_push_timeout=0).validate()
