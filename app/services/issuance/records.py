"""An issuance's state and history (the backend reads them at ``GET /v1/issuance/{id}``), and its sealed claims.

States: ``offer_sent`` → ``offer_received`` (offer fetched or code redeemed) → ``credential_issued`` →
``credential_acked`` / ``credential_accepted`` / ``credential_deleted`` (wallet notifications), or
``issuance_denied``; ``offer_expired`` when the code died (too many wrong tx_codes). Claims are personal data:
sealed with the data key (AES-GCM, the issuance id as associated data) and dropped once issued or expired.
"""

import functools
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.sql.dml import Update

from app.clock import clock
from app.extensions import db
from app.formats import aead
from app.models.issuance import Issuance, IssuedCredential
from app.services import audit, outbox
from app.services.database import rows_insert, rows_params, unflushed
from app.services.stored_secrets import data_key
from app.services.stored_secrets import digest as secret_digest

STATES = (
    "offer_sent",
    "offer_received",
    "credential_issued",
    "credential_acked",
    "credential_accepted",
    "credential_deleted",
    "credential_failure",
    "issuance_denied",
    "offer_expired",
)
#: History entries that record an event without becoming the current state (the push of an offer to a wallet)
NOTES = ("offer_pushed", "offer_push_failed")


def move(row: Issuance, new_state: str, *, once: bool = False, **details: Any) -> None:
    """Append ``new_state`` to the history (``once``: unless it is there already) and make it current."""
    if once and any(step.get("state") == new_state for step in row.history):
        return
    now = clock.now()
    entry: dict[str, Any] = {"state": new_state, "at": now.isoformat(timespec="milliseconds")}
    entry.update({k: v for k, v in details.items() if v is not None})
    row.history = [*row.history, entry]  # a new list: JSON columns track assignment, not mutation
    row.state = new_state
    row.updated_at = now


def new_issuance(
    *,
    client_id: str,
    configuration_ids: list[str],
    subject_uin: str | None,
    grant_type: str,
    state: str,
    now: datetime,
    expires_at: datetime,
    code_hash: Callable[[str, str], str] | None = None,
    mode: str = "InTime",
    correlation_id: str | None = None,
    credential_status: str | None = None,
    offer_scheme: str = "openid-credential-offer://",
) -> Issuance:
    """A new issuance row in ``state`` (not yet added to the session; the caller records the first history entry
    with :func:`move`). ``code_hash(issuance_id, salt)`` gives the digest of the offer's one secret
    (``offers.code_hash_for``); without it no code can redeem the issuance: its code hash is the digest of a random
    value nobody was given, and it is marked used."""
    issuance_id = str(uuid.uuid4())
    salt = secrets.token_urlsafe(24)
    return Issuance(
        issuance_id=issuance_id,
        client_id=client_id,
        correlation_id=correlation_id,
        configuration_ids=configuration_ids,
        subject_uin=subject_uin,
        mode=mode,
        grant_type=grant_type,
        state=state,
        credential_status=credential_status,
        history=[],
        code_salt=salt,
        code_hash=code_hash(issuance_id, salt) if code_hash else secret_digest(secrets.token_urlsafe(32)),
        code_used_at=None if code_hash else now,
        tx_code_failures=0,
        offer_scheme=offer_scheme,
        issued_configurations=[],
        notification_id=secrets.token_urlsafe(16),
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )


def handed_over(
    *,
    credential_id: str,
    client_id: str,
    uin: str,
    configuration_id: str,
    credential_format: str,
    status_list_id: str,
    status_index: int,
    digest: str,
    issued_at: datetime,
    expires_at: datetime,
) -> IssuedCredential:
    """Record a credential idbb handed over without an offer (a printed card): an issuance already in
    ``credential_issued``, which no code can redeem, and its credential with a status-list entry, so the lifecycle
    APIs (suspend, revoke, block, the registry's death and merge rules, search) reach it like a wallet credential
    (issue 17). Runs in the caller's transaction.
    """
    row = new_issuance(
        client_id=client_id,
        configuration_ids=[configuration_id],
        subject_uin=uin,
        grant_type="none",
        state="credential_issued",
        now=issued_at,
        expires_at=expires_at,
    )
    row.issued_configurations = [configuration_id]
    move(row, "credential_issued", credentials=1)
    db.session.add(row)
    credential = IssuedCredential(
        credential_id=credential_id,
        issuance_id=row.issuance_id,
        configuration_id=configuration_id,
        format=credential_format,
        status_list_id=status_list_id,
        status_index=status_index,
        revocation_id=str(uuid.uuid4()),
        holder_jkt="",  # a printed card is bound to its bearer's face, not to a key
        digest=digest,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    db.session.add(credential)
    return credential


def note(row: Issuance, entry: str, **details: Any) -> None:
    """Append ``entry`` (one of :data:`NOTES`) to the history without changing the current state."""
    current = row.state
    move(row, entry, **details)
    row.state = current


def locked(issuance_id: str) -> Issuance:
    row = db.session.execute(select(Issuance).where(Issuance.issuance_id == issuance_id).with_for_update()).scalar_one()
    return row


_ISSUANCES = Issuance.__table__
_CREDENTIALS = IssuedCredential.__table__
#: every column but the key: :func:`store` writes the whole row back, so no change made to a checked-out row is lost
_MUTABLE = tuple(c.name for c in _ISSUANCES.c if not c.primary_key)
#: built once (SQLAlchemy then skips their construction and cache keys): the credential endpoint's statements
_CHECK_OUT = select(_ISSUANCES).where(_ISSUANCES.c.issuance_id == bindparam("key")).with_for_update()
_SAVE = (
    update(_ISSUANCES)
    .where(_ISSUANCES.c.issuance_id == bindparam("key"))
    .values({name: bindparam(name, type_=_ISSUANCES.c[name].type) for name in _MUTABLE})
)
_INSERT_CREDENTIALS = insert(_CREDENTIALS)
_CREDENTIAL_COLUMNS = tuple(c.name for c in _CREDENTIALS.c)


@functools.lru_cache(maxsize=8)
def _write_with(credentials: int, events: int) -> Update:
    """PostgreSQL: the row, its new credentials, its outbox event and the queued audit events in one statement
    (data-modifying CTEs, PostgreSQL §7.8.4), built once per shape (``database.rows_insert``: one or many rows).
    Three statements cost twice the CPU of one (psycopg and SQLAlchemy work per statement, measured here)."""
    issued = rows_insert(_CREDENTIALS, _CREDENTIAL_COLUMNS, "credential", credentials)
    statement = _SAVE.add_cte(issued.cte("issued"), outbox.INSERT_ONE.cte("announced"))
    return statement.add_cte(audit.queue_insert(events).cte("audited")) if events else statement


def checked_out(issuance_id: str) -> Issuance | None:
    """The issuance locked ``FOR UPDATE`` until the transaction ends, as an object outside the session: changes to
    it are written by :func:`store` (one statement), not by the ORM's unit of work.

    For the wallet's credential request, the hottest write path: the ORM's identity map, change tracking and flush
    of one row cost more CPU than the SELECT and the UPDATE themselves. Use :func:`locked` anywhere else."""
    found = db.session.connection().execute(_CHECK_OUT, {"key": issuance_id}).mappings().first()
    return None if found is None else unflushed(Issuance, found)


def store(
    row: Issuance, credentials: Sequence[dict[str, Any]] = (), announcement: tuple[str, dict[str, Any]] | None = None
) -> None:
    """Write what a credential request made: ``credentials`` (``issued_credentials`` rows), the outbox
    ``announcement`` (:func:`announced`) and, for a :func:`checked_out` row, the row itself (every column: it is
    locked, nothing else changed it meanwhile). A row in the session is left to the ORM's flush.

    On PostgreSQL a checked-out row with its credentials and announcement is one statement, which also carries the
    audit events recorded so far (``audit.take_queued``)."""
    conn = db.session.connection()
    checked: bool = inspect(row).transient  # never added to the session: checked_out made it
    params = {"key": row.issuance_id, **{name: getattr(row, name) for name in _MUTABLE}} if checked else {}
    if checked and credentials and announcement is not None and conn.dialect.name == "postgresql":
        rows = rows_params(_CREDENTIAL_COLUMNS, "credential", credentials)
        event = {f"event_{k}": v for k, v in outbox.entry(*announcement).items()}
        count, events = audit.take_queued(db.session())
        shape = _write_with(min(len(credentials), 2), min(count, 2))  # 1 or "more": rows_insert's two shapes
        conn.execute(shape, {**params, **rows, **event, **events})
        return
    if credentials:
        conn.execute(_INSERT_CREDENTIALS, list(credentials))
    if announcement is not None:
        outbox.emit(*announcement)
    if checked:
        conn.execute(_SAVE, params)


def seal_claims(row: Issuance, data: dict[str, Any]) -> None:
    row.claims_sealed = aead.seal(data_key(), json.dumps(data).encode("utf-8"), row.issuance_id.encode("ascii"))


def open_claims(row: Issuance) -> dict[str, Any] | None:
    if row.claims_sealed is None:
        return None
    raw = aead.open_sealed(data_key(), bytes(row.claims_sealed), row.issuance_id.encode("ascii"))
    data = json.loads(raw)
    return data if isinstance(data, dict) else None


def purge_expired(now: datetime | None = None) -> int:
    """Drop the sealed claims of issuances past their expiry (their offers can no longer be redeemed)."""
    moment = now or clock.now()
    result = db.session.execute(
        update(Issuance).where(Issuance.expires_at <= moment, Issuance.claims_sealed.is_not(None)).values(claims_sealed=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def event(row: Issuance, action: str, *, actor: str, outcome: str = "success", **details: Any) -> None:
    """An audit event about an issuance: its id, configurations and state, never a claim value or a code."""
    audit.record(
        f"issuance.{action}",
        actor=actor,
        target=row.issuance_id,
        outcome=outcome,
        details={
            "configurations": list(row.configuration_ids),
            "state": row.state,
            **{k: v for k, v in details.items() if v is not None},
        },
    )


def announced(topic: str, row: Issuance, **payload: Any) -> tuple[str, dict[str, Any]]:
    """An outbox event for the backend (``credential.offered``, ``credential.issued``, ...), not yet written."""
    return topic, {"issuanceId": row.issuance_id, "correlationId": row.correlation_id, "clientId": row.client_id, **payload}


def emit(topic: str, row: Issuance, **payload: Any) -> None:
    """Write :func:`announced` now, in the caller's transaction."""
    outbox.emit(*announced(topic, row, **payload))
