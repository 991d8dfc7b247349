"""Grants and what they issue: the grant born with its authorization code, refresh tokens, and stored consent
(RFC 6749 §4.1, §6; OIDC Core §3.1.2.4).

Codes and refresh tokens are stored only as SHA-256 hashes.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class Grant(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """What a person granted a relying party: born with an authorization code, lives on in the tokens
    issued from it (refresh tokens form one family). Revoking the grant revokes all of them."""

    __tablename__ = "grants"

    grant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    identity_id: Mapped[str] = mapped_column(String(64), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[list[str]] = mapped_column(JsonType, default=list)
    claims: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    claims_locales: Mapped[list[str]] = mapped_column(JsonType, default=list)
    nonce: Mapped[str | None] = mapped_column(Text)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JsonType, default=list)
    auth_time: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: OpenID4VCI 1.0 §5.1.1 / §6.2: credential configurations granted by authorization_details (or issuer_state)
    authorization_details: Mapped[list[str] | None] = mapped_column(JsonType)
    #: OpenID4VCI 1.0 §5.1.1 ``claims``: per granted configuration, the claims description objects asked for
    authorization_claims: Mapped[dict[str, list[dict[str, Any]]] | None] = mapped_column(JsonType)
    #: OpenID4VCI 1.0 §5.1.3: the issuance an issuer_state tied this grant to
    issuance_id: Mapped[str | None] = mapped_column(String(36))


class RefreshToken(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A person's standing consent for one relying party (OIDC Core §3.1.2.4)."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("identity_id", "client_id"),)

    consent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    accepted_claims: Mapped[list[str]] = mapped_column(JsonType, default=list)
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
