"""Enrollment integrity (signed requests), encrypted payloads (JWE), and the GovStack PUT /enrollment."""

import base64
import hashlib
import json

import jwt as pyjwt
import rfc8785
from joserfc import jwe as jf_jwe
from joserfc.jwk import RSAKey
from sqlalchemy import select

from app.extensions import db
from app.models.registry import Identity
from tests.conftest import new_ec_key
from tests.enrollment_helpers import b64, full_body, png_bytes


def integrity_block(body: dict, private_pem: bytes | None, scope: str = "$") -> dict:
    """Computed here with rfc8785 + hashlib + PyJWT, independently of idbb's own code."""
    selected = {k: v for k, v in body.items() if k not in ("integrity", "encryption")}
    canonical = rfc8785.dumps(selected)
    block = {
        "type": "JWS" if private_pem else "NONE",
        "scope": scope,
        "alg": "SHA256",
        "hash": hashlib.sha256(canonical).hexdigest(),
    }
    if private_pem:
        block["signature"] = pyjwt.api_jws.PyJWS().encode(
            canonical, private_pem, algorithm="ES256", is_payload_detached=True
        )
    return block


def test_signed_request_is_accepted(signing_client):
    osia, pem = signing_client
    body = {**full_body(), "enrollmentId": "SIG-1"}
    body["integrity"] = [integrity_block(body, pem)]
    assert osia.create("SIG-1", body, finalize=True).status_code == 204
    assert "integrity" not in osia.read("SIG-1").json()


def test_unsigned_request_is_refused_for_a_signature_required_client(signing_client):
    osia, _ = signing_client
    response = osia.create("SIG-2", full_body())
    assert response.status_code == 400 and "sign" in response.json()["message"]
    body = full_body()
    body["integrity"] = [integrity_block(body, None)]  # a hash alone is not a signature
    assert osia.create("SIG-2", body).status_code == 400
    assert osia.read("SIG-2").status_code == 404


def test_tampered_signed_request_is_refused(signing_client):
    osia, pem = signing_client
    body = {**full_body(), "enrollmentId": "SIG-3"}
    body["integrity"] = [integrity_block(body, pem)]
    body["biographicData"]["lastName"] = "Mallory"  # changed after signing
    response = osia.create("SIG-3", body)
    assert response.status_code == 400 and response.json()["code"] == 400


def test_signature_by_another_key_is_refused(signing_client):
    osia, _ = signing_client
    other_pem, _ = new_ec_key()
    body = {**full_body(), "enrollmentId": "SIG-4"}
    body["integrity"] = [integrity_block(body, other_pem)]
    assert osia.create("SIG-4", body).status_code == 400


def test_signed_offline_packet_replayed_is_idempotent(app, signing_client):
    osia, pem = signing_client
    body = {**full_body(), "enrollmentId": "OFF-1"}
    body["integrity"] = [integrity_block(body, pem)]
    assert osia.create("OFF-1", body, finalize=True).status_code == 204
    assert osia.create("OFF-1", body, finalize=True).status_code == 204
    with app.app.app_context():
        assert len(db.session.execute(select(Identity)).scalars().all()) == 1


def test_hash_only_integrity_is_checked_for_ordinary_clients(osia):
    body = full_body()
    block = integrity_block(body, None)
    body["integrity"] = [block]
    assert osia.create("HASH-1", body).status_code == 204
    body2 = full_body()
    body2["integrity"] = [dict(block, hash="00" * 32)]
    assert osia.create("HASH-2", body2).status_code == 400


def encryption_key(client) -> dict:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    return next(k for k in keys if k["use"] == "enc")


def test_jwe_payload_is_decrypted_before_validation(client, osia):
    public = encryption_key(client)
    assert public["alg"] == "RSA-OAEP-256"
    key = RSAKey.import_key({k: public[k] for k in ("kty", "n", "e")})
    registry = jf_jwe.JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"])
    token = jf_jwe.encrypt_compact(
        {"alg": "RSA-OAEP-256", "enc": "A256GCM"}, json.dumps(full_body()).encode(), key, registry=registry
    )  # joserfc, not idbb's jwcrypto
    response = client.post(
        osia.url("/v1/enrollments/JWE-1"), content=token, headers=osia.auth({"Content-Type": "application/jose"})
    )
    assert response.status_code == 204, response.text
    assert base64.b64decode(osia.read("JWE-1").json()["biometricData"][0]["image"]) == png_bytes()


def test_jwe_that_does_not_decrypt_is_refused_in_osia_format(client, osia):
    response = client.post(
        osia.url("/v1/enrollments/JWE-2"),
        content="aaa.bbb.ccc.ddd.eee",
        headers=osia.auth({"Content-Type": "application/jose"}),
    )
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}


def test_jwe_needs_a_token_first(client):
    response = client.post(
        "/v1/enrollments/JWE-3?transactionId=t", content="aaa.bbb.ccc.ddd.eee", headers={"Content-Type": "application/jose"}
    )
    assert response.status_code == 401


def packet(registration_id: str, **fields: str) -> dict:
    values = {
        "fullName": json.dumps([{"language": "eng", "value": "Kofi Mensah"}, {"language": "fra", "value": "Kofi Mensah"}]),
        "dateOfBirth": "1988/02/03",
        "gender": json.dumps([{"language": "eng", "value": "Male"}]),
        "city": "Accra",
        "email": "kofi@example.org",
        **fields,
    }
    return {
        "id": "mosip.registration.packet",
        "version": "1.0",
        "requesttime": "2026-11-23T10:00:00.000Z",
        "request": {
            "offlineMode": True,
            "id": registration_id,
            "refId": "10001_10002",
            "process": "NEW",
            "source": "REGISTRATION_CLIENT",
            "schemaVersion": "0.1",
            "fields": values,
            "biometrics": {
                "segments": [
                    {"bdbInfo": {"type": ["FACE"], "subtype": []}, "bdb": b64(png_bytes())},
                ]
            },
        },
    }


def test_govstack_put_enrollment_round_trip(app, client, api_client, osia):
    token = api_client("enroll.write").token()
    response = client.put(
        "/enrollment", json=packet("10001100021000120261123100000"), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] == []
    assert body["response"][0]["id"] == "10001100021000120261123100000"
    assert body["response"][0]["process"] == "NEW" and body["response"][0]["providerName"] == "idbb"
    same = osia.read("10001100021000120261123100000").json()  # one model, two wire formats
    assert same["status"] == "FINALIZED"
    assert same["biographicData"]["fullName"] == "Kofi Mensah"
    assert same["biographicData"]["gender"] == "Male"
    assert same["biometricData"][0]["biometricType"] == "FACE"
    replay = client.put(
        "/enrollment", json=packet("10001100021000120261123100000"), headers={"Authorization": f"Bearer {token}"}
    )
    assert replay.status_code == 200  # an offline client retrying its packet
    with app.app.app_context():
        assert len(db.session.execute(select(Identity)).scalars().all()) == 1


def test_govstack_errors_use_the_mosip_envelope(client, api_client):
    token = api_client("enroll.write").token()
    bad = client.put(
        "/enrollment", json={"id": "x", "request": {"fields": {}}}, headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 400
    assert bad.json()["response"] is None and bad.json()["errors"][0]["errorCode"] == "invalid_request"
    wrong = client.put(
        "/enrollment", json=packet("R1"), headers={"Authorization": f"Bearer {api_client('enroll.read').token()}"}
    )
    assert wrong.status_code == 403 and wrong.json()["errors"][0]["errorCode"] == "insufficient_scope"
    broken_image = packet("R2")
    broken_image["request"]["biometrics"]["segments"][0]["bdb"] = b64(b"not an image")
    assert client.put("/enrollment", json=broken_image, headers={"Authorization": f"Bearer {token}"}).status_code == 400


def test_node_level_encryption_blocks_are_refused_not_stored(osia):
    body = {**full_body(), "encryption": {"type": "JWE", "scope": "$.biographicData"}}
    response = osia.create("ENC-1", body)
    assert response.status_code == 400 and "JWE" in response.json()["message"]
    assert osia.read("ENC-1").status_code == 404


def test_signed_request_must_name_its_enrollment(signing_client):
    osia, pem = signing_client
    body = full_body()  # signed, but for no enrollment in particular
    body["integrity"] = [integrity_block(body, pem)]
    response = osia.create("SIG-5", body)
    assert response.status_code == 400 and "enrollmentId" in response.json()["message"]
