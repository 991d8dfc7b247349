"""Rate-limit counters: "how many times has this happened in the current window?".

RFC 6585 §4 (429 Too Many Requests) leaves the counting to the server. idbb counts in fixed windows
aligned on the epoch (``window_end`` = the next multiple of the window length), so every worker and every
store agrees on when a window ends, and ``Retry-After`` (RFC 9110 §10.2.3) is the time left in it. A burst
at a window's edge may reach twice the limit; that is the price of one counter per key.

The SQL store works for one or many workers on one database (one upsert, atomic under concurrency); the
Redis store (``INCR`` + ``EXPIRE`` in one MULTI) is the shared choice when ``IDBB_REDIS_URL`` is set. Keys
are MACs made by the caller: neither store holds an address or an identifier.
"""

import random
from datetime import datetime
from typing import Protocol

from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models.rate_limits import RateCounter

#: One hit in this many also deletes the SQL counters of windows that are over.
PURGE_ONE_IN = 200


def window_end(now: datetime, window_seconds: int) -> int:
    """The epoch second at which the fixed window holding ``now`` ends."""
    return (int(now.timestamp()) // window_seconds + 1) * window_seconds


class RateCounters(Protocol):
    def hit(self, key: str, window_seconds: int, now: datetime) -> tuple[int, int]:
        """Count one event under ``key``; returns (events counted in the current window, this one included,
        seconds until that window ends). The count is kept whatever the caller's transaction does next
        only once the caller commits (SQL) — callers commit at once."""
        ...


class SqlRateCounters:
    """One row per key; ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` counts atomically on PostgreSQL and
    SQLite alike (a new window starts the row's count again)."""

    def hit(self, key: str, window_seconds: int, now: datetime) -> tuple[int, int]:
        end = window_end(now, window_seconds)
        insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(RateCounter).values(key=key, window_end=end, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[RateCounter.key],
            set_={  # type: ignore[assignment]  # on_conflict_do_update keeps the dialect Insert at runtime; stubs widen it
                "count": case((RateCounter.window_end == end, RateCounter.count + 1), else_=1),
                "window_end": end,
            },
        ).returning(RateCounter.count)
        count = int(db.session.execute(statement).scalar_one())
        if random.randrange(PURGE_ONE_IN) == 0:  # not a secret: only spreads the purge over the hits
            db.session.execute(delete(RateCounter).where(RateCounter.window_end <= int(now.timestamp())))
        return count, max(end - int(now.timestamp()), 1)


class RedisRateCounters:
    """``INCR`` of a key per window, with an expiry at the window's end, in one MULTI/EXEC."""

    def __init__(self, client: "object", prefix: str = "idbb:rate:") -> None:
        self._redis = client
        self._prefix = prefix

    def hit(self, key: str, window_seconds: int, now: datetime) -> tuple[int, int]:
        end = window_end(now, window_seconds)
        left = max(end - int(now.timestamp()), 1)
        name = f"{self._prefix}{key}:{end}"
        pipe = self._redis.pipeline(transaction=True)  # type: ignore[attr-defined]  # the client is typed as object: redis is an optional dependency
        pipe.incr(name)
        pipe.expire(name, left + 1)
        count, _ = pipe.execute()
        return int(count), left
