"""The whole path of issue 18 over HTTP: bulk mappings + bulk documents → an offer for a document → the wallet
collects an SD-JWT VC whose claims are the document's (verified with the ``sd-jwt`` package) → ``DELETE
/api/v1/datastore`` → the status list (decoded by the tests' own decoder) shows it revoked → a second delete is
``ALREADY_REVOKED``. Also: replacing a document before collection changes what is collected, the tx_code goes to
the mapped person's e-mail, and a deleted document's offer can no longer be redeemed."""

from typing import Any

import jwt as pyjwt
import pytest
from jwcrypto import jwk
from sd_jwt.verifier import SDJWTVerifier

from tests.api.datastore import seed
from tests.conftest import ISSUER, bearer
from tests.flows.issuance_helpers import Backend, HolderKey, Wallet, code_of, published_key, status_of_jwt

SCOPES = ("datastore.read", "datastore.write", "identity.read", "identity.write", "issuance.write", "issuance.read")
DIPLOMA_CLAIMS = seed.DIPLOMA["document_data"]


@pytest.fixture
def source(api_client: Any) -> dict[str, str]:
    return bearer(api_client(*SCOPES, client_id="hr-system").token())


def _upload_all(client: Any, auth: dict[str, str]) -> None:
    mappings = {"mappings": {**seed.BULK_MAPPINGS["mappings"], "alice": seed.ALICE_MAPPING}}
    assert client.post("/api/v1/identity/mapping/bulk", json=mappings, headers=auth).json() == {"count": 3}
    documents = {"documents": {**seed.BULK_DOCUMENTS["documents"], "diploma": seed.DIPLOMA}}
    assert client.post("/api/v1/datastore/bulk", json=documents, headers=auth).json() == {"count": 3}


def _collect(wallet: Wallet, created: dict[str, Any]) -> tuple[str, HolderKey]:
    offer = wallet.offer(created["offerUri"])
    assert offer["credential_configuration_ids"] == ["diploma"]
    token = wallet.token(code_of(offer), created.get("txCode"))
    holder = HolderKey()
    response = wallet.credential(token, [holder])
    assert response.status_code == 200, response.text
    return str(response.json()["credentials"][0]["credential"]), holder


def _verified(client: Any, serialised: str) -> tuple[dict[str, Any], dict[str, Any]]:
    issuer_jwt = serialised.split("~")[0]
    key = published_key(client, pyjwt.get_unverified_header(issuer_jwt)["kid"])
    payload = pyjwt.decode(
        issuer_jwt, pyjwt.PyJWK(key), algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False}
    )
    return payload, SDJWTVerifier(serialised, lambda iss, hdr: jwk.JWK(**key)).get_verified_payload()


def test_bulk_then_offer_then_credential_then_delete_revokes(client: Any, source: dict[str, str]) -> None:
    _upload_all(client, source)
    backend = Backend(client, source["Authorization"].split(" ", 1)[1])
    created = backend.issued(subject=seed.DIPLOMA_KEY, txCode={"length": 6})
    serialised, holder = _collect(Wallet(client), created)
    payload, claims = _verified(client, serialised)
    assert payload["vct"] == "urn:eudi:diploma:1" and payload["iss"] == ISSUER
    assert payload["cnf"]["jwk"]["x"] == holder.public_jwk["x"]
    assert {k: claims[k] for k in DIPLOMA_CLAIMS} == DIPLOMA_CLAIMS
    assert "degree_type" not in payload  # selectively disclosable, as the configuration says
    status = payload["status"]["status_list"]
    assert status_of_jwt(client, status["uri"], status["idx"]) == 0  # VALID

    deleted = client.request("DELETE", "/api/v1/datastore", json=seed.DIPLOMA_KEY, headers=source)
    assert deleted.status_code == 200, deleted.text
    assert status_of_jwt(client, status["uri"], status["idx"]) == 1  # draft 20 §7.1: INVALID (revoked)
    again = client.request("DELETE", "/api/v1/datastore", json=seed.DIPLOMA_KEY, headers=source)
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_REVOKED"
    # the other documents' credentials are untouched, and a new offer for the deleted one is refused
    refused = backend.issue(subject=seed.DIPLOMA_KEY)
    assert refused.status_code == 404 and "DOCUMENT_NOT_FOUND" in refused.json()["message"]


def test_replace_before_collection_changes_what_is_collected(client: Any, source: dict[str, str]) -> None:
    _upload_all(client, source)
    backend = Backend(client, source["Authorization"].split(" ", 1)[1])
    created = backend.issued(subject=seed.DIPLOMA_KEY)
    assert client.put("/api/v1/datastore/", json=seed.DIPLOMA_REPLACE, headers=source).status_code == 200
    serialised, _ = _collect(Wallet(client), created)
    _, claims = _verified(client, serialised)
    assert claims["gpa"] == "3.9" and "credits_earned" not in claims


def test_deleting_withdraws_an_offer_not_yet_collected(client: Any, source: dict[str, str]) -> None:
    _upload_all(client, source)
    backend = Backend(client, source["Authorization"].split(" ", 1)[1])
    created = backend.issued(subject={**seed.DIPLOMA_KEY, "document_id": "diploma-001"})
    offer = Wallet(client).offer(created["offerUri"])
    client.request("DELETE", "/api/v1/datastore", json={**seed.DIPLOMA_KEY, "document_id": "diploma-001"}, headers=source)
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code_of(offer)},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert backend.read(created["issuanceId"])["state"] == "offer_expired"


def test_tx_code_goes_to_the_mapped_persons_email(make_app: Any, api_client: Any) -> None:
    cx = make_app(profile="development", notifier="outbox")
    http = cx.test_client(base_url=ISSUER)
    auth = bearer(api_client(*SCOPES).token())
    mapping = {**seed.ALICE_MAPPING, "attributes": {**seed.ALICE_MAPPING["attributes"], "email": "alice@example.org"}}
    assert http.post("/api/v1/identity/mapping", json=mapping, headers=auth).status_code == 200
    assert http.post("/api/v1/datastore/", json=seed.DIPLOMA, headers=auth).status_code == 200
    created = Backend(http, auth["Authorization"].split(" ", 1)[1]).issued(
        subject=seed.DIPLOMA_KEY, txCode={"length": 6, "delivery": "email"}
    )
    assert "txCode" not in created
    sender = cx.app.extensions["idbb"].cache["notifier"]
    [message] = [m for m in sender.messages() if m["address"] == "alice@example.org"]
    code = message["body"].split("is ")[1].split(".")[0]
    _, claims = _verified(http, _collect(Wallet(http), {**created, "txCode": code})[0])
    assert claims["degree_type"] == "Bachelor of Science"
