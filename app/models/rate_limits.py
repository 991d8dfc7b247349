"""Event counters of the SQL rate-limit store (:mod:`app.stores.rate_limits`): one row per counted key."""

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class RateCounter(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Events counted under ``key`` (a MAC: no address or identifier is stored) in the fixed window that ends
    at ``window_end`` (epoch seconds); an event in a later window starts the count again."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_end: Mapped[int] = mapped_column(Integer, index=True)
    count: Mapped[int] = mapped_column(Integer)
