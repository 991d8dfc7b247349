"""The GovStack compliance sandbox profile: seeded fixtures and relaxed rules; the strict profile refuses
the same inputs (issue 4, README "GovStack compliance sandbox")."""

import time
from typing import Any

import pytest

from app.services.sandbox import SANDBOX_INDIVIDUAL_ID, SANDBOX_PASSWORD, SANDBOX_TRANSACTIONS
from app.services.startup import assert_ready_to_serve
from tests.conftest import ISSUER, request_time
from tests.flows.oidc_helpers import new_rsa_key

XSRF = {"X-XSRF-TOKEN": "sandbox-xsrf"}


def call(client: Any, path: str, request: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post(path, json={"requestTime": request_time(), "request": request}, headers=headers or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def error(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["errorCode"] if body["errors"] else None


@pytest.fixture
def sandbox(make_app: Any) -> Any:
    cx = make_app(profile="govstack-sandbox", issuer=ISSUER)
    assert_ready_to_serve(cx.app)  # what `idbb serve` and the ASGI entry point run at start-up: seeds the fixtures
    return cx


@pytest.fixture
def sandbox_client(sandbox: Any) -> Any:
    return sandbox.test_client(base_url=ISSUER)


def login_by_wallet_with_password(client: Any, transaction_id: str) -> dict[str, Any]:
    made = call(client, "/linked-authorization/link-code", {"transactionId": transaction_id}, XSRF)
    assert error(made) is None, made
    code = made["response"]["linkCode"]
    linked = call(client, "/linked-authorization/link-transaction", {"linkCode": code})
    assert error(linked) is None, linked
    assert {"name", "given_name"} <= set(linked["response"]["essentialClaims"])
    ltid = linked["response"]["linkTransactionId"]
    auth = call(client, "/linked-authorization/authenticate", {
        "linkedTransactionId": ltid, "individualId": SANDBOX_INDIVIDUAL_ID,
        "challengeList": [{"authFactorType": "PIN", "challenge": SANDBOX_PASSWORD, "format": "alpha-numeric"}]})
    assert error(auth) is None, auth
    given = call(client, "/linked-authorization/consent", {
        "linkedTransactionId": ltid, "acceptedClaims": ["name", "given_name"], "permittedAuthorizeScopes": []})
    assert error(given) is None, given
    got = call(client, "/linked-authorization/link-auth-code", {"transactionId": transaction_id, "linkedCode": code},
               XSRF)
    assert error(got) is None, got
    return dict(got["response"])


def test_seeded_transactions_log_in_the_seeded_person_and_stay_usable(sandbox_client: Any) -> None:
    first = login_by_wallet_with_password(sandbox_client, "transactionId01")
    assert first["state"] == "state-transactionId01" and first["nonce"] == "nonce-transactionId01"
    assert first["code"] and first["redirectUri"].startswith("https://")
    again = login_by_wallet_with_password(sandbox_client, "transactionId01")  # a finished one reopens
    assert again["code"] != first["code"]
    for transaction_id in SANDBOX_TRANSACTIONS:
        made = call(sandbox_client, "/linked-authorization/link-code", {"transactionId": transaction_id}, XSRF)
        assert error(made) is None, (transaction_id, made)


def test_sandbox_link_codes_live_20_seconds_and_polls_answer_within_3_seconds(sandbox_client: Any) -> None:
    made = call(sandbox_client, "/linked-authorization/link-code", {"transactionId": "transactionId02"}, XSRF)
    from datetime import UTC, datetime

    expires = datetime.strptime(made["response"]["expireDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert 15 <= (expires - datetime.now(UTC)).total_seconds() <= 21
    started = time.perf_counter()
    status = call(sandbox_client, "/linked-authorization/link-status",
                  {"transactionId": "transactionId02", "linkCode": made["response"]["linkCode"]}, XSRF)
    assert time.perf_counter() - started < 3
    assert status["errors"] == [] and status["response"] == {"transactionId": "transactionId02"}


def client_request() -> dict[str, Any]:
    _pem, public = new_rsa_key()
    return {"clientId": "harness-rp", "clientName": "Harness", "relyingPartyId": "harness",
            "logoUri": "https://harness.example/logo.png", "redirectUris": ["https://harness.example/cb"],
            "authContextRefs": ["idbb:acr:static-code"], "publicKey": public, "userClaims": ["name"],
            "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"]}


def test_sandbox_client_management_needs_no_bearer_token(sandbox_client: Any) -> None:
    body = call(sandbox_client, "/client-mgmt/oidc-client", client_request())
    assert error(body) is None and body["response"]["clientId"] == "harness-rp"


def test_strict_profile_refuses_the_sandbox_shortcuts(app: Any, client: Any) -> None:
    response = client.post("/client-mgmt/oidc-client", json={"requestTime": request_time(),
                                                             "request": client_request()})
    assert response.status_code == 401
    made = call(client, "/linked-authorization/link-code", {"transactionId": "transactionId01"}, XSRF)
    assert error(made) == "invalid_transaction_id"  # nothing is seeded outside the sandbox


def test_fixtures_are_never_seeded_outside_the_sandbox(app: Any) -> None:
    from app.services import sandbox

    with app.app.app_context(), pytest.raises(RuntimeError):
        sandbox.seed()
