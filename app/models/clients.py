"""Registered clients: relying parties (``kind='oidc'``) and back-office API clients (``kind='api'``).

One table, one ``client_id`` namespace: the token endpoint looks clients up by id alone.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class Client(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="active")
    rp_id: Mapped[str | None] = mapped_column(String(100))
    logo_uri: Mapped[str | None] = mapped_column(Text)
    redirect_uris: Mapped[list[str]] = mapped_column(JsonType, default=list)
    acr_values: Mapped[list[str]] = mapped_column(JsonType, default=list)
    claims: Mapped[list[str]] = mapped_column(JsonType, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JsonType, default=list)
    auth_methods: Mapped[list[str]] = mapped_column(JsonType, default=list)
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    public_jwk: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    public_key_thumbprint: Mapped[str | None] = mapped_column(String(64), index=True)
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    create_request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
