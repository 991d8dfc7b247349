"""OSIA CMS credential requests over HTTP: a wallet request makes an offer (PENDING until collected, then ISSUED
with its credential ids), cancel withdraws the offer, an ID card request makes the card PDF (checked with
independent readers), unknown and blocked people get the same FAILED, and the error codes of each operation."""

from app.clock import clock
from tests.card_checks import pdf_text, qr_texts, verify_card_qr
from tests.conftest import ISSUER, bearer, server_jwks
from tests.flows.issuance_helpers import SD_JWT_PID, HolderKey, code_of


def _request(uin, profile, **request_data):
    return {
        "personId": uin,
        "biographicData": {"firstName": "Amina"},
        "requestData": {"priority": 1, "credentialProfileId": profile, "requestType": "FIRST_ISSUANCE", **request_data},
    }


def test_wallet_request_pending_until_collected_then_issued(client, cms, wallet, citizen):
    created = cms.call("POST", "/v1/credentialRequests/REQ-1", json=_request(citizen.uin, SD_JWT_PID))
    assert created.status_code == 201, created.text
    read = cms.call("GET", "/v1/credentialRequests/REQ-1").json()
    assert read["status"] == "PENDING" and read["credentialIds"] == [] and read["personId"] == citizen.uin
    offer_uri = read["offer"]["offerUri"]
    token = wallet.token(code_of(wallet.offer(offer_uri)))
    assert wallet.credential(token, [HolderKey()]).status_code == 200
    issued = cms.call("GET", "/v1/credentialRequests/REQ-1").json()
    assert issued["status"] == "ISSUED" and len(issued["credentialIds"]) == 1 and "offer" not in issued
    credential = cms.call("GET", f"/v1/credentials/{issued['credentialIds'][0]}").json()
    assert credential["status"] == "ACTIVE" and credential["credentialProfileId"] == SD_JWT_PID
    found = cms.call(
        "POST", "/v1/credentials", json=[{"attributeName": "credentialRequestId", "operator": "=", "value": "REQ-1"}]
    ).json()
    assert [c["credentialId"] for c in found] == issued["credentialIds"]
    # ISSUED is final for the request: no cancel, no update
    assert cms.call("POST", "/v1/credentialRequests/REQ-1/cancel").status_code == 409
    assert cms.call("PUT", "/v1/credentialRequests/REQ-1", json=_request(citizen.uin, SD_JWT_PID)).status_code == 409
    duplicate = cms.call("POST", "/v1/credentialRequests/REQ-1", json=_request(citizen.uin, SD_JWT_PID))
    assert duplicate.status_code == 409 and set(duplicate.json()) == {"code", "message"}


def test_cancel_withdraws_the_offer(client, cms, wallet, citizen):
    cms.call("POST", "/v1/credentialRequests/REQ-2", json=_request(citizen.uin, SD_JWT_PID))
    offer_uri = cms.call("GET", "/v1/credentialRequests/REQ-2").json()["offer"]["offerUri"]
    offer = wallet.offer(offer_uri)
    update = cms.call(
        "PUT",
        "/v1/credentialRequests/REQ-2",
        json={**_request(citizen.uin, SD_JWT_PID), "biographicData": {"firstName": "Aminata"}},
    )
    assert update.status_code == 204
    assert cms.call("GET", "/v1/credentialRequests/REQ-2").json()["biographicData"] == {"firstName": "Aminata"}
    assert cms.call("POST", "/v1/credentialRequests/REQ-2/cancel").status_code == 204
    assert cms.call("GET", "/v1/credentialRequests/REQ-2").json()["status"] == "CANCELLED"
    refused = client.post(
        "/oauth/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code_of(offer)},
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert cms.call("POST", "/v1/credentialRequests/REQ-2/cancel").status_code == 409


def test_expired_offer_fails_the_request(cms, citizen):
    cms.call("POST", "/v1/credentialRequests/REQ-3", json=_request(citizen.uin, SD_JWT_PID))
    clock.advance(700)  # past the offer (IDBB_CREDENTIAL_OFFER_TTL 600 s)
    try:
        cms.renew()
        response = cms.call("GET", "/v1/credentialRequests/REQ-3")
        assert response.status_code == 200, response.text
        read = response.json()
    finally:
        clock.reset()
    assert read["status"] == "FAILED" and read["statusOther"] == "OFFER_EXPIRED"


def test_id_card_request_makes_a_verifiable_card(client, cms, citizen):
    created = cms.call("POST", "/v1/credentialRequests/CARD-1", json=_request(citizen.uin, "idbb.id_card"))
    assert created.status_code == 201, created.text
    read = cms.call("GET", "/v1/credentialRequests/CARD-1").json()
    assert read["status"] == "ISSUED" and read["cardUri"] == f"{ISSUER}/v1/credentialRequests/CARD-1/card"
    card = cms.call("GET", "/v1/credentialRequests/CARD-1/card")
    assert card.status_code == 200 and card.headers["Content-Type"] == "application/pdf"
    text = pdf_text(card.content)
    for printed in ("Diallo", "Amina", "1990-04-12", citizen.uin, read["credentialIds"][0]):
        assert printed in text
    [qr] = qr_texts(card.content)
    claims = verify_card_qr(qr, server_jwks(client))
    assert claims[2] == citizen.uin and claims[7] == read["credentialIds"][0].encode()
    assert claims["family_name"] == "Diallo" and claims["given_name"] == "Amina" and claims["birthdate"] == "1990-04-12"
    assert claims[1] == ISSUER and claims[4] > claims[6]
    short = cms.call(
        "POST",
        "/v1/credentialRequests/CARD-2",
        json=_request(citizen.uin, "idbb.id_card", validToDate="2030-06-30T00:00:00Z"),
    )
    assert short.status_code == 201
    short_pdf = cms.call("GET", "/v1/credentialRequests/CARD-2/card").content
    assert "2030-06-30" in pdf_text(short_pdf)
    assert verify_card_qr(qr_texts(short_pdf)[0], server_jwks(client))[4] == 1909008000  # 2030-06-30T00:00:00Z
    wallet_request = cms.call("POST", "/v1/credentialRequests/REQ-4", json=_request(citizen.uin, SD_JWT_PID))
    assert wallet_request.status_code == 201
    assert cms.call("GET", "/v1/credentialRequests/REQ-4/card").status_code == 404


def test_unknown_and_blocked_people_fail_alike(app, cms, citizen):
    from app.services import lifecycle

    cms.call("POST", "/v1/credentialRequests/U-1", json=_request("0000000000", SD_JWT_PID))
    with app.app.app_context():
        lifecycle.block_identity(citizen.uin, reason="fraud check", actor="test")
    cms.call("POST", "/v1/credentialRequests/U-2", json=_request(citizen.uin, "idbb.id_card"))
    unknown = cms.call("GET", "/v1/credentialRequests/U-1").json()
    blocked = cms.call("GET", "/v1/credentialRequests/U-2").json()
    assert (
        (unknown["status"], unknown["statusOther"])
        == (blocked["status"], blocked["statusOther"])
        == ("FAILED", "NOT_ISSUABLE")
    )


def test_request_errors_and_least_privilege(client, api_client, cms, citizen):
    bad_profile = cms.call("POST", "/v1/credentialRequests/E-1", json=_request(citizen.uin, "nope"))
    assert bad_profile.status_code == 400 and bad_profile.json()["code"] == 400
    no_tx = cms.call("POST", "/v1/credentialRequests/E-2", json=_request(citizen.uin, SD_JWT_PID), tx=False)
    assert no_tx.status_code == 400 and set(no_tx.json()) == {"code", "message"}
    incomplete = cms.call("POST", "/v1/credentialRequests/E-3", json={"personId": citizen.uin})
    assert incomplete.status_code == 400
    past = cms.call(
        "POST", "/v1/credentialRequests/E-4", json=_request(citizen.uin, "idbb.id_card", validToDate="2001-01-01T00:00:00Z")
    )
    assert past.status_code == 400
    for too_much in (
        {"validToDate": "2199-01-01T00:00:00Z"},
        {"validFromDate": "2001-01-01T00:00:00Z"},
        {"validToDate": "tomorrow"},
    ):
        response = cms.call("POST", "/v1/credentialRequests/E-5", json=_request(citizen.uin, "idbb.id_card", **too_much))
        assert response.status_code == 400 and "invalid_validity" in response.json()["message"], too_much
    wallet_validity = cms.call(
        "POST", "/v1/credentialRequests/E-6", json=_request(citizen.uin, SD_JWT_PID, validToDate="2030-01-01T00:00:00Z")
    )
    assert wallet_validity.status_code == 400
    assert cms.call("GET", "/v1/credentialRequests/none").status_code == 404
    cms.call("POST", "/v1/credentialRequests/MINE", json=_request(citizen.uin, "idbb.id_card"))
    other = api_client("cms.request.read", "cms.request.write").token()
    for method, path in (
        ("GET", "/v1/credentialRequests/MINE"),
        ("GET", "/v1/credentialRequests/MINE/card"),
        ("POST", "/v1/credentialRequests/MINE/cancel"),
    ):
        response = client.request(method, f"{path}?transactionId=t", headers=bearer(other))
        assert response.status_code == 404, (method, path)
    reader = api_client("cms.request.read").token()
    assert (
        client.post(
            "/v1/credentialRequests/X?transactionId=t", json=_request(citizen.uin, SD_JWT_PID), headers=bearer(reader)
        ).status_code
        == 403
    )


def test_profiles_list_the_configurations_and_the_card(client, api_client, cms):
    profiles = cms.call("POST", "/v1/credentialProfiles", json=[])
    assert profiles.status_code == 200
    by_id = {p["credentialProfileId"]: p for p in profiles.json()}
    metadata = client.get("/.well-known/openid-credential-issuer").json()["credential_configurations_supported"]
    assert set(by_id) == set(metadata) | {"idbb.id_card"}
    assert by_id["idbb.id_card"]["credentialType"] == "ID_CARD" and by_id[SD_JWT_PID]["credentialType"] == "MOBILE"
    cards = cms.call(
        "POST", "/v1/credentialProfiles", json=[{"attributeName": "credentialType", "operator": "=", "value": "ID_CARD"}]
    ).json()
    assert [p["credentialProfileId"] for p in cards] == ["idbb.id_card"]
    assert (
        cms.call(
            "POST", "/v1/credentialProfiles", json=[{"attributeName": "defaultLifetime", "operator": ">", "value": 1}]
        ).status_code
        == 400
    )
    token = api_client("cms.credential.read").token()
    assert client.post("/v1/credentialProfiles?transactionId=t", json=[], headers=bearer(token)).status_code == 403
