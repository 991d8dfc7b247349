"""Append-only, hash-chained audit trail. Rows are never updated or deleted by idbb."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class AuditEvent(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """The newest link of the chain, MAC'd: removing the newest events, or the whole table's
    content, no longer goes unnoticed (the chain alone cannot show a cut-off tail)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditPending(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Committed events not chained yet (PostgreSQL): a use case inserts here without taking the chain's
    lock, and the sealer moves them into ``audit_events`` in batches (``app/services/audit.py``, its sealer)."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
