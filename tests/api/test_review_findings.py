"""Review findings on the enrollment / registry implementation (issue 5).

Each test demonstrated one defect found in review (all fixed since); it
turn the suite red (XPASS) once the defect is fixed, so the marker can then be removed.
"""

import hashlib

import jwt as pyjwt
import rfc8785
from sqlalchemy import select

from app.extensions import db
from app.formats.canonical import canonical_json
from app.models.enrollment import Enrollment
from app.models.registry import DuplicateCase, Identity
from tests.enrollment_helpers import Osia, b64, full_body, pdf_bytes, png_bytes


def identities(app):
    with app.app.app_context():
        return db.session.execute(select(Identity)).scalars().all()


def cases(app):
    with app.app.app_context():
        return db.session.execute(select(DuplicateCase)).scalars().all()



def signed_block(selection: dict, private_pem: bytes, scope: str) -> dict:
    """An OSIA JWS integrity block over ``selection`` (computed with rfc8785 + PyJWT, not idbb's code)."""
    canonical = rfc8785.dumps(selection)
    return {"type": "JWS", "scope": scope, "alg": "SHA256", "hash": hashlib.sha256(canonical).hexdigest(),
            "signature": pyjwt.api_jws.PyJWS().encode(canonical, private_pem, algorithm="ES256",
                                                      is_payload_detached=True)}


# --- F1: a stored-form "$blob" reference can be injected by a client ------------------------------------------------

def test_f1_injected_blob_reference_does_not_read_another_enrollments_buffer(osia, api_client, client):
    secret = png_bytes(8, 8)
    uploaded = osia.upload("VICTIM-1", secret, "image/png")
    assert uploaded.status_code == 201
    buffer_id = uploaded.json()["bufferId"]  # buffer ids are blob ids; they also appear in imageRef members
    # another client, with no buffer scope at all, plants the stored form in a free-form section
    attacker = Osia(client, api_client("enroll.read", "enroll.write").token())
    body = {"biographicData": {"firstName": "M", "note": {"$blob": buffer_id}}}
    refused = attacker.create("ATTACK-1", body)
    assert refused.status_code == 400  # the stored form is reserved: a client may never write it
    assert b64(secret) not in refused.text
    assert attacker.read("ATTACK-1").status_code == 404


def test_f1_injected_unknown_blob_reference_is_refused_not_a_500(osia):
    created = osia.create("BLOB-2", {"contextualData": {"x": {"$blob": "0" * 32}}})
    read = osia.read("BLOB-2")
    assert created.status_code == 400 and read.status_code == 404


# --- F2: PUT/PATCH delete the sealed bytes of every buffer of the enrollment ----------------------------------------

def test_f2_update_keeps_the_buffer_an_image_refers_to(osia):
    uploaded = osia.upload("BUF-1", png_bytes(), "image/png")
    buffer_id = uploaded.json()["bufferId"]
    body = {"biographicData": {"firstName": "Awa"},
            "biometricData": [{"biometricType": "FACE", "mimeType": "image/png",
                               "imageRef": f"/v1/enrollments/BUF-1/buffer/{buffer_id}"}]}
    assert osia.create("BUF-1", body).status_code == 204
    assert osia.download("BUF-1", buffer_id).status_code == 200
    assert osia.update("BUF-1", {"contextualData": {"operatorName": "op-2"}}).status_code == 204
    after = osia.download("BUF-1", buffer_id)
    assert after.status_code == 200 and after.content == png_bytes()  # today: 500, bytes deleted


# --- F3: a signature-required client gets unsigned sections through with a narrow-scope signature -------------------

def test_f3_signature_over_one_member_does_not_cover_the_rest(signing_client):
    osia, pem = signing_client
    body = full_body()
    # the station signs only enrollmentType (e.g. a block captured from any earlier request) ...
    body["integrity"] = [signed_block({"enrollmentType": body["enrollmentType"]}, pem, "$.enrollmentType")]
    # ... and the biographic / biometric data are whatever the token holder wants
    body["biographicData"]["lastName"] = "Mallory"
    response = osia.create("SIG-SCOPE-1", body, finalize=True)
    assert response.status_code == 400  # today: 204, identity created from unsigned data


# --- F4: the idempotency hash is an unsalted SHA-256 over the body, PIN included ------------------------------------

def test_f4_pin_cannot_be_recovered_from_the_stored_create_hash(app, osia):
    body = {"enrollmentType": "CITIZEN", "biographicData": {"firstName": "Awa", "lastName": "Ba"},
            "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"pin": "4821"}}}
    assert osia.create("PIN-1", body).status_code == 204
    with app.app.app_context():
        row = db.session.get(Enrollment, "PIN-1")
        stored_hash, document, etype = row.create_hash, row.document, row.enrollment_type
    # everything but the PIN is in the row in clear; 10^4 SHA-256 guesses take milliseconds
    recovered = None
    for n in range(10_000):
        guess = f"{n:04d}"
        candidate = {"enrollmentType": etype, **document,
                     "requestData": {**document["requestData"], "credentials": {"pin": guess}}}
        if hashlib.sha256(canonical_json({"id": "PIN-1", "body": candidate, "finalize": False})).hexdigest() \
                == stored_hash:
            recovered = guess
            break
    assert recovered is None  # today: "4821"


# --- F5: duplicate detection is bypassed by adding an optional attribute, or by a later update ----------------------

def test_f5_same_person_with_an_extra_full_name_is_still_flagged(app, osia):
    assert osia.create("DUP-A", full_body(), finalize=True).status_code == 204
    again = full_body(fullName="Amina Diallo")  # same first/last name and birth date
    assert osia.create("DUP-B", again, finalize=True).status_code == 204
    assert len(identities(app)) == 1 and len(cases(app)) == 1  # today: 2 identities, no case


def test_f5_update_cannot_turn_an_identity_into_a_copy_of_another(app, osia):
    assert osia.create("DUP-C", full_body(), finalize=True).status_code == 204
    assert osia.create("DUP-D", full_body(first="Fatou", last="Sarr", dob="1975-01-01"), finalize=True) \
        .status_code == 204
    fatou = next(i for i in identities(app) if i.biographic["firstName"] == "Fatou")
    update = {"requestData": {"requestType": "UPDATE", "uin": fatou.uin, "reason": "correction"},
              "biographicData": {"firstName": "Amina", "lastName": "Diallo", "dateOfBirth": "1990-04-12"},
              "documentData": [{"documentType": "OTHER",
                                "parts": [{"data": b64(pdf_bytes()), "mimeType": "application/pdf"}]}]}
    response = osia.create("DUP-E", update, finalize=True)
    assert response.status_code == 409 and response.json()["code"] == 409
    fatou_now = next(i for i in identities(app) if i.uin == fatou.uin)
    assert fatou_now.biographic["firstName"] == "Fatou"  # nothing half-written


# --- F6: "legal evidence" through enrollment is never content-checked -----------------------------------------------

def test_f6_update_evidence_must_be_a_real_document(app, osia):
    assert osia.create("EV-1", full_body(), finalize=True).status_code == 204
    [identity] = identities(app)
    update = {"requestData": {"requestType": "UPDATE", "uin": identity.uin, "reason": "name correction"},
              "biographicData": {"firstName": "Aminata"},
              "documentData": [{"documentType": "OTHER", "parts": [{"data": b64(b"hello, not a document")}]}]}
    response = osia.create("EV-2", update, finalize=True)
    assert response.status_code == 400  # today: 204, identity updated on "hello" as legal evidence


# --- F7: a signed body is not bound to the enrollment, the operation or finalize: it replays anywhere -------------

def test_f7_signed_body_for_one_enrollment_is_not_accepted_for_another(app, signing_client):
    osia, pem = signing_client
    first = {**full_body(), "enrollmentId": "SIG-R1"}
    first["integrity"] = [signed_block({k: v for k, v in first.items() if k != "integrity"}, pem, "$")]
    assert osia.create("SIG-R1", first).status_code == 204  # the station: create, not finalized yet
    second = {**full_body(first="Other", last="Person", dob="1960-01-01"), "enrollmentId": "SIG-R2"}
    second["integrity"] = [signed_block({k: v for k, v in second.items() if k != "integrity"}, pem, "$")]
    assert osia.create("SIG-R2", second).status_code == 204  # a second, unrelated enrollment
    # a holder of the station's bearer token (no private key) replays the first signed body over the second one,
    # and finalizes it at once
    replay = osia.update("SIG-R2", first, finalize=True)
    assert replay.status_code == 400  # today: 204 -- SIG-R2 now carries SIG-R1's person and is finalized


# --- F8: search: integer values are refused by the schema, and limit is neither bounded nor honoured ---------------

def test_f8_search_by_an_integer_value(osia):
    assert osia.create("FIND-1", full_body()).status_code == 204
    response = osia.find([{"attributeName": "requestData.priority", "operator": "=", "value": 1}])
    assert response.status_code == 200, response.text  # today: 400 "1 is valid under each of ..."
    assert [e["enrollmentId"] for e in response.json()] == ["FIND-1"]


def test_f8_search_limit_zero_returns_nothing_or_is_refused(osia):
    assert osia.create("FIND-2", full_body()).status_code == 204
    response = osia.find([{"attributeName": "firstName", "operator": "=", "value": "Amina"}], limit=0)
    assert response.status_code == 400 or response.json() == []  # today: 200 with 1 result


# --- F9: request validation errors echo non-string values of the request (PIN, names) -------------------------------

def test_f9_validation_error_does_not_echo_the_pin(osia):
    body = [{"requestData": {"credentials": {"pin": "4821"}}, "biographicData": {"lastName": "Diallo"}}]
    response = osia.create("ECHO-1", body)
    assert response.status_code == 400
    assert "4821" not in response.text and "Diallo" not in response.text  # today: the whole body comes back


# --- F10: a PIN and a password sent together: the PIN is silently dropped ---------------------------------------------

def test_f10_pin_and_password_together_are_both_kept_or_refused(app, osia):
    from app.services import credentials

    body = full_body()
    body["requestData"]["credentials"] = {"pin": "4821", "password": "correct horse battery"}
    response = osia.create("CRED-1", body)
    if response.status_code == 400:
        return  # refusing the ambiguous request is a fix too
    with app.app.app_context():
        stored = db.session.get(Enrollment, "CRED-1").pin_hash
        assert credentials.verify(stored, "4821")  # today: False -- the PIN the person chose never works
