"""Single sign-on sessions (OIDC Core §3.1.2.3: the OP may reuse an authentication it already holds).

The browser holds a random cookie; the database keeps only its SHA-256 and the public ``sid``
that ID tokens carry (OIDC Front-Channel Logout §2), so a leaked table does not log anyone in.
"""

import secrets
from datetime import timedelta

from sqlalchemy import select

from app.clock import clock
from app.extensions import db, state
from app.models.grants import Grant
from app.models.login import LoginSession
from app.models.registry import Identity
from app.services.stored_secrets import digest


def start(identity_id: str, amr: list[str], acr: str, auth_time: int) -> tuple[str, LoginSession]:
    """A new session; returns the cookie value (shown once) and the row."""
    cookie = secrets.token_urlsafe(32)
    now = clock.now()
    row = LoginSession(
        session_id=secrets.token_urlsafe(24),
        cookie_hash=digest(cookie),
        identity_id=identity_id,
        auth_time=auth_time,
        amr=list(amr),
        acr=acr,
        created_at=now,
        expires_at=now + timedelta(seconds=state().settings.session_ttl),
    )
    db.session.add(row)
    return cookie, row


def find(cookie: str | None) -> LoginSession | None:
    """The live session behind a cookie, or None (unknown, ended, expired, or the person deactivated)."""
    if not cookie or len(cookie) > 128:
        return None
    row = db.session.execute(select(LoginSession).where(LoginSession.cookie_hash == digest(cookie))).scalar_one_or_none()
    if row is None:  # looked up by the cookie's digest: timing reveals nothing usable about the cookie
        return None
    if row.ended_at is not None or row.expires_at <= clock.now():
        return None
    identity = db.session.get(Identity, row.identity_id)
    if identity is None or identity.status != "ACTIVE":
        return None
    return row


def by_id(session_id: str) -> LoginSession | None:
    return db.session.get(LoginSession, session_id)


def end(row: LoginSession) -> None:
    """End the session and revoke the grants made in it (RP-initiated logout ends what it started)."""
    now = clock.now()
    row.ended_at = now
    for grant in db.session.execute(
        select(Grant).where(Grant.session_id == row.session_id, Grant.revoked_at.is_(None))
    ).scalars():
        grant.revoked_at = now
