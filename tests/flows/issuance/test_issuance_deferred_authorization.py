"""Deferred issuance (OpenID4VCI 1.0 §8.3, §9) with the ``authorization_code`` grant: the backend offers with
``issuer_state``, the person logs in through idbb's login pages, the wallet's credential request is answered 202
(pending), the backend completes the issuance, and ``/deferred_credential`` issues; the SD-JWT VC is verified with
the ``sd-jwt`` package and bound to the key of the first request."""

from typing import Any

import jwt as pyjwt
from jwcrypto import jwk
from sd_jwt.verifier import SDJWTVerifier

from tests.conftest import bearer
from tests.flows.issuance.test_issuance_authorization import token_through_login
from tests.flows.issuance_helpers import SD_JWT_PID, HolderKey, Wallet, published_key
from tests.flows.oidc_helpers import enroll_citizen


def _deferred(client: Any, wallet: Wallet, token: dict[str, Any], transaction_id: str) -> Any:
    return client.post(
        "/deferred_credential", json={"transaction_id": transaction_id}, headers=wallet.auth(token, "/deferred_credential")
    )


def test_deferred_issuance_through_the_login_pages_pending_complete_issued(app, backend, rp, client):
    citizen = enroll_citizen(app)
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin}, mode="Deferred", grant="authorization_code"
    )
    assert backend.read(created["issuanceId"])["credentialStatus"] == "pending"
    wallet = Wallet(client)
    issuer_state = wallet.offer(created["offerUri"])["grants"]["authorization_code"]["issuer_state"]
    tokens = token_through_login(rp, citizen, scope=SD_JWT_PID, issuer_state=issuer_state)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    ident = tokens["authorization_details"][0]["credential_identifiers"][0]
    holder = HolderKey()

    pending = wallet.credential_response(
        token, {"credential_identifier": ident, "proofs": {"jwt": [holder.proof(wallet.c_nonce(), iss=rp.client_id)]}}
    )
    assert pending.status_code == 202, pending.text  # §8.3: not ready, transaction_id and interval
    assert pending.headers["Cache-Control"] == "no-store" and pending.json()["interval"] > 0
    transaction_id = pending.json()["transaction_id"]
    again = _deferred(client, wallet, token, transaction_id)
    assert again.status_code == 202 and again.json()["transaction_id"] == transaction_id  # §9.2: still pending
    second = wallet.credential_response(
        token, {"credential_identifier": ident, "proofs": {"jwt": [HolderKey().proof(wallet.c_nonce(), iss=rp.client_id)]}}
    )
    assert second.status_code == 400 and second.json()["error"] == "credential_request_denied"  # one request
    assert backend.read(created["issuanceId"])["credentialStatus"] == "pending"

    done = client.post(
        f"/v1/issuance/{created['issuanceId']}/complete",
        headers=bearer(backend.token),
        json={
            "claims": {
                "family_name": "Diallo",
                "given_name": "Amina",
                "birthdate": "1990-04-12",
                "personal_administrative_number": citizen.uin,
            }
        },
    )
    assert done.status_code == 200 and done.json()["credentialStatus"] == "ready"
    issued = _deferred(client, wallet, token, transaction_id)
    assert issued.status_code == 200, issued.text
    serialised = issued.json()["credentials"][0]["credential"]
    header = pyjwt.get_unverified_header(serialised.split("~")[0])
    issuer_key = jwk.JWK(**published_key(client, header["kid"]))
    payload = SDJWTVerifier(serialised, lambda iss, hdr: issuer_key).get_verified_payload()
    assert payload["vct"] == "urn:eudi:pid:1" and payload["family_name"] == "Diallo"
    assert payload["cnf"]["jwk"]["x"] == holder.public_jwk["x"]  # bound to the key of the first request
    assert _deferred(client, wallet, token, transaction_id).json()["error"] == "invalid_transaction_id"  # §9.1
    record = backend.read(created["issuanceId"])
    assert record["state"] == "credential_issued" and len(record["credentials"]) == 1
    assert [s["state"] for s in record["history"]][:2] == ["offer_sent", "offer_received"]
