"""Duplicate detection cannot be bypassed by an extra attribute or a later update (review finding F5 of issue 5)."""

from tests.api.enrollment.registry_helpers import (
    cases,
    identities,
)
from tests.enrollment_helpers import b64, full_body, pdf_bytes

# --- F5: duplicate detection is bypassed by adding an optional attribute, or by a later update ----------------------


def test_f5_same_person_with_an_extra_full_name_is_still_flagged(app, osia):
    assert osia.create("DUP-A", full_body(), finalize=True).status_code == 204
    again = full_body(fullName="Amina Diallo")  # same first/last name and birth date
    assert osia.create("DUP-B", again, finalize=True).status_code == 204
    assert len(identities(app)) == 1 and len(cases(app)) == 1  # today: 2 identities, no case


def test_f5_update_cannot_turn_an_identity_into_a_copy_of_another(app, osia):
    assert osia.create("DUP-C", full_body(), finalize=True).status_code == 204
    assert osia.create("DUP-D", full_body(first="Fatou", last="Sarr", dob="1975-01-01"), finalize=True).status_code == 204
    fatou = next(i for i in identities(app) if i.biographic["firstName"] == "Fatou")
    update = {
        "requestData": {"requestType": "UPDATE", "uin": fatou.uin, "reason": "correction"},
        "biographicData": {"firstName": "Amina", "lastName": "Diallo", "dateOfBirth": "1990-04-12"},
        "documentData": [{"documentType": "OTHER", "parts": [{"data": b64(pdf_bytes()), "mimeType": "application/pdf"}]}],
    }
    response = osia.create("DUP-E", update, finalize=True)
    assert response.status_code == 409 and response.json()["code"] == 409
    fatou_now = next(i for i in identities(app) if i.uin == fatou.uin)
    assert fatou_now.biographic["firstName"] == "Fatou"  # nothing half-written
