"""Two back-office calls racing on PostgreSQL: one create of a client-chosen credentialRequestId wins (201), the
other is the OSIA 409; two cancels of one request: one 204, one 409; nothing half-written."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.cms import CredentialRequest, PrintedCard
from tests.flows.issuance_helpers import SD_JWT_PID

pytestmark = pytest.mark.postgres


def _body(uin, profile):
    return {
        "personId": uin,
        "biographicData": {},
        "requestData": {"priority": 1, "credentialProfileId": profile, "requestType": "FIRST_ISSUANCE"},
    }


def _race(calls):
    gate = threading.Barrier(len(calls))

    def run(call):
        gate.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return sorted(pool.map(run, calls, timeout=60))


def test_two_creates_of_one_request_id(app, cms, citizen):
    def create():
        return cms.call("POST", "/v1/credentialRequests/RACE-1", json=_body(citizen.uin, "idbb.id_card")).status_code

    assert _race([create, create]) == [201, 409]
    with app.app.app_context():
        assert db.session.execute(select(func.count()).select_from(CredentialRequest)).scalar_one() == 1
        assert db.session.execute(select(func.count()).select_from(PrintedCard)).scalar_one() == 1  # no orphan card


def test_two_cancels_of_one_request(cms, citizen):
    assert cms.call("POST", "/v1/credentialRequests/RACE-2", json=_body(citizen.uin, SD_JWT_PID)).status_code == 201

    def cancel():
        return cms.call("POST", "/v1/credentialRequests/RACE-2/cancel").status_code

    assert _race([cancel, cancel]) == [204, 409]
    assert cms.call("GET", "/v1/credentialRequests/RACE-2").json()["status"] == "CANCELLED"
