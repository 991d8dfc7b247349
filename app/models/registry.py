"""The identity registry: identities, their identifiers and versions, UINs, duplicate cases, outbox."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime

_BIGINT = BigInteger().with_variant(Integer(), "sqlite")


class Identity(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    __tablename__ = "identities"

    identity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uin: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    version: Mapped[int] = mapped_column(Integer, default=1)
    biographic: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    contacts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    pin_hash: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdentityMatchKey(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Hashes of normalised biographic attribute groups; two identities sharing one may be one person."""

    __tablename__ = "identity_match_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class IdentityIdentifier(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Every identifier an identity answers to (UIN, national id, passport, VID-style aliases)."""

    __tablename__ = "identity_identifiers"
    __table_args__ = (UniqueConstraint("id_type", "value"),)

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(String(36), index=True)
    id_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))


class IdentityVersion(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """One change to an identity: who, when, why, on what evidence, what changed."""

    __tablename__ = "identity_versions"
    __table_args__ = (UniqueConstraint("identity_id", "version"),)

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(512))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    enrollment_id: Mapped[str | None] = mapped_column(String(128))
    transaction_id: Mapped[str | None] = mapped_column(String(128))


class IssuedUin(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Every UIN ever handed out; the primary key makes reuse impossible."""

    __tablename__ = "issued_uins"

    uin: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuplicateCase(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    __tablename__ = "duplicate_cases"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(String(128), index=True)
    candidates: Mapped[list[str]] = mapped_column(JsonType, default=list)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxEvent(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Transactional outbox: written with the change it announces, delivered later."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
