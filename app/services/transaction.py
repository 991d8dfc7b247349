"""One use case, one transaction: commit when the block ends, roll everything back on any error.

``atomic()`` is the one way a use case writes (``with atomic():``, or ``@atomic()`` on the use case). The
few places that must make something durable before the use case ends call one of the named helpers
below, each saying why; ``tests/contract/test_transactions.py`` keeps ``session.commit``/``rollback`` out
of every other module.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from app.extensions import db


@contextmanager
def atomic() -> Iterator[None]:
    """``with atomic(): ...`` commits on leaving the block (also through ``return``), rolls back on error.
    Also a decorator: ``@atomic()`` runs the whole function as one transaction."""
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


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
