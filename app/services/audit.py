"""The audit trail: append-only, hash-chained, no personal data.

Each event's hash is SHA-256 over the previous hash and the RFC 8785 canonical JSON of the event,
so editing, deleting or reordering any row breaks every hash after it; ``verify`` names the first
broken link. Appends are serialised (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE) so the
chain never forks, and a UNIQUE ``prev_hash`` makes a fork impossible even if that failed.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from app.clock import clock
from app.extensions import db
from app.formats.canonical import canonical_json
from app.models.audit import AuditEvent

GENESIS = "0" * 64
_LOCK_ID = 0x1DBBA0D1  # advisory lock id for the audit chain


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str | None,
            outcome: str, details: dict[str, Any]) -> str:
    body = canonical_json({
        "at": at.isoformat(timespec="microseconds"), "actor": actor, "action": action,
        "target": target, "outcome": outcome, "details": details,
    })
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def record(action: str, *, actor: str, target: str | None = None, outcome: str = "success",
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event inside the caller's transaction (it commits or rolls back with the use case)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).scalar()
    prev = last or GENESIS
    at = clock.now()
    payload = dict(details or {})
    event = AuditEvent(at=at, actor=actor, action=action, target=target, outcome=outcome,
                       details=payload, prev_hash=prev,
                       hash=_digest(prev, at, actor, action, target, outcome, payload))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify(batch: int = 1000) -> ChainReport:
    """Walk the chain in order; report the first event whose link or hash does not hold."""
    prev = GENESIS
    count = 0
    last_seq = 0
    while True:
        rows = db.session.execute(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return ChainReport(ok=True, events=count)
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
