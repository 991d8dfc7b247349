"""Smoke: the QR login over HTTP with the PIN factor (the full suite is test_linked_authorization.py)."""

from typing import Any

from tests.conftest import request_time
from tests.flows.oidc_helpers import forms, register_rp

XSRF = {"X-XSRF-TOKEN": "t0k3n"}


def call(client: Any, path: str, request: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post(path, json={"requestTime": request_time(), "request": request}, headers=headers or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_qr_login_with_pin(app: Any, client: Any, admin_token: str, citizen: Any) -> None:
    rp = register_rp(client, admin_token, acrs=["idbb:acr:linked-wallet", "idbb:acr:static-code"])
    page = rp.authorize(acr_values="idbb:acr:static-code")
    assert page.status_code == 200, page.text[:300]
    txn = forms(page.text)["pin-form"]["fields"]["txn"]
    made = call(client, "/linked-authorization/link-code", {"transactionId": txn}, XSRF)
    assert not made["errors"], made
    code = made["response"]["linkCode"]
    status = call(client, "/linked-authorization/link-status", {"transactionId": txn, "linkCode": code}, XSRF)
    assert status["errors"] == [] and "linkStatus" not in status["response"]
    linked = call(client, "/linked-authorization/v2/link-transaction", {"linkCode": code})
    assert not linked["errors"], linked
    ltid = linked["response"]["linkTransactionId"]
    status = call(client, "/linked-authorization/link-status", {"transactionId": txn, "linkCode": code}, XSRF)
    assert status["response"]["linkStatus"] == "LINKED"
    auth = call(client, "/linked-authorization/v2/authenticate", {
        "linkedTransactionId": ltid, "individualId": citizen.uin,
        "challengeList": [{"authFactorType": "PIN", "challenge": citizen.pin, "format": "number"}]})
    assert not auth["errors"], auth
    given = call(client, "/linked-authorization/consent", {
        "linkedTransactionId": ltid, "acceptedClaims": linked["response"]["essentialClaims"]
        + linked["response"]["voluntaryClaims"], "permittedAuthorizeScopes": []})
    assert not given["errors"], given
    got = call(client, "/linked-authorization/link-auth-code", {"transactionId": txn, "linkedCode": code}, XSRF)
    assert not got["errors"], got
    rp.last = {"state": got["response"]["state"]}
    token = rp.exchange(got["response"]["code"])
    assert token.status_code == 200, token.text
