"""OSIA CMS credentials over HTTP: search, read, suspend / unsuspend / revoke / setCredentialStatus with their
errors, the published list read back by the tests' own decoder, and the path shared with the backend issue API."""

import pytest

from tests.conftest import bearer
from tests.flows.issuance_helpers import MDOC_PID, SD_JWT_PID
from tests.flows.lifecycle.helpers import issue, published_status


def _status(cms, credential_id):
    response = cms.call("GET", f"/v1/credentials/{credential_id}/status")
    assert response.status_code == 200, response.text
    return response.json()["status"]


@pytest.mark.parametrize("config", [SD_JWT_PID, MDOC_PID])
def test_osia_transitions_reach_the_list_and_conflicts_are_409(client, cms, backend, wallet, citizen, config):
    item = issue(backend, wallet, citizen.uin, config)
    read = cms.call("GET", f"/v1/credentials/{item.credential_id}")
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["status"] == "ACTIVE" and body["personId"] == citizen.uin and body["credentialProfileId"] == config
    assert body["others"]["statusListUri"] == item.uri and body["others"]["statusListIndex"] == item.idx

    assert cms.call("POST", f"/v1/credentials/{item.credential_id}/suspend", json={"reason": "lost"}).status_code == 204
    assert published_status(client, item) == 2 and _status(cms, item.credential_id) == "SUSPENDED"
    again = cms.call("POST", f"/v1/credentials/{item.credential_id}/suspend", json={})
    assert again.status_code == 409 and again.json()["code"] == 409 and set(again.json()) == {"code", "message"}

    assert cms.call("POST", f"/v1/credentials/{item.credential_id}/unsuspend", json={}).status_code == 204
    assert published_status(client, item) == 0 and _status(cms, item.credential_id) == "ACTIVE"

    assert cms.call("POST", f"/v1/credentials/{item.credential_id}/revoke", json={"reason": "stolen"}).status_code == 204
    assert published_status(client, item) == 1 and _status(cms, item.credential_id) == "REVOKED"
    refused = cms.call("POST", f"/v1/credentials/{item.credential_id}/unsuspend", json={})
    assert refused.status_code == 409 and refused.json()["code"] == 409
    status_refused = cms.call("POST", f"/v1/credentials/{item.credential_id}/status", json={"status": "ACTIVE"})
    assert status_refused.status_code == 409
    assert published_status(client, item) == 1


def test_set_credential_status_maps_osia_statuses(client, cms, backend, wallet, citizen):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    path = f"/v1/credentials/{item.credential_id}/status"
    assert cms.call("POST", path, json={"status": "SUSPENDED", "reason": "check", "requester": "desk 4"}).status_code == 204
    assert published_status(client, item) == 2
    assert cms.call("POST", path, json={"status": "ACTIVE"}).status_code == 204
    assert published_status(client, item) == 0
    for unsettable in ("NEW", "OTHER"):
        response = cms.call("POST", path, json={"status": unsettable})
        assert response.status_code == 400 and response.json()["code"] == 400
    assert cms.call("POST", path, json={"status": "EXPIRED"}).status_code == 400  # not an OSIA status
    assert cms.call("POST", path, json={"status": "REVOKED"}).status_code == 204
    assert published_status(client, item) == 1


def test_search_and_read_errors(client, cms, backend, wallet, citizen):
    first = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    second = issue(backend, wallet, citizen.uin, MDOC_PID)
    cms.call("POST", f"/v1/credentials/{second.credential_id}/suspend", json={})
    mine = cms.call("POST", "/v1/credentials", json=[{"attributeName": "personId", "operator": "=", "value": citizen.uin}])
    assert mine.status_code == 200
    assert {c["credentialId"] for c in mine.json()} == {first.credential_id, second.credential_id}
    suspended = cms.call(
        "POST",
        "/v1/credentials",
        json=[
            {"attributeName": "personId", "operator": "=", "value": citizen.uin},
            {"attributeName": "status", "operator": "=", "value": "SUSPENDED"},
        ],
    ).json()
    assert [c["credentialId"] for c in suspended] == [second.credential_id]
    by_profile = cms.call(
        "POST",
        "/v1/credentials",
        json=[
            {"attributeName": "credentialProfileId", "operator": "=", "value": SD_JWT_PID},
            {"attributeName": "issuedDate", "operator": ">=", "value": "2000-01-01T00:00:00Z"},
        ],
    ).json()
    assert [c["credentialId"] for c in by_profile] == [first.credential_id]
    assert (
        cms.call(
            "POST", "/v1/credentials", json=[{"attributeName": "personId", "operator": "=", "value": "0000000000"}]
        ).json()
        == []
    )
    for bad in (
        [{"attributeName": "firstName", "operator": "=", "value": "Amina"}],
        [{"attributeName": "issuedDate", "operator": ">", "value": "yesterday"}],
        [{"attributeName": "personId", "operator": ">", "value": "1"}],
        [{"attributeName": "status", "operator": "=", "value": "GONE"}],
    ):
        response = cms.call("POST", "/v1/credentials", json=bad)
        assert response.status_code == 400 and set(response.json()) == {"code", "message"}, response.text
    missing = cms.call("GET", "/v1/credentials/no-such-credential")
    assert missing.status_code == 404 and missing.json()["code"] == 404
    assert cms.call("GET", f"/v1/credentials/{first.credential_id}", tx=False).status_code == 400  # transactionId
    update = cms.call("PUT", f"/v1/credentials/{first.credential_id}", json={"expiryDate": "2099-01-01T00:00:00Z"})
    assert update.status_code == 403 and update.json()["code"] == 403


def test_scopes_per_operation(client, api_client, backend, wallet, citizen):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    reader = api_client("cms.credential.read").token()
    assert client.get(f"/v1/credentials/{item.credential_id}?transactionId=t1", headers=bearer(reader)).status_code == 200
    refused = client.post(f"/v1/credentials/{item.credential_id}/revoke?transactionId=t1", json={}, headers=bearer(reader))
    assert refused.status_code == 403 and set(refused.json()) == {"code", "message"}
    profile_only = api_client("cms.profile.read").token()
    assert client.post("/v1/credentials?transactionId=t1", json=[], headers=bearer(profile_only)).status_code == 403
    assert client.get(f"/v1/credentials/{item.credential_id}?transactionId=t1").status_code == 401
    assert published_status(client, item) == 0


def test_backend_issue_api_shares_the_paths_by_revocation_id(client, api_client, cms, backend, wallet, citizen):
    """issue 17: ``POST /v1/credentials/{revocationId}/suspend|unsuspend|revoke`` with a reason, no transactionId,
    for the backend that started the issuance; the CMS back office must send transactionId."""
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    path = f"/v1/credentials/{item.revocation_id}"
    assert client.post(f"{path}/suspend", json={"reason": "holder asked"}, headers=bearer(backend.token)).status_code == 204
    assert published_status(client, item) == 2
    assert backend.read(item.issuance_id)["credentials"][0]["status"]["idx"] == item.idx
    assert client.post(f"{path}/unsuspend", json={}, headers=bearer(backend.token)).status_code == 204
    assert published_status(client, item) == 0
    # another backend with issuance.write reaches only its own issuances: the same 404 as an unknown id
    other = api_client("issuance.write").token()
    assert client.post(f"{path}/revoke", json={}, headers=bearer(other)).status_code == 404
    assert client.post("/v1/credentials/unknown-id/revoke", json={}, headers=bearer(other)).status_code == 404
    # the CMS caller: same path, transactionId required
    no_tx = cms.call("POST", f"{path}/revoke", json={"reason": "fraud"}, tx=False)
    assert no_tx.status_code == 400 and "transactionId" in no_tx.json()["message"]
    assert published_status(client, item) == 0
    assert cms.call("POST", f"{path}/revoke", json={"reason": "fraud"}).status_code == 204
    assert published_status(client, item) == 1
    gone = client.post(f"{path}/suspend", json={}, headers=bearer(backend.token))
    assert gone.status_code == 409 and gone.json()["code"] == 409
