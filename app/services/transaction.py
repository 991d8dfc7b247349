"""One use case, one transaction: commit when the block ends, roll everything back on any error."""

from collections.abc import Iterator
from contextlib import contextmanager

from app.extensions import db


@contextmanager
def atomic() -> Iterator[None]:
    """``with atomic(): ...`` commits on leaving the block (also through ``return``), rolls back on error."""
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
