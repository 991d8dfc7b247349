"""Legal evidence sent through enrollment is content-checked (review finding F6 of issue 5)."""

from tests.api.enrollment.registry_helpers import (
    identities,
)
from tests.enrollment_helpers import b64, full_body

# --- F6: "legal evidence" through enrollment is never content-checked -----------------------------------------------


def test_f6_update_evidence_must_be_a_real_document(app, osia):
    assert osia.create("EV-1", full_body(), finalize=True).status_code == 204
    [identity] = identities(app)
    update = {
        "requestData": {"requestType": "UPDATE", "uin": identity.uin, "reason": "name correction"},
        "biographicData": {"firstName": "Aminata"},
        "documentData": [{"documentType": "OTHER", "parts": [{"data": b64(b"hello, not a document")}]}],
    }
    response = osia.create("EV-2", update, finalize=True)
    assert response.status_code == 400  # today: 204, identity updated on "hello" as legal evidence
