"""Random index allocation inside a status list (Token Status List §13.3: no correlation by issuance order).

An index is taken by inserting its ``(list, idx)`` row: the primary key refuses a second holder, whichever worker
tries, so concurrent issuance never hands one index out twice. A collision picks another random index; once a list
is three quarters full a new one is opened, so collisions stay rare and every list keeps a large anonymity set
(§13.2 herd privacy).

On PostgreSQL each index is taken in its own short transaction on a separate connection, committed at once: two
issuances that each hold several uncommitted indexes could otherwise wait on each other's index (a deadlock). The
price is deliberate: an issuance that later rolls back leaves its index allocated but referenced by no credential,
VALID and never reused, which is the safe direction. On SQLite writers are serialised by ``BEGIN IMMEDIATE``
anyway, so the index is taken inside the caller's transaction (a second connection would wait for it).
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import ServerError
from app.extensions import db, state
from app.models.status import StatusEntry, StatusList

MAX_TRIES = 32
FULL_FRACTION = 0.75
OPEN_LIST_CACHE_SECONDS = 5.0
_CACHE = "status_open_list"
_LISTS, _ENTRIES = StatusList.__table__, StatusEntry.__table__


@dataclass(frozen=True)
class StatusReference:
    list_id: str
    idx: int
    uri: str


def list_uri(list_id: str) -> str:
    return f"{state().settings.issuer}/statuslists/{list_id}"


@contextmanager
def _connection() -> Iterator[tuple[Connection, bool]]:
    """(connection, autonomous): its own on PostgreSQL, the session's on SQLite."""
    if db.engine.dialect.name == "sqlite":
        yield db.session.connection(), False
        return
    with db.engine.connect() as conn:
        yield conn, True


@contextmanager
def _step(conn: Connection, autonomous: bool) -> Iterator[None]:
    """A unit that either commits on its own (PostgreSQL) or is a savepoint of the caller's transaction."""
    with conn.begin() if autonomous else conn.begin_nested():
        yield


def _open_list(conn: Connection, autonomous: bool) -> tuple[str, int]:
    cached = state().cache.get(_CACHE)
    if isinstance(cached, tuple) and clock.timestamp() < cached[2]:
        return cached[0], cached[1]  # the open list, per process for a few seconds: one query less per credential
    list_id, size, created = _query_open_list(conn, autonomous)
    if autonomous or not created:  # never cache a list the caller's transaction may still roll back
        state().cache[_CACHE] = (list_id, size, clock.timestamp() + OPEN_LIST_CACHE_SECONDS)
    return list_id, size


def _query_open_list(conn: Connection, autonomous: bool) -> tuple[str, int, bool]:
    with _step(conn, autonomous):
        row = conn.execute(select(_LISTS.c.list_id, _LISTS.c.size).where(_LISTS.c.full.is_(False)).order_by(
            _LISTS.c.created_at).limit(1)).first()
    if row is not None:
        return str(row[0]), int(row[1]), False
    now = clock.now()
    list_id, size = secrets.token_hex(8), state().settings.status_list_size
    with _step(conn, autonomous):
        conn.execute(insert(_LISTS).values(list_id=list_id, size=size, bits=2, full=False, created_at=now,
                                           changed_at=now))
    return list_id, size, True


def _full(conn: Connection, autonomous: bool, list_id: str, size: int) -> bool:
    with _step(conn, autonomous):
        taken = conn.execute(select(func.count()).where(_ENTRIES.c.list_id == list_id)).scalar_one()
        if taken < size * FULL_FRACTION:
            return False
        conn.execute(update(_LISTS).where(_LISTS.c.list_id == list_id).values(full=True))
    state().cache.pop(_CACHE, None)
    return True


def allocate() -> StatusReference:
    """Take a fresh random index (VALID) in the open list."""
    with _connection() as (conn, autonomous):
        list_id, size = _open_list(conn, autonomous)
        for _ in range(MAX_TRIES):
            idx = secrets.randbelow(size)  # §13.3: random, not sequential
            try:
                with _step(conn, autonomous):
                    conn.execute(insert(_ENTRIES).values(list_id=list_id, idx=idx, status=0))
            except IntegrityError:
                if _full(conn, autonomous, list_id, size):
                    list_id, size = _open_list(conn, autonomous)
                continue
            return StatusReference(list_id, idx, list_uri(list_id))
    raise ServerError("No status list index could be allocated.",
                    detail="status list allocation kept colliding")
