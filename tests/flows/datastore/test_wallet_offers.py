"""Issue 18's wallet chooser and login path over HTTP: bulk mappings + documents → ``GET /offers/diploma/native``
(JSON and HTML) → the wallet fetches the person-free offer → the authorization code flow through idbb's login
pages with a person whose registry attributes match a mapping → an SD-JWT VC with the document's claims (verified
with the ``sd-jwt`` package) → ``DELETE /api/v1/datastore`` → the status list shows it revoked. A person who maps
to nothing gets ``credential_request_denied``; a plain wallet-initiated request with the scope works too; unknown
scopes and wallets are 404; the page is throttled per source."""

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
import pytest
from jwcrypto import jwk
from sd_jwt.verifier import SDJWTVerifier

from app.clock import clock
from tests.api.datastore import seed
from tests.conftest import ISSUER, bearer
from tests.flows.issuance.test_issuance_authorization import request_with, token_through_login
from tests.flows.issuance_helpers import HolderKey, Wallet, published_key, status_of_jwt
from tests.flows.oidc_helpers import enroll_citizen

SCOPES = ("datastore.read", "datastore.write", "identity.read", "identity.write")
#: the mapping of the tests' citizen (enroll_citizen: Amina Diallo, born 1990-04-12) at the university
AMINA = {
    "authentic_source": "uni.example.org",
    "authentic_source_person_id": "STU-1",
    "attributes": {"family_name": "Diallo", "given_name": "Amina", "birth_date": "1990-04-12"},
}
DATA = {"degree_type": "Master of Science", "field_of_study": "Physics", "gpa": "3.7", "credits_earned": 90}
KEY = {"authentic_source": "uni.example.org", "scope": "diploma", "document_id": "dip-amina"}
JSON_ACCEPT = {"Accept": "application/json"}


@pytest.fixture
def source(api_client: Any) -> dict[str, str]:
    return bearer(api_client(*SCOPES, client_id="university").token())


def _load(client: Any, auth: dict[str, str]) -> None:
    """Amina's mapping and diploma among others (seed 000's bulk examples: other people, other documents)."""
    mappings = {"mappings": {**seed.BULK_MAPPINGS["mappings"], "amina": AMINA}}
    assert client.post("/api/v1/identity/mapping/bulk", json=mappings, headers=auth).json() == {"count": 3}
    documents = {
        "documents": {
            **seed.BULK_DOCUMENTS["documents"],
            "amina": {"meta": KEY, "identity_mapping_ids": ["STU-1"], "document_data": DATA},
        }
    }
    assert client.post("/api/v1/datastore/bulk", json=documents, headers=auth).json() == {"count": 3}


def _verified(client: Any, serialised: str) -> tuple[dict[str, Any], dict[str, Any]]:
    issuer_jwt = serialised.split("~")[0]
    key = published_key(client, pyjwt.get_unverified_header(issuer_jwt)["kid"])
    payload = pyjwt.decode(
        issuer_jwt, pyjwt.PyJWK(key), algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False}
    )
    return payload, SDJWTVerifier(serialised, lambda iss, hdr: jwk.JWK(**key)).get_verified_payload()


def _chooser(client: Any, scope: str = "diploma", wallet: str = "native") -> dict[str, Any]:
    answer = client.get(f"/offers/{scope}/{wallet}", headers=JSON_ACCEPT)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Cache-Control"] == "no-store"
    return dict(answer.json())


def test_offer_chooser_then_login_then_diploma_then_delete_revokes(client: Any, source: dict[str, str], rp, citizen):
    _load(client, source)
    chosen = _chooser(client)
    url = chosen["wallet"]["url"]
    assert chosen["wallet"] == {"id": "native", "label": "Wallet app", "url": url}
    assert url.startswith("openid-credential-offer://?credential_offer_uri=")  # OpenID4VCI 1.0 §4.1.3
    assert parse_qs(urlsplit(url).query)["credential_offer_uri"] == [chosen["credential_offer_uri"]]
    assert chosen["qr_code"].startswith("data:image/svg+xml;base64,")
    offer = chosen["credential_offer"]
    assert offer["credential_configuration_ids"] == ["diploma"]
    assert set(offer["grants"]) == {"authorization_code"}  # no pre-authorized code on an anonymous page
    assert "Amina" not in json.dumps(chosen) and "Diallo" not in json.dumps(chosen)

    wallet = Wallet(client)
    fetched = wallet.offer(url)
    assert fetched == offer
    issuer_state = fetched["grants"]["authorization_code"]["issuer_state"]
    tokens = token_through_login(rp, citizen, scope="diploma", issuer_state=issuer_state)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    holder = HolderKey()
    answer = request_with(wallet, token, rp, holder, credential_identifier="diploma:0")
    assert answer.status_code == 200, answer.text
    payload, claims = _verified(client, answer.json()["credentials"][0]["credential"])
    assert payload["vct"] == "urn:eudi:diploma:1" and payload["iss"] == ISSUER
    assert payload["cnf"]["jwk"]["x"] == holder.public_jwk["x"]
    assert {k: claims[k] for k in DATA} == DATA
    again = request_with(wallet, token, rp, HolderKey(), credential_identifier="diploma:0")
    assert again.json()["error"] == "credential_request_denied"  # one credential per offer
    # single use: the offer is gone once its issuer_state made a code
    assert client.get(urlsplit(chosen["credential_offer_uri"]).path).status_code == 404

    status = payload["status"]["status_list"]
    assert status_of_jwt(client, status["uri"], status["idx"]) == 0
    deleted = client.request("DELETE", "/api/v1/datastore", json=KEY, headers=source)
    assert deleted.status_code == 200, deleted.text
    assert status_of_jwt(client, status["uri"], status["idx"]) == 1  # Token Status List draft 20 §7.1: INVALID


def test_a_person_without_a_matching_mapping_is_denied(client: Any, source: dict[str, str], rp, app):
    _load(client, source)
    # same names, another birth date: every attribute must match (seed 000 "Identity Matching")
    other = enroll_citizen(app, pin="731902", email="amina2@example.org", dateOfBirth="1991-04-12")
    wallet = Wallet(client)
    offer = wallet.offer(_chooser(client)["wallet"]["url"])
    tokens = token_through_login(
        rp, other, scope="diploma", issuer_state=offer["grants"]["authorization_code"]["issuer_state"]
    )
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    denied = request_with(wallet, token, rp, HolderKey(), credential_identifier="diploma:0")
    assert denied.status_code == 400 and denied.json()["error"] == "credential_request_denied"
    assert "Amina" not in denied.text and "1991" not in denied.text


def test_a_deleted_document_is_denied_like_an_unknown_person(client: Any, source: dict[str, str], rp, citizen):
    _load(client, source)
    assert client.request("DELETE", "/api/v1/datastore", json=KEY, headers=source).status_code == 200
    wallet = Wallet(client)
    offer = wallet.offer(_chooser(client)["wallet"]["url"])
    tokens = token_through_login(
        rp, citizen, scope="diploma", issuer_state=offer["grants"]["authorization_code"]["issuer_state"]
    )
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    denied = request_with(wallet, token, rp, HolderKey(), credential_identifier="diploma:0")
    assert denied.json() == {
        "error": "credential_request_denied",
        "error_description": "No credential of this type can be issued to this person.",
    }


def test_the_most_recently_updated_document_is_issued(client: Any, source: dict[str, str], rp, citizen):
    _load(client, source)
    clock.advance(5)
    newer = {
        "meta": {**KEY, "document_id": "dip-amina-2"},
        "identity_mapping_ids": ["STU-1"],
        "document_data": {"degree": "PhD"},
    }
    assert client.post("/api/v1/datastore/", json=newer, headers=source).status_code == 200
    wallet = Wallet(client)
    offer = wallet.offer(_chooser(client)["wallet"]["url"])
    tokens = token_through_login(
        rp, citizen, scope="diploma", issuer_state=offer["grants"]["authorization_code"]["issuer_state"]
    )
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    answer = request_with(wallet, token, rp, HolderKey(), credential_identifier="diploma:0")
    _, claims = _verified(client, answer.json()["credentials"][0]["credential"])
    assert claims["degree"] == "PhD" and "field_of_study" not in claims


def test_wallet_initiated_request_with_the_scope_issues_the_document(client: Any, source: dict[str, str], rp, citizen):
    """No offer at all: the wallet asks /authorize for scope diploma (OpenID4VCI 1.0 §5.1.2) and names the
    configuration at /credential (§8.2)."""
    _load(client, source)
    tokens = token_through_login(rp, citizen, scope="openid diploma")
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    wallet = Wallet(client)
    answer = request_with(wallet, token, rp, HolderKey(), credential_configuration_id="diploma")
    assert answer.status_code == 200, answer.text
    payload, claims = _verified(client, answer.json()["credentials"][0]["credential"])
    assert {k: claims[k] for k in DATA} == DATA
    status = payload["status"]["status_list"]
    assert client.request("DELETE", "/api/v1/datastore", json=KEY, headers=source).status_code == 200
    assert status_of_jwt(client, status["uri"], status["idx"]) == 1  # linked to the document as well


def test_offer_page_html_in_the_login_languages(client: Any):
    page = client.get("/offers/diploma/native", headers={"Accept-Language": "fr"})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Ouvrir" in page.text or "portefeuille" in page.text
    assert 'id="offer-qr"' in page.text and "<svg" in page.text
    assert 'href="openid-credential-offer://?credential_offer_uri=' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_configured_web_wallet(make_app: Any):
    wallets = {"web": {"label": "Web wallet", "redirect_uri": "https://wallet.example/cb"}}
    http = make_app(offer_wallets=json.dumps(wallets)).test_client(base_url=ISSUER)
    chosen = _chooser(http, wallet="web")
    assert chosen["wallet"]["url"] == "https://wallet.example/cb?credential_offer_uri=" + chosen[
        "credential_offer_uri"
    ].replace(":", "%3A").replace("/", "%2F")
    assert http.get("/offers/diploma/native", headers=JSON_ACCEPT).status_code == 404  # only the configured ones


@pytest.mark.parametrize(
    ("scope", "wallet"),
    [("unknown", "native"), ("diploma", "unknown"), ("pid_sd_jwt", "native"), ("x" * 120, "native")],
)
def test_unknown_scope_or_wallet_is_404(client: Any, scope: str, wallet: str):
    """A scope that names no configuration, or one that is not document-backed (the PID), or an unknown wallet."""
    assert client.get(f"/offers/{scope}/{wallet}").status_code == 404
    answer = client.get(f"/offers/{scope}/{wallet}", headers=JSON_ACCEPT)
    assert answer.status_code == 404 and answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 404


def test_offer_page_is_throttled_per_source_and_offers_expire(make_app: Any):
    http = make_app(throttle_per_source=3, credential_offer_ttl=60).test_client(base_url=ISSUER)
    urls = [_chooser(http)["credential_offer_uri"] for _ in range(3)]
    limited = http.get("/offers/diploma/native", headers=JSON_ACCEPT)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    page = http.get("/offers/unknown/native")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    clock.advance(61)
    assert http.get(urlsplit(urls[0]).path).status_code == 404  # OpenID4VCI 1.0 §4.1.3: the offer expired
