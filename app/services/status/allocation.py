"""Random index allocation inside a status list (Token Status List §13.3: no correlation by issuance order).

An index is taken by inserting its ``(list, idx)`` row under a savepoint: the primary key refuses a second
holder, whichever worker or database session tries, so concurrent issuance never hands one index out twice.
A collision picks another random index; once a list is three quarters full a new one is opened, so collisions
stay rare and every list keeps a large anonymity set (§13.2 herd privacy).
"""

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import IdbbError
from app.extensions import db, state
from app.models.status import StatusEntry, StatusList

MAX_TRIES = 32
FULL_FRACTION = 0.75


@dataclass(frozen=True)
class StatusReference:
    list_id: str
    idx: int
    uri: str


def list_uri(list_id: str) -> str:
    return f"{state().settings.issuer}/statuslists/{list_id}"


def _open_list() -> StatusList:
    row = db.session.execute(
        select(StatusList).where(StatusList.full.is_(False)).order_by(StatusList.created_at).limit(1)
    ).scalar_one_or_none()
    if row is not None:
        return row
    now = clock.now()
    row = StatusList(list_id=secrets.token_hex(8), size=state().settings.status_list_size, bits=2, full=False,
                     created_at=now, changed_at=now)
    with db.session.begin_nested():
        db.session.add(row)
    return row


def _mark_full_if_needed(row: StatusList) -> bool:
    taken = db.session.execute(select(func.count()).where(StatusEntry.list_id == row.list_id)).scalar_one()
    if taken >= row.size * FULL_FRACTION:
        db.session.execute(update(StatusList).where(StatusList.list_id == row.list_id).values(full=True))
        return True
    return False


def allocate() -> StatusReference:
    """Take a fresh random index (VALID) in the open list, in the caller's transaction."""
    row = _open_list()
    for _ in range(MAX_TRIES):
        idx = secrets.randbelow(row.size)  # §13.3: random, not sequential
        try:
            with db.session.begin_nested():
                db.session.add(StatusEntry(list_id=row.list_id, idx=idx, status=0))
        except IntegrityError:
            if _mark_full_if_needed(row):
                row = _open_list()
            continue
        return StatusReference(row.list_id, idx, list_uri(row.list_id))
    raise IdbbError("server_error", "No status list index could be allocated.", status=500,
                    detail="status list allocation kept colliding")
