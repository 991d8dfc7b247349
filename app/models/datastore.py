"""The authentic sources' datastore (issue 18, seed 000): identity mappings, documents and what was issued from them.

A document is keyed by (authentic source, scope, document id); its ``document_data`` is personal data, sealed with
the data key (AES-GCM, the key as associated data) like enrollment content, and dropped when the document is
deleted (the row stays, ``revoked_at`` set, so a second delete is told apart from an unknown document). Identity
mappings link an authentic source's person id to the attributes a person is matched on.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class IdentityMapping(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """``authentic_source_person_id`` of one authentic source and the attributes that identify the person."""

    __tablename__ = "identity_mappings"
    __table_args__ = (UniqueConstraint("authentic_source", "person_id", name="uq_identity_mappings_person"),)

    mapping_pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authentic_source: Mapped[str] = mapped_column(String(200), index=True)
    person_id: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DatastoreDocument(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """One document of an authentic source; the claims of the credentials issued from it."""

    __tablename__ = "datastore_documents"
    __table_args__ = (UniqueConstraint("authentic_source", "scope", "document_id", name="uq_datastore_documents_key"),)

    document_pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authentic_source: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(100))
    document_id: Mapped[str] = mapped_column(String(200))
    data_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DocumentIdentity(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A document's ``identity_mapping_ids`` (one row each, so a person's documents are one indexed query)."""

    __tablename__ = "datastore_document_identities"

    document_pk: Mapped[int] = mapped_column(
        ForeignKey("datastore_documents.document_pk", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class DocumentIssuance(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """An issuance started from a document: deleting the document revokes the credentials it issued."""

    __tablename__ = "datastore_document_issuances"

    issuance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    document_pk: Mapped[int] = mapped_column(ForeignKey("datastore_documents.document_pk", ondelete="CASCADE"), index=True)
    document_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
