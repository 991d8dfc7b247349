"""Stored consent per person and relying party (OIDC Core §3.1.2.4, GovStack §6 consent).

A consent covers exactly what was asked: the hash of the requested claims (with their essential
flags), the scopes and the ACRs. A different request, an expired consent or ``prompt=consent``
asks the person again.
"""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from app.clock import clock
from app.extensions import db, state
from app.formats.canonical import canonical_json
from app.models.grants import Consent
from app.services.oidc.authorize_request import AuthRequest


def request_hash(request: AuthRequest) -> str:
    material: dict[str, object] = {
        "claims": request.claims,
        "scopes": sorted(request.scope),
        "acr": sorted(request.acr_values),
    }
    if request.authorization_details:  # OpenID4VCI 1.0 §5.1.1: the credentials asked for are part of the request
        material["authorization_details"] = sorted(request.authorization_details)
    if request.authorization_claims:  # §5.1.1 claims: asking for other claims is another request
        material["authorization_claims"] = request.authorization_claims
    return hashlib.sha256(canonical_json(material)).hexdigest()


def needs_asking(request: AuthRequest) -> bool:
    """Nothing to share beyond ``openid`` needs no consent (eSignet: NOCAPTURE)."""
    return bool(request.claims) or bool(request.extra_scopes())


def current(identity_id: str, request: AuthRequest) -> Consent | None:
    """A stored, unexpired consent for exactly this request, or None."""
    row = db.session.execute(
        select(Consent).where(Consent.identity_id == identity_id, Consent.client_id == request.client_id)
    ).scalar_one_or_none()
    if row is None or row.expires_at <= clock.now() or row.request_hash != request_hash(request):
        return None
    return row


def save(identity_id: str, request: AuthRequest, accepted: list[str], scopes: list[str], ttl: int | None) -> Consent:
    """Record (or replace) the person's consent; the newest one wins."""
    now = clock.now()
    lifetime = ttl or state().settings.consent_ttl
    row = db.session.execute(
        select(Consent).where(Consent.identity_id == identity_id, Consent.client_id == request.client_id)
    ).scalar_one_or_none()
    if row is None:
        row = Consent(
            consent_id=secrets.token_urlsafe(18), identity_id=identity_id, client_id=request.client_id, created_at=now
        )
        db.session.add(row)
    row.request_hash = request_hash(request)
    row.accepted_claims = sorted(accepted)
    row.scopes = sorted(scopes)
    row.created_at = now
    row.expires_at = now + timedelta(seconds=lifetime)
    return row
