"""GovStack credential management over HTTP: block / unblock reach the published lists and stop issuance,
updateIdentity, the personalized card (PDF text, rendered QR and its signature checked with other libraries), share
with a consenting partner, events and service history, each with its envelope and errors."""

import io
from datetime import timedelta

import jwt as pyjwt
import pytest
from pypdf import PdfReader

from app.clock import clock
from tests.card_checks import pdf_text, qr_texts, verify_card_qr
from tests.conftest import ISSUER, bearer, server_jwks
from tests.flows.issuance_helpers import MDOC_PID, SD_JWT_PID
from tests.flows.lifecycle.helpers import issue, published_status


def envelope(request: dict) -> dict:
    return {"id": "govstack.cm", "version": "1.0", "requesttime": "2026-12-02T04:00:00.000Z", "request": request}


def assert_error(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["response"] is None and body["errors"][0]["errorCode"] and body["errors"][0]["errorMessage"]
    if code:
        assert body["errors"][0]["errorCode"] == code


def test_block_and_unblock_every_credential_of_an_identity(client, office, backend, wallet, citizen):
    first = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    second = issue(backend, wallet, citizen.uin, MDOC_PID)
    blocked = client.post(
        "/block", json=envelope({"id": citizen.uin, "idType": "UIN", "reason": "fraud check"}), headers=bearer(office)
    )
    assert blocked.status_code == 200, blocked.text
    body = blocked.json()
    assert body["response"]["status"] == "BLOCKED" and body["response"]["credentialsChanged"] == 2
    assert body["errors"] == [] and body["id"] == "govstack.cm"
    assert published_status(client, first) == 2 and published_status(client, second) == 2
    # while blocked, no new issuance: a wallet offer and a card are refused
    assert backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin}).status_code in (400, 403, 409)
    assert_error(
        client.post("/download/personalized-card", json=envelope({"individualId": citizen.uin}), headers=bearer(office)),
        409,
        "identity_blocked",
    )
    unblocked = client.post("/unblock", json=envelope({"id": citizen.uin}), headers=bearer(office))
    assert unblocked.status_code == 200 and unblocked.json()["response"]["status"] == "UNBLOCKED"
    assert published_status(client, first) == 0 and published_status(client, second) == 0
    assert backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin}).status_code == 201
    event = client.get(f"/events/{body['response']['eventId']}?language=eng", headers=bearer(office)).json()
    assert event["response"]["eventType"] == "block" and event["response"]["individualId"] == citizen.uin


def test_block_errors_and_scopes(client, api_client, office, citizen):
    assert_error(client.post("/block", json=envelope({"id": "0000000000"}), headers=bearer(office)), 404, "unknown_identity")
    assert_error(client.post("/block", json=envelope({"uin": citizen.uin}), headers=bearer(office)), 400)
    assert_error(client.post("/block", json={"request": {"id": citizen.uin, "extra": 1}}, headers=bearer(office)), 400)
    assert_error(client.post("/block", json=envelope({"id": citizen.uin})), 401)
    card_only = api_client("credential.card").token()
    wrong_scope = client.post("/block", json=envelope({"id": citizen.uin}), headers=bearer(card_only))
    assert_error(wrong_scope, 403)
    assert 'error="insufficient_scope"' in wrong_scope.headers["WWW-Authenticate"]  # RFC 6750 §3.1
    assert_error(client.post("/unblock", json=envelope({"id": citizen.uin}), headers=bearer(card_only)), 403)


def test_update_identity_deactivates_and_activates(client, office, backend, citizen):
    off = client.patch(
        "/updateIdentity",
        json={"id": "govstack.updateIdentity", "version": "v1", "request": {"uin": citizen.uin, "status": "DEACTIVATED"}},
        headers=bearer(office),
    )
    assert off.status_code == 200, off.text
    assert off.json()["response"]["status"] == "DEACTIVATED"
    assert backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin}).status_code == 400
    assert_error(
        client.post("/download/personalized-card", json=envelope({"individualId": citizen.uin}), headers=bearer(office)), 409
    )
    on = client.patch(
        "/updateIdentity", json={"request": {"uin": citizen.uin, "status": "ACTIVATED"}}, headers=bearer(office)
    )
    assert on.status_code == 200
    assert backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin}).status_code == 201
    assert_error(
        client.patch("/updateIdentity", json={"request": {"uin": citizen.uin, "status": "GONE"}}, headers=bearer(office)),
        400,
    )
    assert_error(
        client.patch(
            "/updateIdentity", json={"request": {"uin": "0000000000", "status": "ACTIVATED"}}, headers=bearer(office)
        ),
        404,
    )


def test_personalized_card_with_photo_verifies_offline(app, client, office, osia):
    from tests.enrollment_helpers import full_body

    assert osia.create("E-CARD-1", full_body(), finalize=True).status_code == 204
    uin = _uin_of(app, "E-CARD-1")
    response = client.post(
        "/download/personalized-card", json=envelope({"individualId": uin, "html": "<b>x</b>"}), headers=bearer(office)
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf" and len(response.headers["eventId"]) == 16
    pdf = response.content
    text = pdf_text(pdf)
    for printed in ("Diallo", "Amina", "1990-04-12", uin, "Valid until"):
        assert printed in text
    assert "<b>" not in text
    [page] = PdfReader(io.BytesIO(pdf)).pages
    assert len(page.images) == 1  # the enrollment's FACE image
    [qr] = qr_texts(pdf)
    claims = verify_card_qr(qr, server_jwks(client))
    assert (claims[2], claims["family_name"], claims["given_name"], claims["birthdate"]) == (
        uin,
        "Diallo",
        "Amina",
        "1990-04-12",
    )
    assert claims[1] == ISSUER and claims[4] - claims[5] == 3650 * 86400
    assert clock.now().year + 9 <= int(text.split("Valid until")[1].split()[0][:4])
    event = client.get(f"/events/{response.headers['eventId']}?language=eng", headers=bearer(office)).json()
    assert event["response"]["eventType"] == "download_card" and event["response"]["eventStatus"] == "SUCCESS"
    assert_error(
        client.post("/download/personalized-card", json=envelope({"individualId": "0000000000"}), headers=bearer(office)),
        404,
    )


def _uin_of(app, enrollment_id):
    from sqlalchemy import select

    from app.extensions import db
    from app.models.enrollment import Enrollment
    from app.models.registry import Identity

    with app.app.app_context():
        identity_id = db.session.get(Enrollment, enrollment_id).identity_id
        return db.session.execute(select(Identity.uin).where(Identity.identity_id == identity_id)).scalar_one()


@pytest.fixture
def partner(app, citizen):
    """A relying party registered through client management, and the citizen's standing consent to it for two
    claims (as idbb's consent page records it)."""
    from app.extensions import db
    from app.models.clients import Client
    from app.models.grants import Consent
    from app.models.registry import Identity
    from app.services.transaction import atomic

    with app.app.app_context(), atomic():
        now = clock.now()
        db.session.add(
            Client(
                client_id="partner-bank",
                kind="oidc",
                name="Bank",
                status="active",
                claims=["given_name", "family_name", "birthdate"],
                created_at=now,
                updated_at=now,
                client_metadata={},
            )
        )
        identity_id = db.session.query(Identity.identity_id).filter(Identity.uin == citizen.uin).scalar()
        db.session.add(
            Consent(
                consent_id="c-1",
                identity_id=identity_id,
                client_id="partner-bank",
                request_hash="x",
                accepted_claims=["family_name", "birthdate"],
                scopes=["openid"],
                created_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
    return "partner-bank"


def share_body(uin, partner_id, names, consent="Accepted", masked=()):
    return envelope(
        {
            "individualId": uin,
            "partnerId": partner_id,
            "consent": consent,
            "purpose": "Open an account",
            "sharableAttributes": [{"attributeName": n, "isMasked": n in masked} for n in names],
        }
    )


def test_share_credential_with_a_consenting_partner(client, office, citizen, partner):
    shared = client.post(
        "/share-credential",
        json=share_body(citizen.uin, partner, ["family_name", "birthdate"], masked=("birthdate",)),
        headers=bearer(office),
    )
    assert shared.status_code == 200, shared.text
    body = shared.json()["response"]
    assert body["status"] == "Success" and shared.headers["eventId"] == body["eventId"]
    jwks = server_jwks(client)
    kid = pyjwt.get_unverified_header(body["credential"])["kid"]
    key = pyjwt.PyJWK([k for k in jwks["keys"] if k["kid"] == kid][0])
    claims = pyjwt.decode(body["credential"], key.key, algorithms=["RS256"], audience=partner, issuer=ISSUER)
    assert claims["family_name"] == "Diallo" and claims["birthdate"].endswith("12") and "1990" not in claims["birthdate"]
    assert "given_name" not in claims and citizen.uin not in str(claims)
    # not consented, consent denied, unknown partner: nothing shared
    not_consented = client.post(
        "/share-credential", json=share_body(citizen.uin, partner, ["given_name"]), headers=bearer(office)
    )
    assert_error(not_consented, 403, "consent_required")
    # RFC 6750 §3.1: a 403 that is not insufficient_scope is no token problem, so no Bearer challenge
    assert "WWW-Authenticate" not in not_consented.headers
    assert_error(
        client.post(
            "/share-credential", json=share_body(citizen.uin, partner, ["family_name"], "Denied"), headers=bearer(office)
        ),
        403,
        "consent_required",
    )
    assert_error(
        client.post("/share-credential", json=share_body(citizen.uin, "nobody", ["family_name"]), headers=bearer(office)),
        404,
        "unknown_partner",
    )
    denied = client.post(
        "/share-credential", json=share_body("0000000000", partner, ["family_name"]), headers=bearer(office)
    )
    assert denied.status_code == 404 and "Diallo" not in denied.text


def test_events_and_service_history_are_per_client(client, api_client, office, citizen):
    ids = []
    for path in ("/block", "/unblock", "/block"):
        answer = client.post(path, json=envelope({"id": citizen.uin}), headers=bearer(office))
        ids.append(answer.json()["response"]["eventId"])
    headers = {**bearer(office), "locale": "en-US", "time-zone-offset": "-330"}
    today = clock.now().date().isoformat()
    page = client.get(f"/service-history/eng?fromDate={today}&pageFetch=2&sortType=ASC", headers=headers)
    assert page.status_code == 200, page.text
    history = page.json()["response"]
    assert history["totalItems"] == 3 and history["totalPages"] == 2 and len(history["data"]) == 2
    assert [d["eventId"] for d in history["data"]] == ids[:2]
    assert history["data"][0]["requestType"] == "ID_MANAGEMENT_REQUEST"
    found = client.get(f"/service-history/eng?fromDate={today}&searchText={ids[2]}", headers=headers).json()
    assert [d["eventId"] for d in found["response"]["data"]] == [ids[2]]
    other = api_client("credential.events.read").token()
    assert_error(client.get(f"/events/{ids[0]}?language=eng", headers=bearer(other)), 404, "event_not_found")
    assert (
        client.get(
            f"/service-history/eng?fromDate={today}", headers={**bearer(other), "locale": "en", "time-zone-offset": "0"}
        ).json()["response"]["totalItems"]
        == 0
    )
    assert_error(client.get("/events/123?language=eng", headers=bearer(office)), 400)
    assert_error(client.get(f"/events/{ids[0]}", headers=bearer(office)), 400)  # language required
    assert_error(client.get(f"/service-history/eng?fromDate={today}", headers=bearer(office)), 400)  # headers
    assert_error(client.get("/service-history/eng?fromDate=yesterday", headers=headers), 400, "invalid_date")


def test_error_format_is_chosen_by_exact_path(client):
    """The GovStack envelope belongs to these paths only: a neighbour like ``/blockade`` keeps problem+json."""
    from app.api.error_formats import wire_format

    for path in (
        "/block",
        "/unblock",
        "/updateIdentity",
        "/events/1234567890123456",
        "/service-history/eng",
        "/share-credential",
        "/download/personalized-card",
    ):
        assert wire_format(path) == "resident", path
    for path in ("/blockade", "/events-x", "/download", "/v1/credentials"):
        assert wire_format(path) != "resident", path
    unrouted = client.get("/block")  # a method the path does not offer: 405 in the envelope, with Allow
    assert unrouted.status_code == 405 and unrouted.headers["Allow"] == "POST"
    assert unrouted.json()["errors"][0]["errorCode"] == "method_not_allowed"
