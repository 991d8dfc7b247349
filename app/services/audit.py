"""The audit trail: append-only, hash-chained, no personal data.

Each event's hash is HMAC-SHA256 (under a key derived from the KEK, so whoever can write the
database cannot recompute the chain) over the previous hash and the RFC 8785 canonical JSON of the
event: editing, deleting or reordering any row breaks every hash after it, and a MAC'd head row
shows when the newest events were cut off. ``verify`` names the first broken link.
Events are chained under a lock on the head row, so the chain never forks (and a UNIQUE ``prev_hash``
makes a fork impossible even if that failed): on SQLite when their use case commits (its BEGIN IMMEDIATE
already serialises writers); on PostgreSQL moments later, by the sealer thread (at the end of this module), from
the ``audit_pending`` queue that the use case's own transaction filled without any lock.
"""

import functools
import hashlib
import hmac
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from app.clock import clock
from app.extensions import db, state
from app.formats.canonical import canonical_json
from app.models.audit import AuditEvent, AuditHead, AuditPending
from app.services.database import rows_insert, rows_params, unflushed
from app.services.stored_secrets import purpose_key

log = logging.getLogger("idbb.audit")

GENESIS = "0" * 64
_LOCK_ID = 0x1DBBA0D1  # advisory lock id for the audit chain


def _key() -> bytes:
    return purpose_key("audit chain")  # HKDF info "idbb audit chain v1", as since the foundation


def _digest(
    prev_hash: str, at: datetime, actor: str, action: str, target: str | None, outcome: str, details: dict[str, Any]
) -> str:
    body = canonical_json(
        {
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "details": details,
        }
    )
    return hmac.new(_key(), prev_hash.encode("ascii") + body, hashlib.sha256).hexdigest()


def _head_mac(seq: int, digest: str) -> str:
    return hmac.new(_key(), f"head:{seq}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


def record(
    action: str, *, actor: str, target: str | None = None, outcome: str = "success", details: dict[str, Any] | None = None
) -> AuditEvent:
    """Add one event to the caller's transaction: it is chained and written when that transaction commits,
    and dropped if it rolls back (one transaction per use case)."""
    values = {"at": clock.now(), "actor": actor, "action": action, "target": target, "outcome": outcome}
    event = unflushed(AuditEvent, {**values, "details": dict(details or {})})  # a value until COMMIT writes it
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any statement still ends it and drops the event
    session.info.setdefault(_PENDING, []).append(event)
    return event


_PENDING = "idbb.audit.pending"


@sa_event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Write this transaction's events as part of its COMMIT.

    SQLite (one writer at a time, ``BEGIN IMMEDIATE``): the events are chained here, at once. PostgreSQL:
    they go to ``audit_pending`` in the same transaction, without any lock, and the sealer thread of this
    worker chains them in batches moments later (the sealer, below). Chaining inline took the chain head's
    row lock in every writing request until COMMIT: under load, half the connections queued behind it.
    """
    if session.in_nested_transaction():
        return  # a SAVEPOINT released (SQLAlchemy fires this hook for it too): the events wait for the COMMIT
    events = session.info.pop(_PENDING, None)
    if not events:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_QUEUE_INSERT, _queued(session, events))  # Core, no RETURNING of the ids
        return
    rows = [_row(event) for event in events]
    chain(session, rows)
    for event, row in zip(events, rows, strict=True):
        event.seq, event.prev_hash, event.hash = row["seq"], row["prev_hash"], row["hash"]


_SEAL_AFTER_COMMIT = "idbb.audit.nudge"
_EVENTS = AuditEvent.__table__
_HEAD = AuditHead.__table__
_QUEUE = AuditPending.__table__
#: built once: a statement made per commit had its cache key generated anew each time (a tenth of the hook's CPU)
_QUEUE_INSERT = insert(_QUEUE).inline()
#: the chain's newest (seq, hash): the one row of ``audit_head``
_HEAD_ROW = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1)


#: the columns an event is recorded with (its chain links are added when it is chained)
_COLUMNS = ("at", "actor", "action", "target", "outcome", "details")


@functools.lru_cache(maxsize=4)
def queue_insert(count: int) -> Insert:
    """PostgreSQL: an INSERT of ``count`` queue rows (parameters from :func:`take_queued`) for a use case whose last
    statement writes its events too; built once per shape."""
    return rows_insert(_QUEUE, _COLUMNS, "audit", min(count, 2))  # one row, or arrays for more


def take_queued(session: Session) -> tuple[int, dict[str, Any]]:
    """PostgreSQL: the transaction's events recorded so far, as (count, :func:`queue_insert` parameters), taken off
    what its COMMIT writes, so a use case's last statement carries them (a round trip less: the credential
    endpoint). (0, {}) on SQLite, where the COMMIT chains them, and when there are none. Written or rolled back with
    the statement that carries them, like every other write of the transaction."""
    if session.get_bind().dialect.name != "postgresql" or session.in_nested_transaction():
        return 0, {}
    events = session.info.pop(_PENDING, None)
    if not events:
        return 0, {}
    rows = _queued(session, events)
    return len(rows), rows_params(_COLUMNS, "audit", rows)


def _queued(session: Session, events: list[AuditEvent]) -> list[dict[str, Any]]:
    """PostgreSQL: ``events`` as ``audit_pending`` rows, each checked to be chainable, and the sealer told to run
    after the COMMIT."""
    rows = [_row(event) for event in events]
    for row in rows:
        canonical_json(row["details"])  # what cannot be chained fails its use case, never the sealer
    session.info[_SEAL_AFTER_COMMIT] = True
    return rows


def _row(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _COLUMNS}


def chain(session: Session, rows: list[dict[str, Any]], head: tuple[int, str] | None = None) -> None:
    """Link ``rows`` (in order) after the chain's head and insert them, under the head's row lock
    (``head`` when the caller locked it already).

    Core statements, not the ORM's unit of work: three statements, the lock held until COMMIT.
    """
    conn = session.connection()
    seq, prev = head if head is not None else _locked_head(session)
    for row in rows:
        seq += 1  # seq is assigned under the head lock: seq order is chain order
        row["seq"], row["prev_hash"] = seq, prev
        row["hash"] = prev = _digest(
            prev, row["at"], row["actor"], row["action"], row["target"], row["outcome"], row["details"]
        )
    conn.execute(insert(_EVENTS), rows)
    conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(last_seq=seq, last_hash=prev, mac=_head_mac(seq, prev)))
    if session.get_bind().dialect.name == "postgresql":  # seq is given, not drawn: keep the column's sequence level
        conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_events', 'seq'), :seq)"), {"seq": seq})


#: what ``seal_pending(wait=False)`` answers when another sealer holds the chain head
BUSY = -1


def seal_pending(session: Session, *, batch: int = 1000, wait: bool = True) -> int:
    """Chain up to ``batch`` committed pending events, oldest first, in one transaction; returns how many.

    The chain head is locked before the queue is taken (one ``DELETE ... RETURNING``), so two sealers never
    chain the same events;
    ``wait=False`` answers ``BUSY`` at once when another sealer holds it (the caller tries again: that
    sealer may have read the queue before our events were committed).
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0  # SQLite chains at commit
    conn = session.connection()
    head: tuple[int, str] | None = None
    if not wait:
        locked = conn.execute(_HEAD_ROW.with_for_update(skip_locked=True)).first()
        if locked is not None:
            head = (locked.last_seq, locked.last_hash)
        elif conn.execute(_HEAD_ROW).first() is not None:
            session.rollback()
            return BUSY
    if head is None:
        head = _locked_head(session)
    oldest = select(_QUEUE.c.id).order_by(_QUEUE.c.id).limit(batch)
    taken = conn.execute(delete(_QUEUE).where(_QUEUE.c.id.in_(oldest)).returning(*_QUEUE.c)).mappings().all()
    if not taken:
        session.rollback()
        return 0
    pending = sorted(taken, key=lambda row: row["id"])  # RETURNING has no order: queue order is chain order
    chain(session, [{name: row[name] for name in _COLUMNS} for row in pending], head)
    session.commit()
    return len(pending)


def seal_all(session: Session) -> None:
    """Chain every committed pending event now (readers of the trail: ``verify``, the CLI, tests)."""
    while seal_pending(session):
        pass


def pending_count(session: Session) -> int:
    conn = session.connection()
    return int(conn.execute(select(func.count()).select_from(_QUEUE)).scalar_one())


@sa_event.listens_for(Session, "after_commit")
def _nudge_sealer(session: Session) -> None:
    if not session.in_nested_transaction() and session.info.pop(_SEAL_AFTER_COMMIT, False):
        nudge()


@sa_event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the use case rolled back (a commit has taken its events already)
        session.info.pop(_PENDING, None)


def _locked_head(session: Session) -> tuple[int, str]:
    """The chain's newest (seq, hash), its row locked until COMMIT; the head row is made on first use."""
    conn = session.connection()
    query = _HEAD_ROW.with_for_update()
    head = conn.execute(query).first()
    if head is not None:
        return head.last_seq, head.last_hash
    if session.get_bind().dialect.name == "postgresql":  # no row to lock yet: the first append ever
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        head = conn.execute(query).first()
        if head is not None:
            return head.last_seq, head.last_hash
    last = conn.execute(select(_EVENTS.c.seq, _EVENTS.c.hash).order_by(_EVENTS.c.seq.desc()).limit(1)).first()
    seq, digest = (last.seq, last.hash) if last else (0, GENESIS)
    conn.execute(insert(_HEAD).values(id=1, last_seq=seq, last_hash=digest, mac=_head_mac(seq, digest)))
    return seq, digest


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify(batch: int = 1000) -> ChainReport:
    """Walk the chain in order; report the first event whose link or hash does not hold.

    Pending events (PostgreSQL) are chained first, so the report covers every committed event.
    """
    seal_all(db.session())
    prev = GENESIS
    count = 0
    last_seq = 0
    while True:
        rows = (
            db.session.execute(select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch))
            .scalars()
            .all()
        )
        if not rows:
            return _check_head(count, last_seq, prev)
        for ev in rows:
            if ev.prev_hash != prev:
                return ChainReport(False, count, ev.seq, "previous-hash link does not match")
            expected = _digest(prev, ev.at, ev.actor, ev.action, ev.target, ev.outcome, ev.details or {})
            if ev.hash != expected:
                return ChainReport(False, count, ev.seq, "event content does not match its hash")
            prev = ev.hash
            count += 1
            last_seq = ev.seq
        db.session.expunge_all()


def _check_head(count: int, last_seq: int, last_hash: str) -> ChainReport:
    """The walk ended at (last_seq, last_hash): it must be the MAC'd head, or events were cut off."""
    head = db.session.get(AuditHead, 1)
    if head is None:
        if count == 0:
            return ChainReport(ok=True, events=0)
        return ChainReport(False, count, last_seq, "the chain head is missing")
    if not hmac.compare_digest(head.mac, _head_mac(head.last_seq, head.last_hash)):
        return ChainReport(False, count, head.last_seq, "the chain head was altered")
    if (head.last_seq, head.last_hash) != (last_seq, last_hash):
        return ChainReport(False, count, head.last_seq, "the newest events were removed (the chain ends before its head)")
    return ChainReport(ok=True, events=count)


# --- the sealer (PostgreSQL) ----------------------------------------------------------------------
#
# The audit sealer: one thread per worker that chains committed pending events in batches (PostgreSQL).
#
# A use case's COMMIT nudges it; it waits ``SEAL_GATHER_SECONDS`` so that one batch takes what many requests
# wrote (a batch costs six statements whatever its size: waiting 0.02 s instead, sealing took a tenth of
# the server's CPU under load), then seals until nothing is left, one transaction per batch of up to
# ``SEAL_BATCH`` events. The chain head's row lock is taken with ``SKIP LOCKED``: when the other worker's
# sealer holds it, this one steps back and tries again moments later (that sealer may have read the queue
# before our events were committed). When the database refuses, it tries again every ``SEAL_RETRY_SECONDS``.
# A thread that was not nudged for ``SEAL_IDLE_EXIT_SECONDS`` ends (the next nudge starts a new one), so idle
# workers, CLI commands and test apps keep no thread, and an idle thread never touches the database.
# Events of a worker that died before sealing stay in ``audit_pending`` and are sealed by the next sealing
# of any worker, or by ``idbb audit verify``.

SEAL_GATHER_SECONDS = 0.2
SEAL_RETRY_SECONDS = 1.0
SEAL_IDLE_EXIT_SECONDS = 30.0
SEAL_BATCH = 1000
_SEALER = "audit_sealer"
_ALL: "weakref.WeakSet[Sealer]" = weakref.WeakSet()


class Sealer:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        _ALL.add(self)

    def nudge(self) -> None:
        thread = self._thread
        if (
            self._wake.is_set()
            and thread is not None
            and thread.is_alive()
            and self._pid == os.getpid()
            and not self._stop.is_set()
        ):
            return  # already nudged: the running thread will see it (an idle thread ends only when not nudged)
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="idbb-audit-sealer", daemon=True)
                self._thread.start()
            self._wake.set()  # under the lock: an idle thread deciding to end sees it

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread after sealing what is pending (app shutdown, tests)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            woke = self._wake.wait(SEAL_IDLE_EXIT_SECONDS)
            if not woke:
                with self._lock:
                    if not self._wake.is_set():  # idle: end; the next nudge starts a new thread
                        self._thread = None
                        return
                continue
            self._wake.clear()
            stopping = self._stop.is_set()
            if not stopping:
                time.sleep(SEAL_GATHER_SECONDS)  # let the requests of this moment join the batch
            if not self._seal_once() and not self._stop.is_set():
                time.sleep(SEAL_RETRY_SECONDS)  # the database refused: the events wait in the queue; try again
                self._wake.set()
            if self._stop.is_set():
                if not stopping:  # stopped during that batch: seal (waiting for the head) what committed meanwhile
                    self._seal_once()
                with self._lock:
                    self._thread = None
                    return

    def _seal_once(self) -> bool:
        """Seal until the queue is empty; False when the database refused (logged, without details)."""
        try:
            with self._app.app_context():
                try:
                    while True:
                        sealed = seal_pending(db.session(), batch=SEAL_BATCH, wait=self._stop.is_set())
                        if sealed == BUSY:  # the other worker's sealer: wait for it, then look again
                            time.sleep(SEAL_GATHER_SECONDS)
                        elif sealed < SEAL_BATCH:
                            return True
                finally:
                    db.session.remove()
        except Exception as exc:
            log.error("audit sealing failed", extra={"error": type(exc).__name__})
            return False


def nudge() -> None:
    """Called after a COMMIT that queued events (in the committing request's app context)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy._get_current_object is not in flask's stubs
    state().cached(_SEALER, lambda: Sealer(app)).nudge()


def stop_all() -> None:
    """Seal what is pending and end every sealer thread of this process (tests, before emptying tables)."""
    for found in list(_ALL):
        found.stop()
