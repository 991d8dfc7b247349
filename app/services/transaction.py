"""One use case, one transaction: commit when the block ends, roll everything back on any error.

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
    inside another ``atomic()`` it is a savepoint that joins the outer transaction."""
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
