"""Wallet key bindings (GovStack ``/wallet-binding``): a person's wallet key certified by idbb."""

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class WalletBinding(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """A wallet's public key bound to a person for one auth factor (GovStack ``/wallet-binding``),
    certified by idbb's binding CA. Unique per (person, key, factor): a second bind is ``duplicate_public_key``."""

    __tablename__ = "wallet_bindings"
    __table_args__ = (UniqueConstraint("identity_id", "key_thumbprint", "auth_factor"),)

    binding_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity_id: Mapped[str] = mapped_column(String(64), index=True)
    auth_factor: Mapped[str] = mapped_column(String(16))
    key_thumbprint: Mapped[str] = mapped_column(String(64), index=True)
    public_key: Mapped[dict[str, Any]] = mapped_column(JsonType)
    certificate: Mapped[str] = mapped_column(Text)
    cert_thumbprint: Mapped[str] = mapped_column(String(64), unique=True)
    wallet_user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
