"""idbb's own signing keys. The private part is sealed (AES-256-GCM under the KEK), never plain."""

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class SigningKey(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """One key pair. Lifecycle: published at ``created_at``, signs from ``not_before`` until
    ``retired_at``, stays published until ``publish_until`` so what it signed still verifies."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    kty: Mapped[str] = mapped_column(String(8))
    crv: Mapped[str | None] = mapped_column(String(16))
    alg: Mapped[str] = mapped_column(String(16))
    use: Mapped[str] = mapped_column(String(8), default="sig", server_default="sig")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JsonType)
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
