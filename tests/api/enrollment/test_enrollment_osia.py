"""OSIA Enrollment v1.3 over HTTP: one-step and multi-step, differential PUT, merge PATCH, finalize,
search, buffers, content checks, scopes, transactionId, duplicates (409)."""

import base64
import hashlib

from sqlalchemy import select

from app.extensions import db
from app.models.enrollment import Blob
from tests.conftest import seal_audit
from tests.enrollment_helpers import (
    ENROLL_SCOPES,
    Osia,
    b64,
    full_body,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    wsq_bytes,
)


def test_one_step_enrollment_creates_an_identity(osia):
    response = osia.create("ENR-1", full_body(), finalize=True)
    assert response.status_code == 204, response.text
    got = osia.read("ENR-1").json()
    assert got["status"] == "FINALIZED"
    assert got["enrollmentId"] == "ENR-1"
    assert got["biographicData"]["firstName"] == "Amina"
    assert base64.b64decode(got["biometricData"][0]["image"]) == png_bytes()


def test_multi_step_enrollment(osia):
    body = full_body()
    first = {"enrollmentType": body["enrollmentType"], "biographicData": body["biographicData"]}
    assert osia.create("ENR-2", first).status_code == 204
    assert osia.read("ENR-2").json()["status"] == "IN_PROGRESS"
    assert osia.update("ENR-2", {"biometricData": body["biometricData"]}).status_code == 204
    assert osia.finalize("ENR-2").status_code == 204
    got = osia.read("ENR-2").json()
    assert got["status"] == "FINALIZED" and len(got["biometricData"]) == 2
    assert osia.finalize("ENR-2").status_code == 204  # idempotent


def test_partial_put_keeps_sections_not_sent_and_replaces_lists(osia):
    assert osia.create("ENR-3", full_body()).status_code == 204
    new_bio = [
        {"biometricType": "FACE", "biometricSubType": "PORTRAIT", "image": b64(png_bytes(8, 8)), "mimeType": "image/png"}
    ]
    assert osia.update("ENR-3", {"biometricData": new_bio, "contextualData": {"operatorName": "op-18"}}).status_code == 204
    got = osia.read("ENR-3").json()
    assert got["biographicData"]["lastName"] == "Diallo"  # not sent: unchanged
    assert got["documentData"][0]["documentType"] == "BIRTH_CERTIFICATE"
    assert got["contextualData"] == {"operatorName": "op-18"}  # a sent section is replaced
    assert len(got["biometricData"]) == 1  # lists are replaced whole
    assert base64.b64decode(got["biometricData"][0]["image"]) == png_bytes(8, 8)


def test_replaced_images_leave_no_sealed_bytes_behind(app, osia):
    osia.create("ENR-3b", full_body())
    osia.update("ENR-3b", {"biometricData": []})
    with app.app.app_context():
        owners = db.session.execute(select(Blob.owner)).scalars().all()
    assert owners.count("enrollment:ENR-3b") == 1  # only the document's PDF remains


def test_patch_is_a_json_merge_patch_and_null_deletes(osia):
    osia.create("ENR-4", full_body())
    patch = {"biographicData": {"gender": None, "nationality": "FRA"}}
    assert osia.patch("ENR-4", patch).status_code == 204
    bio = osia.read("ENR-4").json()["biographicData"]
    assert "gender" not in bio
    assert bio["nationality"] == "FRA" and bio["firstName"] == "Amina"


def test_patch_with_finalize(osia):
    osia.create("ENR-4b", full_body())
    assert osia.patch("ENR-4b", {"biographicData": {"middleName": "K"}}, finalize=True).status_code == 204
    assert osia.read("ENR-4b").json()["status"] == "FINALIZED"


def test_updates_after_finalization_are_refused(osia):
    osia.create("ENR-5", full_body(), finalize=True)
    for response in (
        osia.update("ENR-5", {"biographicData": {"firstName": "X"}}),
        osia.patch("ENR-5", {"biographicData": {"firstName": "X"}}),
        osia.delete("ENR-5"),
        osia.upload("ENR-5", png_bytes(), "image/png"),
    ):
        assert response.status_code == 403
        body = response.json()
        assert set(body) == {"code", "message"} and body["code"] == 403
        assert "finalized" in body["message"]
    assert osia.read("ENR-5").json()["biographicData"]["firstName"] == "Amina"


def test_delete_in_progress_enrollment(osia):
    osia.create("ENR-6", full_body())
    assert osia.delete("ENR-6").status_code == 204
    assert osia.read("ENR-6").status_code == 404
    assert osia.delete("ENR-6").status_code == 404


def test_duplicate_enrollment_id_is_409(osia):
    assert osia.create("ENR-7", full_body()).status_code == 204
    again = osia.create("ENR-7", full_body(first="Other"))
    assert again.status_code == 409
    assert again.json()["code"] == 409


def test_identical_replay_of_a_create_is_idempotent(osia):
    body = full_body()
    assert osia.create("ENR-7b", body, finalize=True).status_code == 204
    assert osia.create("ENR-7b", body, finalize=True).status_code == 204


def test_read_with_attributes_filter(osia):
    osia.create("ENR-8", full_body())
    got = osia.read("ENR-8", attributes="biographicData").json()
    assert set(got) == {"enrollmentId", "status", "biographicData"}
    one = osia.http.get(
        osia.url("/v1/enrollments/ENR-8") + "&attributes=biographicData.firstName&attributes=enrollmentType",
        headers=osia.auth(),
    ).json()
    assert one["biographicData"] == {"firstName": "Amina"} and one["enrollmentType"] == "CITIZEN"


def test_search_by_expressions_with_paging(osia):
    osia.create("S-1", full_body(first="Jean", dob="1980-01-01"))
    osia.create("S-2", full_body(first="Jean", dob="1995-01-01"))
    osia.create("S-3", full_body(first="Marie", dob="1985-01-01"))
    found = osia.find([{"attributeName": "firstName", "operator": "=", "value": "Jean"}]).json()
    assert sorted(e["enrollmentId"] for e in found) == ["S-1", "S-2"]
    older = osia.find([{"attributeName": "biographicData.dateOfBirth", "operator": "<", "value": "1990-01-01"}]).json()
    assert sorted(e["enrollmentId"] for e in older) == ["S-1", "S-3"]
    both = osia.find(
        [
            {"attributeName": "firstName", "operator": "=", "value": "Jean"},
            {"attributeName": "dateOfBirth", "operator": ">=", "value": "1990-01-01"},
        ]
    ).json()
    assert [e["enrollmentId"] for e in both] == ["S-2"]
    page = osia.find([{"attributeName": "enrollmentType", "operator": "=", "value": "CITIZEN"}], offset=1, limit=1).json()
    assert len(page) == 1
    assert all("image" not in b for e in found for b in e.get("biometricData", []))


def test_buffer_upload_and_download_with_and_without_digest(osia):
    data = wsq_bytes()
    plain = osia.upload("ENR-9", data, "application/octet-stream")
    assert plain.status_code == 201
    buffer_id = plain.json()["bufferId"]
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    with_digest = osia.upload("ENR-9", data, "application/octet-stream", digest=f"SHA-256={sha}")
    assert with_digest.status_code == 201
    sha1 = base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert osia.upload("ENR-9", data, "application/octet-stream", digest=f"SHA={sha1}").status_code == 201
    wrong = osia.upload("ENR-9", data, "application/octet-stream", digest="SHA-256=" + base64.b64encode(b"x" * 32).decode())
    assert wrong.status_code == 400 and wrong.json()["code"] == 400
    got = osia.download("ENR-9", buffer_id)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"].startswith("application/octet-stream")
    assert got.headers["digest"] == f"SHA-256={sha}"
    assert osia.download("OTHER", buffer_id).status_code == 404


def test_image_by_reference_to_a_buffer(osia):
    buffer_id = osia.upload("ENR-10", wsq_bytes(), "application/octet-stream").json()["bufferId"]
    ref = f"https://idbb.test/v1/enrollments/ENR-10/buffer/{buffer_id}"
    body = full_body()
    body["biometricData"][1] = {
        "biometricType": "FINGER",
        "biometricSubType": "RIGHT_INDEX",
        "imageRef": ref,
        "compression": "WSQ",
    }
    assert osia.create("ENR-10", body, finalize=True).status_code == 204
    assert osia.read("ENR-10").json()["biometricData"][1]["imageRef"] == ref


def test_reference_to_a_buffer_of_another_enrollment_is_refused(osia):
    buffer_id = osia.upload("ELSEWHERE", wsq_bytes(), "application/octet-stream").json()["bufferId"]
    body = full_body()
    body["biometricData"][1] = {"biometricType": "FINGER", "imageRef": f"/v1/enrollments/ELSEWHERE/buffer/{buffer_id}"}
    response = osia.create("ENR-11", body)
    assert response.status_code == 400
    assert osia.read("ENR-11").status_code == 404  # nothing half-written


def test_wrong_image_content_for_its_declared_format_is_refused(osia):
    body = full_body()
    body["biometricData"][0]["mimeType"] = "image/jpeg"  # the bytes are PNG
    response = osia.create("ENR-12", body)
    assert response.status_code == 400 and "biometricData[0]" in response.json()["message"]
    body = full_body()
    body["biometricData"][1]["image"] = b64(jpeg_bytes())  # declared WSQ, sent JPEG
    assert osia.create("ENR-12", body).status_code == 400
    body = full_body()
    body["biometricData"][0]["image"] = b64(b"definitely not an image at all")
    assert osia.create("ENR-12", body).status_code == 400
    assert osia.read("ENR-12").status_code == 404


def test_document_content_is_checked_too(osia):
    body = full_body()
    body["documentData"][0]["parts"][0]["data"] = b64(png_bytes())  # declared PDF
    assert osia.create("ENR-13", body).status_code == 400


def test_missing_transaction_id_is_400_in_osia_format(osia):
    response = osia.http.get("/v1/enrollments/ENR-1", headers=osia.auth())
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == 400


def test_missing_or_wrong_scope(api_client, client):
    reader = Osia(client, api_client("enroll.read").token())
    response = reader.create("ENR-14", full_body())
    assert response.status_code == 403 and response.json()["code"] == 403
    assert "enroll.write" in response.headers["www-authenticate"]
    buffers = Osia(client, api_client("enroll.write").token())
    assert buffers.upload("ENR-14", png_bytes(), "image/png").status_code == 403
    anonymous = client.post("/v1/enrollments/ENR-14?transactionId=t1", json=full_body())
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 401


def test_readonly_members_sent_by_a_client_are_accepted_and_ignored(osia):
    body = {**full_body(), "enrollmentId": "SOMETHING-ELSE", "status": "FINALIZED"}
    assert osia.create("ENR-15", body).status_code == 204
    got = osia.read("ENR-15").json()
    assert got["enrollmentId"] == "ENR-15" and got["status"] == "IN_PROGRESS"


def test_unknown_member_is_refused(osia):
    response = osia.create("ENR-16", {**full_body(), "favouriteColour": "blue"})
    assert response.status_code == 400


def test_transaction_ids_are_recorded(app, osia):
    from app.models.audit import AuditEvent

    osia.http.post("/v1/enrollments/ENR-17?transactionId=trace-me-42", json=full_body(), headers=osia.auth())
    with app.app.app_context():
        seal_audit()
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.target == "ENR-17")).scalars().all()
    assert any(r.details.get("transactionId") == "trace-me-42" for r in rows)


def test_pin_is_hashed_never_returned(app, osia):
    body = full_body()
    body["requestData"]["credentials"] = {"pin": "482913"}
    assert osia.create("ENR-18", body, finalize=True).status_code == 204
    got = osia.read("ENR-18").json()
    assert "credentials" not in got["requestData"] and "482913" not in str(got)
    from app.models.registry import Identity

    with app.app.app_context():
        identity = db.session.execute(select(Identity)).scalar_one()
        assert identity.pin_hash.startswith("$argon2id$")
        from app.services import credentials

        assert credentials.verify(identity.pin_hash, "482913")
        assert not credentials.verify(identity.pin_hash, "482914")


def test_bad_pin_is_refused(osia):
    body = full_body()
    body["requestData"]["credentials"] = {"pin": "12"}
    assert osia.create("ENR-19", body).status_code == 400


def test_enrollment_scopes_constant():
    assert set(ENROLL_SCOPES) == {"enroll.read", "enroll.write", "enroll.buf.read", "enroll.buf.write"}
    assert pdf_bytes().startswith(b"%PDF")


def test_a_buffer_reads_back_with_any_content_type_createbuffer_accepts(osia):
    """Found by the CI fuzzing: createBuffer takes any ``application/*`` or ``image/*`` body, and OSIA's
    readBuffer answers "the content type used when the buffer was created", but the document listed
    only eight types, so Connexion's response validation turned reading an ``application/x-yaml``
    buffer into a 500."""
    for mime in ("application/x-yaml", "application/xml", "application/octet-stream"):
        created = osia.upload("ENR-MIME", b"some: bytes\n", mime)
        assert created.status_code == 201, (mime, created.text)
        got = osia.download("ENR-MIME", created.json()["bufferId"])
        assert got.status_code == 200, (mime, got.text)
        assert got.headers["content-type"].startswith(mime) and got.content == b"some: bytes\n"
