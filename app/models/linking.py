"""Linked authorization (GovStack §8 "Wallet – QR Code"): link codes and the linked transactions they open."""

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class LinkCode(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A QR link code of a browser transaction (GovStack §8 "Wallet – QR Code"); stored as a hash."""

    __tablename__ = "link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linked_transaction_id: Mapped[str | None] = mapped_column(String(64))


class LinkedTransaction(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """The wallet's side of a linked browser transaction: authentication and consent on the phone,
    then the auth code released to the browser's long poll. ``code_sealed`` keeps the issued code
    (AES-GCM under a KEK-derived key) so a repeated link-auth-code returns the same answer."""

    __tablename__ = "linked_transactions"

    linked_transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    link_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    identity_id: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JsonType, default=list)
    acr: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[int | None] = mapped_column(Integer)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_claims: Mapped[list[str]] = mapped_column(JsonType, default=list)
    permitted_scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    consent_binding_id: Mapped[str | None] = mapped_column(String(64))
    code_sealed: Mapped[str | None] = mapped_column(Text)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grant_id: Mapped[str | None] = mapped_column(String(64))
