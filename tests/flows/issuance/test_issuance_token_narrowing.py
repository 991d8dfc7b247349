"""``authorization_details`` at the token endpoint (OpenID4VCI 1.0 §6.1, RFC 9396 §6.1): the wallet asks for a subset
of what the offer or the authorization covered and gets a token for that subset only; the token response lists the
subset's ``credential_identifiers`` (§6.2); asking for more, or for something malformed, is
``invalid_authorization_details`` (RFC 9396 §6.2) and spends nothing."""

import json
from typing import Any

from tests.flows.issuance.test_issuance_authorization import details, login_for_code, request_with
from tests.flows.issuance_helpers import JWT_VC, MDOC_PID, SD_JWT_PID, HolderKey, Wallet, code_of
from tests.flows.oidc_helpers import enroll_citizen

CLAIMS = {
    "family_name": "Diallo",
    "given_name": "Amina",
    "birthdate": "1990-04-12",
    "birth_date": "1990-04-12",
    "personal_administrative_number": "1234567890",
}


def identifiers(body: dict[str, Any]) -> dict[str, list[str]]:
    return {d["credential_configuration_id"]: d["credential_identifiers"] for d in body["authorization_details"]}


def test_pre_authorized_token_for_a_subset_of_the_offer(backend, client):
    created = backend.issued(credentialConfigurationIds=[SD_JWT_PID, MDOC_PID], claims=CLAIMS)
    wallet = Wallet(client)
    code = code_of(wallet.offer(created["offerUri"]))
    more = wallet.token_response(code, authorization_details=details(SD_JWT_PID, JWT_VC))
    assert more.status_code == 400 and more.json()["error"] == "invalid_authorization_details"
    for bad in ("not json", "[]", json.dumps([{"type": "payment_initiation"}]), details("nope")):
        refused = wallet.token_response(code, authorization_details=bad)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_authorization_details"
    answer = wallet.token_response(code, authorization_details=details(MDOC_PID))
    assert answer.status_code == 200, answer.text  # the refusals spent nothing
    token = answer.json()
    assert identifiers(token) == {MDOC_PID: [f"{MDOC_PID}:0"]}
    outside = wallet.credential(token, [HolderKey()], identifier=f"{SD_JWT_PID}:0")
    assert outside.status_code == 400 and outside.json()["error"] == "unknown_credential_identifier"
    inside = wallet.credential(token, [HolderKey()], identifier=f"{MDOC_PID}:0")
    assert inside.status_code == 200, inside.text


def test_pre_authorized_token_without_authorization_details_covers_the_whole_offer(backend, client):
    created = backend.issued(credentialConfigurationIds=[SD_JWT_PID, MDOC_PID], claims=CLAIMS)
    wallet = Wallet(client)
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    assert set(identifiers(token)) == {SD_JWT_PID, MDOC_PID}
    assert wallet.token_response("x", authorization_details=details(SD_JWT_PID)).json()["error"] == "invalid_grant"


def test_authorization_code_token_for_a_subset_of_the_authorization(app, rp, client):
    citizen = enroll_citizen(app)
    code = rp.code_from(login_for_code(rp, citizen, scope=None, authorization_details=details(SD_JWT_PID, MDOC_PID)))
    more = rp.exchange(code, authorization_details=details(SD_JWT_PID, JWT_VC))
    assert more.status_code == 400 and more.json()["error"] == "invalid_authorization_details"
    answer = rp.exchange(code, authorization_details=details(SD_JWT_PID))
    assert answer.status_code == 200, answer.text  # the refused request did not spend the code
    tokens = answer.json()
    assert identifiers(tokens) == {SD_JWT_PID: [f"{SD_JWT_PID}:0"]}
    wallet = Wallet(client)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    outside = request_with(wallet, token, rp, HolderKey(), credential_identifier=f"{MDOC_PID}:0")
    assert outside.status_code == 400 and outside.json()["error"] == "unknown_credential_identifier"
    inside = request_with(wallet, token, rp, HolderKey(), credential_identifier=f"{SD_JWT_PID}:0")
    assert inside.status_code == 200, inside.text


def test_authorization_code_scope_grant_narrowed_by_authorization_details(app, rp, client):
    """§5.1.2 scopes at /authorize, §6.1 authorization_details at /token: the token then carries identifiers."""
    citizen = enroll_citizen(app)
    code = rp.code_from(login_for_code(rp, citizen, scope=f"openid {SD_JWT_PID}"))
    assert (
        rp.exchange(code, authorization_details=details(MDOC_PID)).json()["error"] == "invalid_authorization_details"
    )  # MDOC's scope was never asked for
    tokens = rp.exchange(code, authorization_details=details(SD_JWT_PID)).json()
    assert identifiers(tokens) == {SD_JWT_PID: [f"{SD_JWT_PID}:0"]}
    wallet = Wallet(client)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    by_config = request_with(wallet, token, rp, HolderKey(), credential_configuration_id=SD_JWT_PID)
    assert by_config.json()["error"] == "invalid_credential_request"  # §8.2: identifiers were returned
    assert request_with(wallet, token, rp, HolderKey(), credential_identifier=f"{SD_JWT_PID}:0").status_code == 200
