"""The public status check (issue 17): the list itself, read without an account, carries no personal data; the
lifecycle operations need their scopes; the acceptance sequence driven over HTTP for SD-JWT VC and mdoc alike."""

import json

import jwt as pyjwt
import pytest

from tests.conftest import bearer
from tests.flows.issuance_helpers import MDOC_PID, SD_JWT_PID, Backend
from tests.flows.lifecycle.helpers import issue, published_status


def _bulk(client, token, **body):
    return client.post("/v1/issuance/credentials/bulk", json=body, headers=bearer(token))


@pytest.mark.parametrize("config", [SD_JWT_PID, MDOC_PID])
def test_acceptance_sequence_over_http(client, api_client, wallet, citizen, config):
    token = api_client("issuance.write", "issuance.read", "issuance.revoke").token()
    backend = Backend(client, token)
    item = issue(backend, wallet, citizen.uin, config)
    assert published_status(client, item) == 0
    steps = [("suspend", 2, "Suspended"), ("unsuspend", 0, "Operational"), ("revoke", 1, "Revoked")]
    for action, value, label in steps:
        done = _bulk(client, token, action=action, credentialIds=[item.credential_id])
        assert done.status_code == 200 and done.json()["count"] == 1, done.text
        assert published_status(client, item) == value  # decoded from the JWT and the CWT, which agree
        assert backend.read(item.issuance_id)["credentials"][0]["revocationStatus"] == label
    refused = _bulk(client, token, action="unsuspend", credentialIds=[item.credential_id])
    assert refused.json() == {"action": "unsuspend", "count": 0, "unchanged": 1}  # revoked is final
    assert published_status(client, item) == 1


def test_the_list_is_public_and_carries_no_personal_data(client, backend, wallet, citizen):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    response = client.get(item.uri.removeprefix("https://idbb.test"))  # no Authorization: a verifier, a holder
    assert response.status_code == 200
    claims = pyjwt.decode(response.text, options={"verify_signature": False})
    assert set(claims) == {"sub", "iat", "exp", "ttl", "status_list"}
    assert set(pyjwt.get_unverified_header(response.text)) <= {"alg", "typ", "kid", "x5c"}
    everything = response.text + json.dumps(claims)
    for personal in (citizen.uin, "Amina", "Diallo", citizen.email, item.credential_id, item.revocation_id):
        assert personal not in everything
    unknown = client.get("/statuslists/0123456789abcdef")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/statuslists/not-hex!").status_code in (400, 404)


def test_lifecycle_operations_need_their_scopes(client, backend, wallet, citizen, api_client):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    assert client.post("/v1/issuance/credentials/bulk", json={"action": "revoke", "uin": citizen.uin}).status_code == 401
    assert _bulk(client, backend.token, action="revoke", uin=citizen.uin).status_code == 403
    assert client.get("/v1/issuance/jobs/x").status_code == 401
    reader = api_client("issuance.read").token()
    assert (
        client.post(f"/v1/issuance/credentials/{item.revocation_id}/renew", json={}, headers=bearer(reader)).status_code
        == 403
    )
    record = backend.read(item.issuance_id)
    assert "Amina" not in json.dumps(record) and "Diallo" not in json.dumps(record)  # no claim values
    assert published_status(client, item) == 0
