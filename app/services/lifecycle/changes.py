"""Changing status-list entries: suspend, unsuspend, revoke — for a few named credentials or a whole selection.

One call is one transaction (``atomic()``, a savepoint when the caller is already in one): every entry changes,
with its outbox event (one per credential, ``credential.suspended|unsuspended|revoked``) and its audit event (one
per credential, or one per bulk call saying who, which selection and how many), or none does. A named change locks
its entries (``SELECT … FOR UPDATE`` on PostgreSQL, ordered by list and index so two calls never wait on each other
in a cycle; SQLite serialises writers with ``BEGIN IMMEDIATE``), so a concurrent change is re-read, never
overwritten. A bulk change on PostgreSQL is one ``UPDATE … RETURNING`` whose outbox events are inserted by the same
statement; on SQLite the entries are written by set-based ``UPDATE … WHERE idx IN (…)`` per list and the events by
one multi-row INSERT. Each list touched is then marked changed (in list-id order) for re-publication.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Text, cast, func, insert, literal, literal_column, select, update

from app.clock import clock
from app.extensions import db
from app.models.registry import OutboxEvent
from app.models.types import UTCDateTime
from app.services import audit, outbox
from app.services.lifecycle.selection import C, CredentialView, E, Iss, Selection, query, view_of
from app.services.lifecycle.states import (
    CONFLICTS,
    LABELS,
    SOURCES,
    TARGET,
    TOPICS,
    CredentialNotFound,
    conflict_of,
)
from app.services.status import publication
from app.services.transaction import atomic


class Changed(NamedTuple):
    """One entry a bulk change moved (what its events name): no full view, 100,000 of these are cheap."""

    credential_id: str
    revocation_id: str
    issuance_id: str
    status_list_id: str
    configuration_id: str = ""  # SQLite only: PostgreSQL writes the events without handing it back


CHUNK = 5000  # indexes per UPDATE statement (well under SQLite's 32,766 parameters)
REASON_MAX = 500


def _reason(reason: str | None) -> str | None:
    return None if reason is None else str(reason)[:REASON_MAX]


def _locked(selection: Selection) -> list[Any]:
    statement = query(*selection.conditions()).order_by(E.list_id, E.idx)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(of=E)  # a concurrent change waits, then sees the new value
    return list(db.session.execute(statement).all())


def _payload(changed: Any, action: str, reason: str | None) -> Any:
    """The outbox payload of one changed credential, built by PostgreSQL (the same keys as :func:`_announce`
    writes for a single change); the keys are constants, the values columns or typed parameters."""
    key = literal_column
    return func.jsonb_build_object(
        key("'source'"),
        cast(literal("idbb"), Text),
        key("'credentialId'"),
        changed.c.credential_id,
        key("'revocationId'"),
        changed.c.revocation_id,
        key("'issuanceId'"),
        changed.c.issuance_id,
        key("'configurationId'"),
        changed.c.configuration_id,
        key("'status'"),
        cast(literal(LABELS[TARGET[action]]), Text),
        key("'reason'"),
        cast(literal(reason), Text),
    )


def _update_returning(action: str, selection: Selection, reason: str | None) -> list[Any]:
    """PostgreSQL: one statement for a whole selection: ``UPDATE … FROM … RETURNING`` the entries, and, in a
    data-modifying CTE of the same statement, one outbox event per changed credential (``INSERT … SELECT``, the
    payloads built by the database: 100,000 events never pass through Python). Each entry is locked as it is
    updated and re-checked after any wait (READ COMMITTED re-evaluates ``status IN (…)`` on the new row version),
    so a concurrent change is never overwritten and its credential gets no second event."""
    changed = (
        update(E)
        .where(
            E.list_id == C.status_list_id,
            E.idx == C.status_index,
            Iss.issuance_id == C.issuance_id,
            E.status.in_(SOURCES[action]),
            *selection.conditions(),
        )
        .values(status=TARGET[action])
        .returning(C.credential_id, C.revocation_id, C.issuance_id, C.status_list_id, C.configuration_id)
        .cte("changed")
    )
    events = (
        insert(OutboxEvent.__table__)
        .from_select(
            ["topic", "payload", "created_at"],
            select(
                cast(literal(TOPICS[action]), Text), _payload(changed, action, reason), literal(clock.now(), UTCDateTime)
            ),
        )
        .cte("events")
    )
    statement = select(
        changed.c.credential_id, changed.c.revocation_id, changed.c.issuance_id, changed.c.status_list_id
    ).add_cte(events)
    return list(db.session.execute(statement, execution_options={"synchronize_session": False}).all())


def _write(action: str, rows: Iterable[Any]) -> None:
    by_list: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_list[row[9]].append(int(row[10]))
    new = TARGET[action]
    for list_id in sorted(by_list):  # list-id order: two changes never lock lists in opposite orders
        indexes = by_list[list_id]
        for start in range(0, len(indexes), CHUNK):
            db.session.execute(
                update(E).where(E.list_id == list_id, E.idx.in_(indexes[start : start + CHUNK])).values(status=new)
            )
        publication.mark_changed(list_id)


def _event(view: CredentialView | Changed, status: str, reason: str | None) -> dict[str, Any]:
    """The outbox payload of one changed credential (ids, its new status, the reason; never a claim value).
    :func:`_payload` builds the same keys in SQL for a bulk change on PostgreSQL."""
    return {
        "credentialId": view.credential_id,
        "revocationId": view.revocation_id,
        "issuanceId": view.issuance_id,
        "configurationId": view.configuration_id,
        "status": status,
        "reason": reason,
    }


def _announce(
    action: str,
    views: Sequence[CredentialView] | Sequence[Changed],
    *,
    reason: str | None,
    actor: str,
    bulk: dict[str, Any] | None,
    events_written: bool = False,
) -> None:
    """Audit (no claim values: ids, the action, the reason given) and one outbox event per changed credential;
    a bulk change has one audit event (who, which selection, how many) and ``events_written`` when its outbox
    events were written by the changing statement itself (PostgreSQL)."""
    topic = TOPICS[action]
    if bulk is None:
        for view in views:
            assert isinstance(view, CredentialView)
            audit.record(
                f"credential.{action}",
                actor=actor,
                target=view.credential_id,
                details={"issuance": view.issuance_id, "configuration": view.configuration_id, "reason": reason},
            )
            outbox.emit(topic, _event(view, view.status_label, reason))
        return
    audit.record(
        f"credential.bulk_{action}",
        actor=actor,
        target=None,
        details={"count": len(views), "selection": bulk, "reason": reason},
    )
    if not events_written and views:  # one event per credential, one multi-row INSERT (executemany)
        now, status = clock.now(), LABELS[TARGET[action]]
        db.session.execute(
            insert(OutboxEvent.__table__),
            [
                {
                    "topic": topic,
                    "created_at": now,
                    "payload": {"source": "idbb", **_event(v, status, reason)},  # outbox.emit's "source"
                }
                for v in views
            ],
        )


def change(
    action: str, credential_ids: Sequence[str], *, reason: str | None, actor: str, by_revocation_id: bool = False
) -> list[CredentialView]:
    """Change every named credential or none: an unknown id is :class:`CredentialNotFound`, a status that does not
    allow the change :class:`StatusConflict` (revoked is final)."""
    ids = list(dict.fromkeys(str(i) for i in credential_ids))
    if not ids:
        return []
    reason = _reason(reason)
    with atomic():
        key = "revocation_ids" if by_revocation_id else "credential_ids"
        rows = _locked(Selection(**{key: tuple(ids)}))  # type: ignore[arg-type]  # key names a tuple-valued Selection field
        if len(rows) != len(ids):
            raise CredentialNotFound()
        for row in rows:
            refused = conflict_of(action, int(row[6]))
            if refused is not None:
                raise CONFLICTS[refused](credential_id=row[0])
        _write(action, rows)
        views = [view_of(row, TARGET[action]) for row in rows]
        _announce(action, views, reason=reason, actor=actor, bulk=None)
    order = {v.revocation_id if by_revocation_id else v.credential_id: v for v in views}
    return [order[i] for i in ids]


def change_selection(
    action: str, selection: Selection, *, reason: str | None, actor: str, summary: dict[str, Any] | None = None
) -> list[Changed]:
    """A bulk change: every selected credential whose status allows ``action`` changes (the others are left as
    they are: revoking "all of a person's credentials" skips those revoked already), in one transaction, with one
    audit event carrying the count."""
    if selection.empty():
        raise ValueError("a bulk change needs a selection")
    reason = _reason(reason)
    with atomic():
        postgresql = db.engine.dialect.name == "postgresql"
        if postgresql:
            changed = [Changed(*row) for row in _update_returning(action, selection, reason)]
            for list_id in sorted({c.status_list_id for c in changed}):  # list-id order, as _write
                publication.mark_changed(list_id)
        else:
            rows = [row for row in _locked(selection) if int(row[6]) in SOURCES[action]]
            _write(action, rows)
            changed = [Changed(row[0], row[1], row[2], row[9], row[3]) for row in rows]
        _announce(
            action,
            changed,
            reason=reason,
            actor=actor,
            bulk=summary or {"kind": "selection"},
            events_written=postgresql,
        )
    return changed


def suspend(credential_ids: Sequence[str], *, reason: str | None, actor: str) -> list[CredentialView]:
    """VALID → SUSPENDED (Token Status List §7.1 0x02: "temporarily invalid")."""
    return change("suspend", credential_ids, reason=reason, actor=actor)


def unsuspend(credential_ids: Sequence[str], *, reason: str | None, actor: str) -> list[CredentialView]:
    """SUSPENDED → VALID."""
    return change("unsuspend", credential_ids, reason=reason, actor=actor)


def revoke(credential_ids: Sequence[str], *, reason: str | None, actor: str) -> list[CredentialView]:
    """VALID/SUSPENDED → INVALID, final (§7.1 0x01)."""
    return change("revoke", credential_ids, reason=reason, actor=actor)
