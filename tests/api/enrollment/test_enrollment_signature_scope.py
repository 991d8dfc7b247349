"""OSIA integrity signatures cover what they claim: every member, and only this enrollment and operation
(review findings F3, F7 of issue 5)."""

from tests.api.enrollment.registry_helpers import (
    signed_block,
)
from tests.enrollment_helpers import full_body

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
