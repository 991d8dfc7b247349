"""A printed card is a credential with a Token Status List entry (issue 17): its QR payload carries the status
reference (draft-ietf-oauth-status-list-20 §6.3, CWT claim 65535), and suspend / unsuspend / revoke through the
OSIA CMS, ``/block`` / ``/unblock`` of the identity and a death in the registry reach the published list, read by
the tests' own decoder from both the JWT and the CWT form. The QR is read from the rendered PDF by zxing-cpp and
its signature checked by pycose."""

from tests.api.cms.test_requests import _request
from tests.card_checks import qr_texts, verify_card_qr
from tests.conftest import ISSUER, bearer, server_jwks
from tests.flows.issuance_helpers import status_of_cwt, status_of_jwt
from tests.flows.lifecycle.test_backend_api import _registry_update

STATUS_CLAIM = 65535  # draft 20 §6.3 / §14.6 (requested assignment)
VALID, INVALID, SUSPENDED = 0, 1, 2


def _card(cms, client, uin: str, request_id: str) -> tuple[str, str, int]:
    """(card id, status list URI, index) of a new card, the reference read from its rendered QR code."""
    created = cms.call(
        "POST",
        f"/v1/credentialRequests/{request_id}",
        json=_request(uin, "idbb.id_card"),
    )
    assert created.status_code == 201, created.text
    [card_id] = cms.call("GET", f"/v1/credentialRequests/{request_id}").json()["credentialIds"]
    [qr] = qr_texts(cms.call("GET", f"/v1/credentialRequests/{request_id}/card").content)
    claims = verify_card_qr(qr, server_jwks(client))
    reference = claims[STATUS_CLAIM]
    assert set(reference) == {"status_list"} and set(reference["status_list"]) == {"idx", "uri"}
    uri, idx = reference["status_list"]["uri"], reference["status_list"]["idx"]
    assert uri.startswith(f"{ISSUER}/statuslists/") and isinstance(idx, int) and idx >= 0
    return card_id, uri, idx


def _published(client, uri: str, idx: int) -> int:
    value = status_of_jwt(client, uri, idx)
    assert status_of_cwt(client, uri, idx) == value, "statuslist+jwt and statuslist+cwt disagree"
    return value


def test_a_card_is_suspended_unsuspended_and_revoked_through_the_cms(client, cms, citizen):
    card_id, uri, idx = _card(cms, client, citizen.uin, "CARD-S1")
    assert _published(client, uri, idx) == VALID
    read = cms.call("GET", f"/v1/credentials/{card_id}")
    assert read.status_code == 200, read.text
    data = read.json()
    assert data["credentialProfileId"] == "idbb.id_card" and data["personId"] == citizen.uin
    assert data["status"] == "ACTIVE" and data["others"]["format"] == "card"
    assert (data["others"]["statusListUri"], data["others"]["statusListIndex"]) == (uri, idx)
    assert cms.call("POST", f"/v1/credentials/{card_id}/suspend", json={"reason": "reported lost"}).status_code == 204
    assert _published(client, uri, idx) == SUSPENDED
    assert cms.call("POST", f"/v1/credentials/{card_id}/unsuspend", json={}).status_code == 204
    assert _published(client, uri, idx) == VALID
    assert cms.call("POST", f"/v1/credentials/{card_id}/revoke", json={"reason": "stolen"}).status_code == 204
    assert _published(client, uri, idx) == INVALID
    refused = cms.call("POST", f"/v1/credentials/{card_id}/unsuspend", json={})
    assert refused.status_code == 409 and refused.json()["code"]
    assert cms.call("GET", f"/v1/credentials/{card_id}/status").json()["status"] == "REVOKED"


def test_two_cards_get_distinct_entries_and_search_finds_them(client, cms, citizen):
    first = _card(cms, client, citizen.uin, "CARD-D1")
    second = _card(cms, client, citizen.uin, "CARD-D2")
    assert first[0] != second[0] and (first[1], first[2]) != (second[1], second[2])
    found = cms.call(
        "POST",
        "/v1/credentials",
        json=[
            {"attributeName": "personId", "operator": "=", "value": citizen.uin},
            {"attributeName": "credentialProfileId", "operator": "=", "value": "idbb.id_card"},
        ],
    )
    assert found.status_code == 200, found.text
    assert sorted(c["credentialId"] for c in found.json()) == sorted([first[0], second[0]])
    by_request = cms.call(
        "POST", "/v1/credentials", json=[{"attributeName": "credentialRequestId", "operator": "=", "value": "CARD-D2"}]
    )
    assert [c["credentialId"] for c in by_request.json()] == [second[0]]


def test_block_and_unblock_reach_the_card(client, api_client, cms, citizen):
    _, uri, idx = _card(cms, client, citizen.uin, "CARD-B1")
    office = api_client("credential.block").token()
    body = {"id": "govstack.cm", "version": "1.0", "requesttime": "2026-12-02T04:00:00.000Z"}
    request = {"id": citizen.uin, "idType": "UIN", "reason": "fraud"}
    blocked = client.post("/block", json={**body, "request": request}, headers=bearer(office))
    assert blocked.status_code == 200, blocked.text
    assert _published(client, uri, idx) == SUSPENDED
    unblocked = client.post("/unblock", json={**body, "request": {"id": citizen.uin}}, headers=bearer(office))
    assert unblocked.status_code == 200, unblocked.text
    assert _published(client, uri, idx) == VALID


def test_a_death_in_the_registry_revokes_the_card(client, api_client, cms, citizen):
    _, uri, idx = _card(cms, client, citizen.uin, "CARD-X1")
    _registry_update(client, api_client, citizen.uin, {"dateOfDeath": "2026-11-30"}, "death certificate")
    assert _published(client, uri, idx) == INVALID  # the default death rule: revoke


def test_a_card_is_not_renewed_online(app, client, api_client, citizen):
    """A card's record belongs to the client that ordered it; renewing it online is refused: no offer can carry a
    printed card (order a new one instead)."""
    from app.extensions import db
    from app.models.issuance import IssuedCredential
    from tests.api.cms.conftest import CMS_SCOPES, Cms

    account = api_client(*CMS_SCOPES, "issuance.write", "issuance.read")
    office = Cms(client, account.token(), account)
    card_id, _, _ = _card(office, client, citizen.uin, "CARD-R1")
    with app.app.app_context():
        revocation_id = db.session.get(IssuedCredential, card_id).revocation_id
    renewed = client.post(f"/v1/issuance/credentials/{revocation_id}/renew", json={}, headers=bearer(office.token))
    assert renewed.status_code == 400, renewed.text
    assert renewed.json()["message"].startswith("not_renewable: A printed card")  # OSIA {code, message} on /v1/credentials


def test_a_card_prints_a_name_in_arabic_script(app, client, cms):
    from tests.card_checks import pdf_text
    from tests.flows.oidc_helpers import enroll_citizen

    person = enroll_citizen(app, firstName="أمينة", lastName="ديالو", email="amina.ar@example.org")
    _card(cms, client, person.uin, "CARD-AR")
    text = pdf_text(cms.call("GET", "/v1/credentialRequests/CARD-AR/card").content)
    assert "أمينة" in text and "ديالو" in text
