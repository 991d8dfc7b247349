"""Transactional outbox: an event row is written in the same transaction as the change it announces,
so a committed enrollment always has its events and a rolled-back one never does. Delivery
(OSIA Notification, a later issue) reads unpublished rows in ``id`` order."""

from typing import Any

from sqlalchemy import bindparam, insert, select

from app.clock import clock
from app.extensions import db
from app.models.registry import OutboxEvent

#: OSIA Notification event types idbb emits (notification.yaml v1.2.0 event catalogue).
TOPICS = frozenset({"newPerson", "updatePerson", "duplicatePerson"})
#: Credential issuance events (issue 16), for the backend that started the issuance.
ISSUANCE_TOPICS = frozenset(
    {
        "credential.offered",
        "credential.issued",
        "credential.accepted",
        "credential.deleted",
        "credential.failure",
        "credential.denied",
    }
)
#: Credential lifecycle events (issue 17): a status-list entry changed.
LIFECYCLE_TOPICS = frozenset({"credential.suspended", "credential.unsuspended", "credential.revoked"})


_KNOWN = TOPICS | ISSUANCE_TOPICS | LIFECYCLE_TOPICS
_TABLE = OutboxEvent.__table__
#: one Core statement, compiled once: an event is written, never read back in the use case that emits it, and the
#: ORM's unit of work cost more than the INSERT itself on the credential endpoint's hot path
_INSERT = insert(_TABLE)
#: one event under ``event_``-prefixed parameters (:func:`entry`), for statements that write it with other rows
INSERT_ONE = insert(_TABLE).values(
    {name: bindparam(f"event_{name}", type_=_TABLE.c[name].type) for name in ("topic", "payload", "created_at")}
)


def entry(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The row of an event (its topic checked), for :data:`INSERT_ONE` or :func:`emit`."""
    if topic not in _KNOWN:
        raise ValueError(f"unknown topic {topic}")
    return {"topic": topic, "payload": {"source": "idbb", **payload}, "created_at": clock.now()}


def emit(topic: str, payload: dict[str, Any]) -> None:
    """Write the event in the caller's transaction, now (so events keep the order they were emitted in)."""
    db.session.connection().execute(_INSERT, entry(topic, payload))


def pending(limit: int = 100) -> list[OutboxEvent]:
    return list(
        db.session.execute(
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        ).scalars()
    )
