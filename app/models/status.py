"""Token Status Lists (draft-ietf-oauth-status-list-20): the lists idbb publishes and the entries handed out.

An entry row exists for every index allocated, so the primary key (list, index) makes handing one index out
twice impossible even under concurrent issuance; the signed tokens are cached on the list row so every worker
serves the same bytes until they are re-signed.
"""

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


class StatusList(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    __tablename__ = "status_lists"

    list_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(SmallInteger, default=2)
    full: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    jwt_token: Mapped[str | None] = mapped_column(Text)
    cwt_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: changes counted (issue 17): ``version`` grows with every change, ``signed_version`` is what the tokens cover
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    signed_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatusEntry(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy's db.Model is a dynamic base
    """One allocated index; ``status`` is the Status Type (§7.1: 0 VALID, 1 INVALID, 2 SUSPENDED)."""

    __tablename__ = "status_entries"

    list_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
