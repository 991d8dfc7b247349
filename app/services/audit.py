"""The audit trail: append-only, hash-chained, no personal data.

Each event's hash is HMAC-SHA256 (under a key derived from the KEK, so whoever can write the
database cannot recompute the chain) over the previous hash and the RFC 8785 canonical JSON of the
event: editing, deleting or reordering any row breaks every hash after it, and a MAC'd head row
shows when the newest events were cut off. ``verify`` names the first broken link.
Appends are serialised (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE) so the
chain never forks, and a UNIQUE ``prev_hash`` makes a fork impossible even if that failed.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from app.clock import clock
from app.extensions import db
from app.formats.canonical import canonical_json
from app.models.audit import AuditEvent, AuditHead
from app.services.stored_secrets import purpose_key

GENESIS = "0" * 64
_LOCK_ID = 0x1DBBA0D1  # advisory lock id for the audit chain


def _key() -> bytes:
    return purpose_key("audit chain")  # HKDF info "idbb audit chain v1", as since the foundation


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str | None,
            outcome: str, details: dict[str, Any]) -> str:
    body = canonical_json({
        "at": at.isoformat(timespec="microseconds"), "actor": actor, "action": action,
        "target": target, "outcome": outcome, "details": details,
    })
    return hmac.new(_key(), prev_hash.encode("ascii") + body, hashlib.sha256).hexdigest()


def _head_mac(seq: int, digest: str) -> str:
    return hmac.new(_key(), f"head:{seq}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


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
    head = session.get(AuditHead, 1)
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS, mac="")
        session.add(head)
    head.last_seq, head.last_hash, head.mac = event.seq, event.hash, _head_mac(event.seq, event.hash)
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
        return ChainReport(False, count, head.last_seq,
                           "the newest events were removed (the chain ends before its head)")
    return ChainReport(ok=True, events=count)
