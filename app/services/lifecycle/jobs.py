"""Bulk status changes from the backend issue API (``POST /v1/issuance/credentials/bulk``) and their jobs.

A selection of up to ``IDBB_LIFECYCLE_BULK_THRESHOLD`` changes runs at once; a larger one is stored as a job
(``lifecycle_jobs``) and run in a background thread of the worker that accepted it, with its own app context and
transaction. The change and the job's ``done`` are one transaction, so a worker that dies mid-way leaves the job
``running`` with nothing changed. A job that is queued, or running for longer than ``STALE_SECONDS``, is claimed
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and run again by whichever worker gets to it first: the one asked about
it (``GET /v1/issuance/jobs/{id}``), or the :class:`Sweeper` every serving process runs, which looks for such jobs
every ``IDBB_LIFECYCLE_JOB_SWEEP`` seconds, so a job completes even when nobody reads it.
"""

import logging
import os
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select

from app.clock import clock
from app.errors import IdbbError, InvalidRequest, NotFound
from app.extensions import db, state
from app.models.lifecycle import LifecycleJob
from app.services.lifecycle.changes import change_selection
from app.services.lifecycle.selection import Selection, query
from app.services.lifecycle.states import ACTIONS, SOURCES
from app.services.transaction import atomic, end_read

log = logging.getLogger("idbb.lifecycle")

SELECTORS = ("credentialIds", "revocationIds", "uin", "configurationId", "issuanceId")
STALE_SECONDS = 300
SWEEP_BATCH = 10  # jobs one sweep claims at most (each runs to its end before the next)
_LOCK = threading.Lock()
_RUNNING: set[str] = set()


class InvalidBulkRequest(InvalidRequest):
    code = "invalid_bulk_request"
    description = "The bulk request is not valid."


def _selection(body: dict[str, Any], client_id: str) -> tuple[Selection, str]:
    given = [name for name in SELECTORS if body.get(name) is not None]
    if len(given) != 1:
        raise InvalidBulkRequest(description="Select by exactly one of " + ", ".join(SELECTORS) + ".")
    name = given[0]
    value = body[name]
    fields = {
        "credentialIds": "credential_ids",
        "revocationIds": "revocation_ids",
        "uin": "uin",
        "configurationId": "configuration_id",
        "issuanceId": "issuance_id",
    }
    if isinstance(value, list):
        value = tuple(str(v) for v in value)
    # least privilege: a backend reaches only the credentials of the issuances it started
    return Selection(**{fields[name]: value}, client_id=client_id), name


def _counts(action: str, selection: Selection) -> tuple[int, int]:
    """(would change, would stay) for ``action`` over ``selection``."""
    sub = query(*selection.conditions()).subquery()
    rows = db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    allowed = sum(int(n) for status, n in rows if int(status) in SOURCES[action])
    return allowed, sum(int(n) for status, n in rows if int(status) not in SOURCES[action])


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def job_view(job: LifecycleJob) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobId": job.job_id,
        "action": job.action,
        "state": job.state,
        "statusUri": f"{state().settings.issuer}/v1/issuance/jobs/{job.job_id}",
        "createdAt": _iso(job.created_at),
    }
    for key, value in (
        ("count", job.count),
        ("error", job.error),
        ("startedAt", _iso(job.started_at)),
        ("finishedAt", _iso(job.finished_at)),
    ):
        if value is not None:
            out[key] = value
    unchanged = (job.selection or {}).get("unchanged")
    if unchanged is not None and job.state == "done":
        out["unchanged"] = unchanged
    return out


def bulk(body: dict[str, Any], *, client_id: str) -> tuple[int, dict[str, Any]]:
    """``POST /v1/issuance/credentials/bulk`` → (200, {action, count, unchanged}) or (202, the job)."""
    action = body.get("action")
    if action not in ACTIONS:
        raise InvalidBulkRequest(description="action must be suspend, unsuspend or revoke.")
    selection, selector = _selection(body, client_id)
    reason = body.get("reason")
    with atomic():
        allowed, unchanged = _counts(action, selection)
        if allowed <= state().settings.lifecycle_bulk_threshold:
            views = change_selection(
                action, selection, reason=reason, actor=client_id, summary={"kind": "bulk", "selector": selector}
            )
            return 200, {"action": action, "count": len(views), "unchanged": allowed + unchanged - len(views)}
        job = LifecycleJob(
            job_id=str(uuid.uuid4()),
            client_id=client_id,
            action=action,
            selection={**_stored(selection), "selector": selector},
            reason=reason,
            state="queued",
            created_at=clock.now(),
        )
        db.session.add(job)
        answer = job_view(job)
    start(job.job_id)  # after the commit: the thread must find the job
    return 202, answer


def _stored(selection: Selection) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in vars(selection).items()
        if value is not None
    }


def _restored(stored: dict[str, Any]) -> Selection:
    names = {"credential_ids", "revocation_ids", "uin", "configuration_id", "issuance_id", "client_id"}
    return Selection(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in names})  # type: ignore[arg-type]  # stored holds only Selection fields, of their own types


def read_job(job_id: str, *, client_id: str) -> dict[str, Any]:
    """``GET /v1/issuance/jobs/{jobId}``; a job left queued or stale by another worker is picked up here."""
    job = db.session.get(LifecycleJob, job_id) if len(job_id) <= 36 else None
    if job is None or job.client_id != client_id:  # a backend sees only its own jobs
        raise NotFound("No job has this id.")
    answer = job_view(job)
    if _claimable(job, clock.now()):
        start(job.job_id)
    end_read()
    return answer


def _claimable(job: LifecycleJob, now: datetime) -> bool:
    if job.state == "queued":
        return True
    return job.state == "running" and job.started_at is not None and now - job.started_at > timedelta(seconds=STALE_SECONDS)


def start(job_id: str) -> None:
    """Run ``job_id`` in a background thread of this worker (once per worker at a time)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy._get_current_object is not in flask's stubs
    with _LOCK:
        if job_id in _RUNNING:
            return
        _RUNNING.add(job_id)
    threading.Thread(target=_thread, args=(app, job_id), name="idbb-lifecycle-job", daemon=True).start()


def _thread(app: Flask, job_id: str) -> None:
    try:
        with app.app_context():
            run(job_id)
    except Exception:  # a thread's failure is logged; the job stays claimable
        log.exception("lifecycle job failed", extra={"job": job_id})
    finally:
        with _LOCK:
            _RUNNING.discard(job_id)


def _claim(job_id: str) -> LifecycleJob | None:
    now = clock.now()
    with atomic():
        statement = select(LifecycleJob).where(LifecycleJob.job_id == job_id)
        if db.engine.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)  # another worker has it: leave it
        job = db.session.execute(statement).scalar_one_or_none()
        if job is None or not _claimable(job, now):
            return None
        job.state, job.started_at = "running", now
    return job


def run(job_id: str) -> None:
    """Claim and run one job: the change and the job's ``done`` commit together."""
    if _claim(job_id) is None:
        return
    try:
        with atomic():
            job = db.session.execute(
                select(LifecycleJob).where(LifecycleJob.job_id == job_id).with_for_update()
            ).scalar_one()
            selection = _restored(job.selection or {})
            allowed, unchanged = _counts(job.action, selection)
            views = change_selection(
                job.action,
                selection,
                reason=job.reason,
                actor=job.client_id,
                summary={"kind": "bulk", "job": job.job_id, "selector": (job.selection or {}).get("selector")},
            )
            job.state, job.count, job.finished_at = "done", len(views), clock.now()
            job.selection = {**(job.selection or {}), "unchanged": allowed + unchanged - len(views)}
    except IdbbError as exc:
        with atomic():
            job = db.session.get(LifecycleJob, job_id)  # type: ignore[assignment]  # job was typed non-None above; this re-fetch may be None and is checked next
            if job is not None:
                job.state, job.error, job.finished_at = "failed", exc.code[:200], clock.now()


def pending_count() -> int:
    """Jobs not finished (health and tests)."""
    return int(db.session.execute(select(func.count()).where(LifecycleJob.state.in_(("queued", "running")))).scalar_one())


def claimable_ids(limit: int = SWEEP_BATCH) -> list[str]:
    """Jobs queued, or running with a claim older than ``STALE_SECONDS`` (its worker died), oldest first."""
    stale = clock.now() - timedelta(seconds=STALE_SECONDS)
    ids = list(
        db.session.execute(
            select(LifecycleJob.job_id)
            .where(
                (LifecycleJob.state == "queued") | ((LifecycleJob.state == "running") & (LifecycleJob.started_at < stale))
            )
            .order_by(LifecycleJob.created_at, LifecycleJob.job_id)
            .limit(limit)
        ).scalars()
    )
    end_read()
    return ids


def sweep() -> int:
    """Claim and run, in this thread, the jobs :func:`claimable_ids` finds; returns how many were looked at. A
    job this process already runs is left to its thread; one another worker claims first is skipped by
    :func:`run` (the claim is exclusive)."""
    ids = claimable_ids()
    for job_id in ids:
        with _LOCK:
            if job_id in _RUNNING:
                continue
            _RUNNING.add(job_id)
        try:
            run(job_id)
        finally:
            with _LOCK:
                _RUNNING.discard(job_id)
    return len(ids)


class Sweeper:
    """One thread per serving process that runs :func:`sweep` every ``interval`` seconds, so that a job whose
    worker died (or was never started: the worker died between storing and starting it) completes without anyone
    reading it. Started by :func:`start_sweeper` where idbb serves (``app.asgi``, ``idbb serve``); test and CLI
    apps run none. A failed sweep is logged without details and tried again at the next interval."""

    def __init__(self, app: Flask, interval: float) -> None:
        self._app = app
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idbb-lifecycle-sweeper", daemon=True)
        self.pid = os.getpid()

    def start(self) -> "Sweeper":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._app.app_context():
                    try:
                        sweep()  # at most SWEEP_BATCH jobs; any more at the next interval
                    finally:
                        db.session.remove()
            except Exception as exc:
                log.error("lifecycle job sweep failed", extra={"error": type(exc).__name__})


_SWEEPER = "lifecycle_sweeper"


def start_sweeper(app: Flask) -> Sweeper | None:
    """Start this process's :class:`Sweeper` (once per process: a forked child calling it gets its own), unless
    ``IDBB_LIFECYCLE_JOB_SWEEP`` is 0."""
    interval = app.extensions["idbb"].settings.lifecycle_job_sweep
    if interval <= 0:
        return None
    cache = app.extensions["idbb"].cache
    with _LOCK:
        found = cache.get(_SWEEPER)
        if isinstance(found, Sweeper) and found.pid == os.getpid():
            return found
        sweeper = Sweeper(app, float(interval)).start()
        cache[_SWEEPER] = sweeper
    return sweeper
