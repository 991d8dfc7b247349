"""OSIA CMS v1.3 credential requests and the printed ID cards idbb made (issue 17).

A credential request keeps what the back office sent (``requestData``, ``biographicData``: the request is the
record OSIA reads back) and what came of it (status, credential ids, the issuance that made a wallet offer). A
printed card keeps its number, holder, validity and the PDF sealed in ``blobs`` (the PDF shows a photo and names).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class CredentialRequest(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """OSIA ``CredentialRequest``: PENDING until issued, cancelled or failed; ``credentialRequestId`` is the
    client's (CMS 1.3 createCredentialRequest), unique over all clients."""

    __tablename__ = "credential_requests"

    credential_request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str] = mapped_column(String(32), index=True)
    profile_id: Mapped[str] = mapped_column(String(100))
    document: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    credential_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    issuance_id: Mapped[str | None] = mapped_column(String(36))
    failure: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PrintedCard(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A printable ID card: the number printed on it, whose it is, its validity and its sealed PDF."""

    __tablename__ = "printed_cards"

    card_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uin: Mapped[str] = mapped_column(String(32), index=True)
    credential_request_id: Mapped[str | None] = mapped_column(String(128))
    blob_id: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceEvent(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """One GovStack credential-management request (block, unblock, updateIdentity, card download, share) as
    ``GET /events/{eventId}`` and ``/service-history`` report it: a random 16-digit id, no claim values."""

    __tablename__ = "service_events"

    event_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    uin: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(32))
    service_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    info: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
