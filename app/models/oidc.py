"""The OpenID Provider's state: authorization transactions, grants, refresh tokens, consents, SSO
sessions, one-time codes, login throttles and pushed authorization requests.

Secrets handed to browsers or clients (codes, refresh tokens, session cookies, request URIs) are
stored only as SHA-256 hashes, so a database read does not yield a usable credential.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JsonType, UTCDateTime


class AuthTransaction(db.Model):  # type: ignore[name-defined,misc]
    """One authorization request from ``/authorize`` until its code is issued or it expires."""

    __tablename__ = "auth_transactions"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    csrf: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    identity_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[int | None] = mapped_column(Integer)
    amr: Mapped[list[str]] = mapped_column(JsonType, default=list)
    acr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Grant(db.Model):  # type: ignore[name-defined,misc]
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
    #: OpenID4VCI 1.0 §5.1.3: the issuance an issuer_state tied this grant to
    issuance_id: Mapped[str | None] = mapped_column(String(36))


class RefreshToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(db.Model):  # type: ignore[name-defined,misc]
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


class LoginSession(db.Model):  # type: ignore[name-defined,misc]
    """The single sign-on session behind the browser cookie; ``session_id`` is the public ``sid``."""

    __tablename__ = "login_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cookie_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[str] = mapped_column(String(64), index=True)
    auth_time: Mapped[int] = mapped_column(Integer)
    amr: Mapped[list[str]] = mapped_column(JsonType, default=list)
    acr: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OtpChallenge(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "otp_challenges"

    challenge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    identity_id: Mapped[str] = mapped_column(String(64), index=True)  # the per-person send limit
    code_mac: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):  # type: ignore[name-defined,misc]
    """Failed attempts per person, or per identifier that names nobody (keyed by a MAC of either):
    three wrong secrets block it for a while."""

    __tablename__ = "login_throttles"

    subject_mac: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PushedRequest(db.Model):  # type: ignore[name-defined,misc]
    """RFC 9126 pushed authorization request; the ``request_uri`` is single-use."""

    __tablename__ = "pushed_requests"

    uri_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkCode(db.Model):  # type: ignore[name-defined,misc]
    """A QR link code of a browser transaction (GovStack §8 "Wallet – QR Code"); stored as a hash."""

    __tablename__ = "link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linked_transaction_id: Mapped[str | None] = mapped_column(String(64))


class LinkedTransaction(db.Model):  # type: ignore[name-defined,misc]
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


class WalletBinding(db.Model):  # type: ignore[name-defined,misc]
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
