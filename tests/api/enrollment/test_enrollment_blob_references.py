"""Stored-form ``$blob`` references: a client cannot inject one, and updates keep the bytes an image refers to
(review findings F1, F2 of issue 5)."""

from tests.enrollment_helpers import Osia, b64, png_bytes

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
    body = {
        "biographicData": {"firstName": "Awa"},
        "biometricData": [
            {"biometricType": "FACE", "mimeType": "image/png", "imageRef": f"/v1/enrollments/BUF-1/buffer/{buffer_id}"}
        ],
    }
    assert osia.create("BUF-1", body).status_code == 204
    assert osia.download("BUF-1", buffer_id).status_code == 200
    assert osia.update("BUF-1", {"contextualData": {"operatorName": "op-2"}}).status_code == 204
    after = osia.download("BUF-1", buffer_id)
    assert after.status_code == 200 and after.content == png_bytes()  # today: 500, bytes deleted
