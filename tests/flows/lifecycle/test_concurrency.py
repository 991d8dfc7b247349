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


def _waiting_on_a_lock(app) -> bool:
    from sqlalchemy import text

    from app.extensions import db

    with app.app.app_context():
        found = db.session.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
        ).scalar_one()
        db.session.rollback()
        return bool(found)


def test_a_bulk_job_and_a_single_revoke_racing_on_one_list_lose_no_update(
    app, client, backend, wallet, citizen, monkeypatch
):
    """The single revoke holds its entry and the list row (inside ``mark_changed``) while a bulk job suspends the
    whole issuance, the revoked credential included: the job waits, then skips the revoked one (revocation is final,
    READ COMMITTED re-checks the status) and suspends the others; both changes reach the published list."""
    import uuid

    from sqlalchemy import select

    from app.clock import clock
    from app.extensions import db
    from app.models.issuance import Issuance
    from app.models.lifecycle import LifecycleJob
    from app.models.registry import OutboxEvent
    from app.services.lifecycle import jobs
    from app.services.outbox import LIFECYCLE_TOPICS
    from app.services.status import publication

    items = _batch(backend, wallet, citizen.uin, 4)
    assert len({i.uri for i in items}) == 1  # one list
    with app.app.app_context():
        client_id = db.session.get(Issuance, items[0].issuance_id).client_id
        job_id = str(uuid.uuid4())
        db.session.add(
            LifecycleJob(
                job_id=job_id,
                client_id=client_id,
                action="suspend",
                selection={"issuance_id": items[0].issuance_id, "client_id": client_id, "selector": "issuanceId"},
                reason=None,
                state="queued",
                created_at=clock.now(),
            )
        )
        db.session.commit()

    inside, go = threading.Event(), threading.Event()
    real_mark = publication.mark_changed

    def held_mark(list_id: str) -> None:
        real_mark(list_id)
        if threading.current_thread().name == "single":
            inside.set()
            assert go.wait(30)

    monkeypatch.setattr(publication, "mark_changed", held_mark)

    def single() -> None:
        with app.app.app_context():
            lifecycle.revoke([items[0].credential_id], reason=None, actor="ops")

    def bulk_job() -> None:
        with app.app.app_context():
            jobs.run(job_id)

    first = threading.Thread(target=single, name="single")
    second = threading.Thread(target=bulk_job, name="bulk")
    first.start()
    assert inside.wait(30)
    second.start()
    for _ in range(300):  # the job is blocked on the revoked entry's row lock
        if _waiting_on_a_lock(app):
            break
        threading.Event().wait(0.05)
    else:
        raise AssertionError("the bulk job never waited for the single revoke")
    assert second.is_alive()
    go.set()
    first.join(30)
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    with app.app.app_context():
        job = db.session.get(LifecycleJob, job_id)
        assert (job.state, job.count, job.selection["unchanged"]) == ("done", 3, 1)
        topics = {
            (e.payload["credentialId"], e.topic)
            for e in db.session.execute(select(OutboxEvent).where(OutboxEvent.topic.in_(LIFECYCLE_TOPICS))).scalars()
        }
    assert topics == {(items[0].credential_id, "credential.revoked")} | {
        (i.credential_id, "credential.suspended") for i in items[1:]
    }
    assert [published_status(client, i) for i in items] == [lifecycle.INVALID] + [lifecycle.SUSPENDED] * 3
