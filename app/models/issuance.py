"""Credential issuance (OpenID4VCI 1.0): one row per issuance the backend starts, one per credential issued,
and idbb's own mdoc PKI (the IACA root and its document signers).

Nothing here holds a usable secret or a credential: the pre-authorized code, the tx_code and the deferred
``transaction_id`` are stored as digests; claims waiting for collection are sealed with the data key and deleted
once issued or expired; of an issued credential idbb keeps its configuration, status reference, validity and a
digest, never the credential itself.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class Issuance(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """An issuance from ``POST /v1/issuance`` through the offer, the token and the credential(s)."""

    __tablename__ = "issuances"

    issuance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    configuration_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    subject_uin: Mapped[str | None] = mapped_column(String(32), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="InTime")
    grant_type: Mapped[str] = mapped_column(String(32), default="pre-authorized_code")
    state: Mapped[str] = mapped_column(String(32), index=True)
    credential_status: Mapped[str | None] = mapped_column(String(16))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    claims_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    code_salt: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    tx_code_length: Mapped[int | None] = mapped_column(Integer)
    tx_code_input_mode: Mapped[str | None] = mapped_column(String(16))
    tx_code_failures: Mapped[int] = mapped_column(Integer, default=0)
    offer_scheme: Mapped[str] = mapped_column(String(64), default="openid-credential-offer://")
    issued_configurations: Mapped[list[str]] = mapped_column(JsonType, default=list)
    transaction_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pending_request: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    denied_reason: Mapped[str | None] = mapped_column(Text)
    notification_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IssuedCredential(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """What idbb keeps of one credential it signed: enough to manage it (status, expiry), not the credential."""

    __tablename__ = "issued_credentials"

    credential_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    issuance_id: Mapped[str] = mapped_column(String(36), index=True)
    configuration_id: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(16))
    status_list_id: Mapped[str] = mapped_column(String(32))
    status_index: Mapped[int] = mapped_column(Integer)
    revocation_id: Mapped[str] = mapped_column(String(36), unique=True)
    holder_jkt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MdocAuthority(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """The IACA root idbb creates (``kind`` iaca) and the document signers it certifies (``kind`` ds);
    private keys sealed with the KEK like the signing keys."""

    __tablename__ = "mdoc_authorities"

    authority_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
