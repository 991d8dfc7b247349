"""Enrollments (OSIA Enrollment v1.3), their buffers, and sealed binary content."""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class Enrollment(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """One enrollment. ``document`` holds the OSIA sections with every embedded image or document
    replaced by ``{"$blob": id}`` (the bytes are sealed in :class:`Blob`)."""

    __tablename__ = "enrollments"

    enrollment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    enrollment_type: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    client_id: Mapped[str] = mapped_column(String(100))
    create_hash: Mapped[str | None] = mapped_column(String(64))
    pin_hash: Mapped[str | None] = mapped_column(String(256))
    identity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    last_transaction_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Blob(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """Biometric or document bytes, sealed with AES-256-GCM under the data key."""

    __tablename__ = "blobs"

    blob_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(160), index=True)
    content_type: Mapped[str | None] = mapped_column(String(128))
    detected_format: Mapped[str | None] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EnrollmentBuffer(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """OSIA buffer: bytes uploaded apart from the enrollment JSON and referenced by URL."""

    __tablename__ = "enrollment_buffers"

    buffer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(String(128), index=True)
    blob_id: Mapped[str] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
