"""The backend issue API's lifecycle (issue 17) over HTTP: per-credential ``revocationStatus`` in
``GET /v1/issuance/{id}``, bulk changes (at once and as a job any worker can pick up), renewal under both policies,
and registry events (a death, an attribute update). Lists are read with the tests' own decoder."""

import json
import time
import uuid
from typing import Any

import jwt as pyjwt
import pytest
from sqlalchemy import func

from app.clock import clock
from app.extensions import db
from app.models.lifecycle import LifecycleJob
from app.services import lifecycle
from tests.conftest import bearer
from tests.enrollment_helpers import b64, pdf_bytes
from tests.flows.issuance_helpers import MDOC_PID, SD_JWT_PID, Backend, Wallet, b64url_decode
from tests.flows.lifecycle.helpers import collect, issue, published_status
from tests.flows.oidc_helpers import enroll_citizen


@pytest.fixture
def revoker(api_client: Any) -> str:
    return api_client("issuance.revoke", "issuance.read").token()


def _bulk(client: Any, token: str, **body: Any) -> Any:
    return client.post("/v1/issuance/credentials/bulk", json=body, headers=bearer(token))


def _statuses(backend: Backend, issuance_id: str) -> list[str]:
    return [c["revocationStatus"] for c in backend.read(issuance_id)["credentials"]]


def test_issuance_record_reports_each_credentials_status(app, client, backend, wallet, citizen):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    [record] = backend.read(item.issuance_id)["credentials"]
    assert record["revocationStatus"] == "Operational" and record["renewalDue"] is False
    assert record["revocationId"] == item.revocation_id
    with app.app.app_context():
        lifecycle.suspend([item.credential_id], reason=None, actor="ops")
    assert _statuses(backend, item.issuance_id) == ["Suspended"]
    with app.app.app_context():
        lifecycle.revoke([item.credential_id], reason=None, actor="ops")
    assert _statuses(backend, item.issuance_id) == ["Revoked"]


def test_bulk_by_person_configuration_issuance_and_ids(app, client, api_client, wallet, citizen):
    token = api_client("issuance.write", "issuance.read", "issuance.revoke").token()
    backend = Backend(client, token)
    sd = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    mdoc = issue(backend, wallet, citizen.uin, MDOC_PID)
    done = _bulk(client, token, action="suspend", configurationId=MDOC_PID, reason="audit")
    assert done.status_code == 200 and done.json() == {"action": "suspend", "count": 1, "unchanged": 0}
    assert [published_status(client, i) for i in (sd, mdoc)] == [0, 2]
    done = _bulk(client, token, action="unsuspend", revocationIds=[mdoc.revocation_id, sd.revocation_id])
    assert done.json() == {"action": "unsuspend", "count": 1, "unchanged": 1}
    done = _bulk(client, token, action="revoke", uin=citizen.uin, reason="card stolen")
    assert done.json()["count"] == 2
    assert [published_status(client, i) for i in (sd, mdoc)] == [1, 1]
    again = _bulk(client, token, action="revoke", issuanceId=sd.issuance_id)
    assert again.json() == {"action": "revoke", "count": 0, "unchanged": 1}  # revoked is final; nothing to do
    assert _bulk(client, token, action="unsuspend", credentialIds=[sd.credential_id]).json()["count"] == 0


def test_a_bulk_change_has_an_outbox_event_per_credential_and_one_audit_event(app, client, api_client, wallet, citizen):
    """Issue 17: every change has its outbox event; the bulk call one audit event (who, which selection, how many;
    no personal data: the UIN selected by is not in it)."""
    from sqlalchemy import select

    from app.models.audit import AuditEvent
    from app.models.registry import OutboxEvent
    from tests.conftest import seal_audit

    token = api_client("issuance.write", "issuance.read", "issuance.revoke").token()
    backend = Backend(client, token)
    items = [issue(backend, wallet, citizen.uin, config) for config in (SD_JWT_PID, MDOC_PID, SD_JWT_PID)]
    with app.app.app_context():
        lifecycle.revoke([items[2].credential_id], reason=None, actor="ops")  # already revoked: no second event
        first = db.session.execute(select(func.max(OutboxEvent.id))).scalar_one()
    done = _bulk(client, token, action="revoke", uin=citizen.uin, reason="card stolen")
    assert done.json() == {"action": "revoke", "count": 2, "unchanged": 1}
    with app.app.app_context():
        events = db.session.execute(select(OutboxEvent).where(OutboxEvent.id > first).order_by(OutboxEvent.id)).scalars()
        payloads = sorted(((e.topic, e.payload) for e in events), key=lambda e: e[1]["credentialId"])
        seal_audit()
        [audited] = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "credential.bulk_revoke").order_by(AuditEvent.seq)
        ).scalars()
        audited_details, audited_actor = dict(audited.details), audited.actor
    expected = sorted(items[:2], key=lambda i: i.credential_id)
    assert payloads == [
        (
            "credential.revoked",
            {
                "source": "idbb",
                "credentialId": i.credential_id,
                "revocationId": i.revocation_id,
                "issuanceId": i.issuance_id,
                "configurationId": config,
                "status": "Revoked",
                "reason": "card stolen",
            },
        )
        for i, config in ((i, SD_JWT_PID if i is items[0] else MDOC_PID) for i in expected)
    ]
    assert audited_actor == _client_id_of(app, items[0].issuance_id)
    assert audited_details == {
        "count": 2,
        "selection": {"kind": "bulk", "selector": "uin"},
        "reason": "card stolen",
    }
    assert citizen.uin not in json.dumps(audited_details) + json.dumps(payloads)


def test_bulk_refuses_bad_requests_and_reaches_only_the_callers_credentials(
    app, client, backend, wallet, citizen, api_client, revoker
):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    for body in (
        {"action": "revoke"},
        {"action": "revoke", "uin": citizen.uin, "issuanceId": item.issuance_id},
        {"action": "erase", "uin": citizen.uin},
        {"action": "revoke", "credentialIds": []},
    ):
        refused = _bulk(client, revoker, **body)
        assert refused.status_code == 400, body
        assert set(refused.json()) == {"code", "message"} and refused.json()["code"] == 400
    assert _bulk(client, backend.token, action="revoke", uin=citizen.uin).status_code == 403  # no issuance.revoke
    other = _bulk(client, revoker, action="revoke", uin=citizen.uin)  # another backend's issuances: untouched
    assert other.status_code == 200 and other.json()["count"] == 0 and other.json()["unchanged"] == 0
    assert published_status(client, item) == lifecycle.VALID


def _wait_job(client: Any, token: str, job_id: str) -> dict[str, Any]:
    for _ in range(100):
        job = client.get(f"/v1/issuance/jobs/{job_id}", headers=bearer(token))
        assert job.status_code == 200, job.text
        if job.json()["state"] in ("done", "failed"):
            return dict(job.json())
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def test_a_large_bulk_change_is_a_job(make_app, api_client):
    clock.reset()
    cx = make_app(status_publish_delay=0, lifecycle_bulk_threshold=2)
    http = cx.test_client(base_url="https://idbb.test")
    token = api_client("issuance.write", "issuance.read", "issuance.revoke").token()
    backend, wallet = Backend(http, token), Wallet(http)
    citizen = enroll_citizen(cx)
    items = [issue(backend, wallet, citizen.uin, config) for config in (SD_JWT_PID, MDOC_PID, SD_JWT_PID)]
    accepted = _bulk(http, token, action="revoke", uin=citizen.uin, reason="deceased")
    assert accepted.status_code == 202 and accepted.json()["state"] in ("queued", "running", "done")
    job = _wait_job(http, token, accepted.json()["jobId"])
    assert job["state"] == "done" and job["count"] == 3 and job["finishedAt"]
    assert [published_status(http, i) for i in items] == [1, 1, 1]
    someone_else = api_client("issuance.read").token()
    assert http.get(f"/v1/issuance/jobs/{job['jobId']}", headers=bearer(someone_else)).status_code == 404
    assert http.get("/v1/issuance/jobs/nope", headers=bearer(token)).status_code == 404


def test_a_job_left_by_a_dead_worker_is_picked_up_by_the_next_one_asked(app, client, api_client, wallet, citizen):
    owner = api_client("issuance.write", "issuance.read", "issuance.revoke")
    token = owner.token()
    backend = Backend(client, token)
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    client_id = _client_id_of(app, item.issuance_id)
    job_id = str(uuid.uuid4())
    with app.app.app_context():  # a worker stored the job and died before running it
        db.session.add(
            LifecycleJob(
                job_id=job_id,
                client_id=client_id,
                action="suspend",
                selection={"uin": citizen.uin, "client_id": client_id, "selector": "uin"},
                reason=None,
                state="running",
                created_at=clock.now(),
                started_at=clock.now(),
            )
        )
        db.session.commit()
    assert client.get(f"/v1/issuance/jobs/{job_id}", headers=bearer(token)).json()["state"] == "running"
    clock.advance(400)  # the claim went stale
    assert _wait_job(client, owner.token(), job_id)["count"] == 1
    assert published_status(client, item) == lifecycle.SUSPENDED


class _WorkerDied(BaseException):
    """A worker process ending mid-job (not an ``Exception``: nothing in idbb catches it)."""


def test_a_job_left_half_done_by_a_dead_worker_completes_without_anyone_reading_it(make_app, api_client, monkeypatch):
    """The worker claimed the job, changed the entries and died before committing: the sweeper of another worker
    finds the stale claim and runs the job to its end; nobody calls ``GET /v1/issuance/jobs/{id}``."""
    from app.services.lifecycle import changes, jobs

    clock.reset()
    cx = make_app(status_publish_delay=0, lifecycle_bulk_threshold=1, lifecycle_job_sweep=0.1)
    http = cx.test_client(base_url="https://idbb.test")
    owner = api_client("issuance.write", "issuance.read", "issuance.revoke")
    backend, wallet = Backend(http, owner.token()), Wallet(http)
    citizen = enroll_citizen(cx)
    items = [issue(backend, wallet, citizen.uin, config) for config in (SD_JWT_PID, MDOC_PID)]
    monkeypatch.setattr(jobs, "start", lambda job_id: None)  # the accepting worker never gets to run it
    accepted = _bulk(http, owner.token(), action="revoke", uin=citizen.uin, reason="deceased")
    assert accepted.status_code == 202
    job_id = accepted.json()["jobId"]

    real_announce = changes._announce

    def die(*args: Any, **kwargs: Any) -> None:
        real_announce(*args, **kwargs)
        raise _WorkerDied  # after the UPDATE and the events, before the COMMIT

    monkeypatch.setattr(changes, "_announce", die)
    with cx.app.app_context(), pytest.raises(_WorkerDied):
        jobs.run(job_id)
    monkeypatch.undo()

    def stored() -> LifecycleJob:
        with cx.app.app_context():
            job = db.session.get(LifecycleJob, job_id)
            db.session.expunge(job)
            return job

    assert stored().state == "running" and stored().count is None  # claimed, nothing committed
    assert _statuses(backend, items[0].issuance_id) == ["Operational"]
    sweeper = jobs.start_sweeper(cx.app)
    assert sweeper is not None
    try:
        time.sleep(0.5)
        assert stored().state == "running"  # a claim younger than STALE_SECONDS is another worker's
        clock.advance(jobs.STALE_SECONDS + 1)
        for _ in range(100):
            if stored().state == "done":
                break
            time.sleep(0.1)
    finally:
        sweeper.stop()
        clock.reset()
    job = stored()
    assert job.state == "done" and job.count == 2
    assert [published_status(http, i) for i in items] == [lifecycle.INVALID, lifecycle.INVALID]
    assert [s for i in items for s in _statuses(backend, i.issuance_id)] == ["Revoked", "Revoked"]


def _client_id_of(app: Any, issuance_id: str) -> str:
    from app.models.issuance import Issuance

    with app.app.app_context():
        return str(db.session.get(Issuance, issuance_id).client_id)


def _accept(client: Any, wallet: Wallet, item: Any) -> None:
    answer = client.post(
        "/notification",
        json={"notification_id": item.notification_id, "event": "credential_accepted"},
        headers=wallet.auth(item.token, "/notification"),
    )
    assert answer.status_code == 204, answer.text


def _renew(client: Any, backend: Backend, revocation_id: str, **body: Any) -> Any:
    return client.post(f"/v1/issuance/credentials/{revocation_id}/renew", json=body, headers=bearer(backend.token))


@pytest.mark.parametrize("policy", ["keep", "revoke_on_accept"])
def test_renewal_under_both_policies(make_app, api_client, policy):
    clock.reset()
    cx = make_app(status_publish_delay=0, renewal_old_credential=policy)
    http = cx.test_client(base_url="https://idbb.test")
    owner = api_client("issuance.write", "issuance.read")
    backend, wallet = Backend(http, owner.token()), Wallet(http)
    citizen = enroll_citizen(cx)
    old = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    clock.advance(120)
    backend.token = owner.token()  # a token minted after the jump
    renewed = _renew(http, backend, old.revocation_id, correlationId="renewal-1")
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["renewalOf"] == old.revocation_id and renewed.json()["offerUri"]
    new = collect(backend, wallet, renewed.json())
    assert new.credential_id != old.credential_id
    assert published_status(http, old) == lifecycle.VALID  # until the new one is accepted, under both policies
    _accept(http, wallet, new)
    expected = lifecycle.VALID if policy == "keep" else lifecycle.INVALID
    assert published_status(http, old) == expected and published_status(http, new) == lifecycle.VALID
    assert _statuses(backend, old.issuance_id) == ["Operational" if policy == "keep" else "Revoked"]
    first = pyjwt.decode(old.credential.split("~")[0], options={"verify_signature": False})
    second = pyjwt.decode(new.credential.split("~")[0], options={"verify_signature": False})
    assert second["iat"] >= first["iat"] + 120 and second["exp"] > first["exp"]  # a new validity


def test_renewal_refusals(app, client, backend, wallet, citizen, api_client):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    assert _renew(client, backend, str(uuid.uuid4())).status_code == 404
    stranger = Backend(client, api_client("issuance.write", "issuance.read").token())
    assert _renew(client, stranger, item.revocation_id).status_code == 404  # not this backend's credential
    with app.app.app_context():
        lifecycle.revoke([item.credential_id], reason=None, actor="ops")
    refused = _renew(client, backend, item.revocation_id)
    assert refused.status_code == 409 and "already_revoked" in refused.json()["message"]


def _registry_update(client: Any, api_client: Any, uin: str, changes: dict[str, Any], reason: str) -> None:
    token = api_client("registry.read", "registry.write").token()
    evidence = {"documentType": "OTHER", "mimeType": "application/pdf", "data": b64(pdf_bytes())}
    answer = client.patch(
        f"/registry/identities/{uin}",
        json={"changes": changes, "reason": reason, "evidence": evidence},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text


def test_a_registry_attribute_update_marks_credentials_for_renewal(app, client, backend, wallet, citizen, api_client):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    _registry_update(client, api_client, citizen.uin, {"lastName": "Sow"}, "marriage")
    [record] = backend.read(item.issuance_id)["credentials"]
    assert record["renewalDue"] is True and record["revocationStatus"] == "Operational"
    renewed = _renew(client, backend, item.revocation_id)
    new = collect(backend, wallet, renewed.json())
    disclosed = [json.loads(b64url_decode(d)) for d in new.credential.split("~")[1:] if d]  # RFC 9901 §4.2
    assert ["Sow"] == [d[2] for d in disclosed if len(d) == 3 and d[1] == "family_name"]
    assert backend.read(renewed.json()["issuanceId"])["credentials"][0]["renewalDue"] is False


@pytest.mark.parametrize(
    "rule,expected", [("revoke", lifecycle.INVALID), ("suspend", lifecycle.SUSPENDED), ("none", lifecycle.VALID)]
)
def test_a_death_in_the_registry_follows_the_rule(make_app, api_client, rule, expected):
    clock.reset()
    cx = make_app(status_publish_delay=0, registry_death_action=rule)
    http = cx.test_client(base_url="https://idbb.test")
    backend, wallet = Backend(http, api_client("issuance.write", "issuance.read").token()), Wallet(http)
    citizen = enroll_citizen(cx)
    items = [issue(backend, wallet, citizen.uin, c) for c in (SD_JWT_PID, MDOC_PID)]
    _registry_update(http, api_client, citizen.uin, {"dateOfDeath": "2026-11-30"}, "death certificate")
    assert [published_status(http, i) for i in items] == [expected, expected]


def test_an_identity_merge_follows_the_merge_rule(app, client, backend, wallet, citizen):
    item = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    from app.services.lifecycle import registry_events
    from app.services.transaction import atomic

    with app.app.app_context():
        with atomic():
            assert registry_events.identity_merged(citizen.uin, "9999999999", actor="registry") == 1
    assert published_status(client, item) == lifecycle.INVALID  # the default rule: revoke
