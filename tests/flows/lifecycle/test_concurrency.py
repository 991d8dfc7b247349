"""Concurrent status changes on PostgreSQL (issue 17 acceptance): 8 revocations into one list at once lose no
update and do not deadlock on the list row; two changes racing for one credential: one wins, one is refused."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.services import lifecycle
from tests.flows.issuance_helpers import SD_JWT_PID, HolderKey, code_of
from tests.flows.lifecycle.helpers import Issued, published_status

pytestmark = pytest.mark.postgres


def _batch(backend, wallet, uin: str, count: int) -> list[Issued]:
    created = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": uin})
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    response = wallet.credential(token, [HolderKey() for _ in range(count)])
    assert response.status_code == 200, response.text
    return [
        Issued(created["issuanceId"], c["credentialId"], c["revocationId"], c["status"]["uri"], c["status"]["idx"], "")
        for c in backend.read(created["issuanceId"])["credentials"]
    ]


def test_eight_parallel_revocations_into_one_list_lose_no_update(app, client, backend, wallet, citizen):
    items = _batch(backend, wallet, citizen.uin, 8)
    assert len({i.uri for i in items}) == 1  # one list
    gate = threading.Barrier(8)

    def revoke(item: Issued) -> str:
        with app.app.app_context():
            gate.wait()
            [view] = lifecycle.revoke([item.credential_id], reason=None, actor="ops")
            return view.status_label

    with ThreadPoolExecutor(max_workers=8) as pool:
        labels = list(pool.map(revoke, items, timeout=60))
    assert labels == ["Revoked"] * 8
    assert [published_status(client, i) for i in items] == [lifecycle.INVALID] * 8


def test_two_changes_racing_for_one_credential(app, client, backend, wallet, citizen):
    [item] = _batch(backend, wallet, citizen.uin, 1)
    gate = threading.Barrier(2)

    def act(action) -> str:
        with app.app.app_context():
            gate.wait()
            try:
                action([item.credential_id], reason=None, actor="ops")
                return "changed"
            except lifecycle.StatusConflict as exc:
                return exc.reason_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(act, [lifecycle.revoke, lifecycle.suspend], timeout=60))
    # either revoke won (suspend then finds it revoked) or suspend won and revoke followed from SUSPENDED
    assert outcomes in (["already_revoked", "changed"], ["changed", "changed"])
    assert published_status(client, item) == lifecycle.INVALID
