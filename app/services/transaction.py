"""One use case, one transaction: commit when the block ends, roll everything back on any error.

``atomic()`` is the one way a use case writes (``with atomic():``, or ``@atomic()`` on the use case). The
few places that must make something durable before the use case ends call one of the named helpers
below, each saying why; ``tests/contract/test_transactions.py`` keeps ``session.commit``/``rollback`` out
of every other module.

Use cases call one another (the OSIA CMS and the datastore revoke through the lifecycle service inside their own
use case), so ``atomic()`` nests: the outermost block owns the transaction and commits it; an inner block is a
SAVEPOINT of it. An inner block that fails rolls back to its savepoint (and drops the audit events it recorded)
and re-raises; an inner block that succeeds commits nothing by itself: its writes commit, or roll back, with the
outer block. So a use case is all-or-nothing whether it runs alone or inside another.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from app.extensions import db

_DEPTH = "idbb.atomic.depth"
_AUDIT_PENDING = "idbb.audit.pending"  # app.services.audit keeps a transaction's events under this key


@contextmanager
def atomic() -> Iterator[None]:
    """``with atomic(): ...`` commits on leaving the block (also through ``return``), rolls back on error;
    inside another ``atomic()`` it is a savepoint that joins the outer transaction. Also a decorator:
    ``@atomic()`` runs the whole function as one transaction."""
    session = db.session()
    depth = int(session.info.get(_DEPTH, 0))
    if depth:
        yield from _nested(depth)
        return
    session.info[_DEPTH] = 1
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        session.info.pop(_DEPTH, None)


def _nested(depth: int) -> Iterator[None]:
    info = db.session().info
    pending = info.setdefault(_AUDIT_PENDING, [])
    mark = len(pending)
    savepoint = db.session.begin_nested()
    info[_DEPTH] = depth + 1
    try:
        yield
        savepoint.commit()  # RELEASE SAVEPOINT: the writes now belong to the outer transaction
    except Exception:
        savepoint.rollback()
        del info.setdefault(_AUDIT_PENDING, [])[mark:]  # the events of what was undone are undone with it
        raise
    finally:
        info[_DEPTH] = depth


def in_atomic() -> bool:
    """True inside an ``atomic()`` block (a helper that must not commit on its own can check)."""
    return bool(db.session().info.get(_DEPTH, 0))


def keep_before_refusing() -> None:
    """Commit what a refused attempt must leave behind before the refusal is raised or answered: failure
    counters and lockouts (a rolled-back counter would make brute force free), a spent single-use code or
    challenge (RFC 6749 §10.5), and the refusal's audit event. The raise that follows rolls back nothing
    that matters; the caller's transaction goes on (or ends) as usual."""
    db.session.commit()


def count_now() -> None:
    """Commit a rate counter ahead of the attempt it guards: the count stands whatever the attempt does
    next (RFC 6585 §4), so an attempt that fails and rolls back is still counted."""
    db.session.commit()


def end_read() -> None:
    """End a transaction that only read (a rollback: there is nothing to write), before the caller waits,
    answers a page instead of raising, or probes a dependency: a long poll must not hold a snapshot
    (PostgreSQL) or the write lock ``BEGIN IMMEDIATE`` took (SQLite) while it sleeps."""
    db.session.rollback()


def discard() -> None:
    """Roll back the work of an attempt that was given up without an exception (the answer is a page or an
    error body, not a raise), so nothing half-written reaches the next commit."""
    db.session.rollback()
