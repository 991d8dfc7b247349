"""Random index allocation inside a status list (Token Status List §13.3: no correlation by issuance order).

An index is taken by inserting its ``(list, idx)`` row: the primary key refuses a second holder, whichever worker
tries, so concurrent issuance never hands one index out twice. A collision picks another random index; once a list
is three quarters full a new one is opened, so collisions stay rare and every list keeps a large anonymity set
(§13.2 herd privacy).

On PostgreSQL indexes are taken in their own short transaction on a separate connection, committed at once: two
issuances that each hold several uncommitted indexes could otherwise wait on each other's index (a deadlock). A
worker reserves them in blocks (one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``, random indexes, the
block handed out in random order) so a credential request costs no round trip for its index most of the time. The
price is deliberate: an issuance that later rolls back, or a worker that stops with reserved indexes left, leaves
them allocated but referenced by no credential, VALID and never reused, which is the safe direction. On SQLite
writers are serialised by ``BEGIN IMMEDIATE`` anyway, so the index is taken one at a time inside the caller's
transaction (a second connection would wait for it; a reservation rolled back would be handed out again).
"""

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Integer, SmallInteger, bindparam, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
_RESERVED = "status_reserved"
#: Indexes a worker reserves at once on PostgreSQL: at most 256 (a reservation is a checkout, a statement and a COMMIT:
#: about 1.5 ms, 6 µs a credential at 256), and one per 4,096 entries of the list so a small list (tests use 16) is
#: not drained by one worker's reservation and stays a large anonymity set (§13.2); a worker that stops leaves at
#: most this many allocated and unused, of a default list of 1,048,576
MAX_BLOCK = 256
ENTRIES_PER_RESERVED = 4096
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
        row = conn.execute(
            select(_LISTS.c.list_id, _LISTS.c.size).where(_LISTS.c.full.is_(False)).order_by(_LISTS.c.created_at).limit(1)
        ).first()
    if row is not None:
        return str(row[0]), int(row[1]), False
    now = clock.now()
    list_id, size = secrets.token_hex(8), state().settings.status_list_size
    with _step(conn, autonomous):
        conn.execute(insert(_LISTS).values(list_id=list_id, size=size, bits=2, full=False, created_at=now, changed_at=now))
    return list_id, size, True


def _full(conn: Connection, autonomous: bool, list_id: str, size: int) -> bool:
    with _step(conn, autonomous):
        taken = conn.execute(select(func.count()).where(_ENTRIES.c.list_id == list_id)).scalar_one()
        if taken < size * FULL_FRACTION:
            return False
        conn.execute(update(_LISTS).where(_LISTS.c.list_id == list_id).values(full=True))
    state().cache.pop(_CACHE, None)
    return True


@dataclass
class _Reserved:
    """A worker's reserved indexes (list id, index), shared by its threads."""

    lock: threading.Lock
    entries: list[tuple[str, int]]


def _block(size: int) -> int:
    return max(1, min(MAX_BLOCK, size // ENTRIES_PER_RESERVED))


#: The block insert, one shape whatever the block's size: the indexes travel as one array (``unnest``), so SQLAlchemy
#: compiles it once per process (a 64-row ``VALUES`` list was compiled anew at every reservation, a tenth of a
#: credential request's CPU)
_RESERVE_BLOCK = (
    pg_insert(_ENTRIES)
    .from_select(
        ["list_id", "idx", "status"],
        select(
            bindparam("list_id", type_=_ENTRIES.c.list_id.type),
            func.unnest(bindparam("idxs", type_=postgresql.ARRAY(Integer))),
            literal(0, SmallInteger),
        ),
    )
    .on_conflict_do_nothing()
    .returning(_ENTRIES.c.idx)
)


def _reserve(conn: Connection, list_id: str, size: int) -> list[int]:
    """One statement, its own transaction: a block of distinct random indexes (§13.3), those not already taken."""
    wanted: set[int] = set()
    while len(wanted) < _block(size):
        wanted.add(secrets.randbelow(size))  # §13.3: random, not sequential
    with conn.begin():
        rows = conn.execute(_RESERVE_BLOCK, {"list_id": list_id, "idxs": sorted(wanted)}).all()
    taken = [int(r[0]) for r in rows]
    for i in range(len(taken) - 1, 0, -1):  # handed out in random order, not the database's
        j = secrets.randbelow(i + 1)
        taken[i], taken[j] = taken[j], taken[i]
    return taken


def _from_reserve() -> StatusReference:
    reserved = state().cache.setdefault(_RESERVED, _Reserved(threading.Lock(), []))
    assert isinstance(reserved, _Reserved)
    with reserved.lock:
        if reserved.entries:
            list_id, idx = reserved.entries.pop()
            return StatusReference(list_id, idx, list_uri(list_id))
    with db.engine.connect() as conn:
        list_id, size = _open_list(conn, True)
        for _ in range(MAX_TRIES):
            taken, taken_from = _reserve(conn, list_id, size), list_id
            if len(taken) < _block(size) and _full(conn, True, list_id, size):  # a collision: is the list full?
                list_id, size = _open_list(conn, True)
            if taken:
                break
        else:
            raise ServerError("No status list index could be allocated.", detail="status list allocation kept colliding")
    first, rest = taken[0], taken[1:]
    with reserved.lock:
        reserved.entries.extend((taken_from, i) for i in rest)
    return StatusReference(taken_from, first, list_uri(taken_from))


def allocate() -> StatusReference:
    """Take a fresh random index (VALID) in the open list."""
    if db.engine.dialect.name != "sqlite":
        return _from_reserve()
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
    raise ServerError("No status list index could be allocated.", detail="status list allocation kept colliding")
