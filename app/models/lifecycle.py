"""Credential lifecycle (issue 17): blocked identities, the credentials a block suspended, renewals, renewal marks
and bulk jobs.

The status of a credential itself lives in ``status_entries`` (its Token Status List entry); these tables hold
what the lifecycle needs beside it. None of them holds a claim value: a UIN, ids, a reason the operator gave.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class IdentityBlock(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A blocked identity (GovStack credential management ``/block``): no new credential while the row exists."""

    __tablename__ = "identity_blocks"

    uin: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BlockedCredential(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A credential a block suspended: ``unblock`` unsuspends these and no other (a credential suspended for
    another reason stays suspended)."""

    __tablename__ = "identity_block_credentials"

    credential_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uin: Mapped[str] = mapped_column(String(32), index=True)


class CredentialRenewal(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A renewal: the new issuance made from an old credential, and what happens to the old one."""

    __tablename__ = "credential_renewals"

    issuance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    old_credential_id: Mapped[str] = mapped_column(String(36), index=True)
    policy: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RenewalMark(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A credential whose claims changed in the registry after it was issued: due for renewal."""

    __tablename__ = "credential_renewal_marks"

    credential_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LifecycleJob(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A bulk status change too large to answer at once: stored so that any worker can run and report it."""

    __tablename__ = "lifecycle_jobs"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(16))
    selection: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    count: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
