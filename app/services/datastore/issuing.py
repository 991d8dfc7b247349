"""Credentials from documents: the subject ``{authentic_source, scope, document_id}`` of ``POST /v1/issuance``
(issue 18), the offers' claims kept in step with the document, and revocation when the document is deleted.

The claims of an issuance started from a document are the document's ``document_data`` (as the backend's explicit
claims); the holder is whoever redeems the pre-authorized offer, with the tx_code sent to the mapped person's
contact. Replacing the document re-seals the claims of offers not collected yet (the next collection carries the
new data); deleting it expires those offers and revokes, through the lifecycle service and its Token Status
Lists, every credential issued from it (seed 000 "Revocation").
"""

from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models.datastore import DatastoreDocument, DocumentIssuance
from app.models.issuance import Issuance
from app.services.issuance import records

REVOKED = 1  # Token Status List draft 20 §7.1: 0x01 INVALID


def link(document: DatastoreDocument, issuance_id: str) -> None:
    db.session.add(
        DocumentIssuance(
            issuance_id=issuance_id,
            document_pk=document.document_pk,
            document_version=document.version,
            created_at=clock.now(),
        )
    )


def _issuances(document: DatastoreDocument) -> list[Issuance]:
    return list(
        db.session.execute(
            select(Issuance)
            .join(DocumentIssuance, DocumentIssuance.issuance_id == Issuance.issuance_id)
            .where(DocumentIssuance.document_pk == document.document_pk)
            .with_for_update(of=Issuance)
        ).scalars()
    )


def refresh_pending(document: DatastoreDocument, data: dict[str, Any]) -> int:
    """Re-seal the claims of the document's offers not collected yet with ``data``; how many."""
    count = 0
    for row in _issuances(document):
        if row.claims_sealed is not None:
            records.seal_claims(row, {"attributes": {}, "explicit": data})
            count += 1
    return count


def revoke_document(document: DatastoreDocument, *, actor: str) -> int:
    """Expire the document's open offers and revoke every credential issued from it; how many were revoked."""
    issuances = _issuances(document)
    if not issuances:
        return 0
    from app.services import lifecycle

    ids: list[str] = []
    for row in issuances:
        if row.claims_sealed is not None or row.state in ("offer_sent", "offer_received"):
            row.claims_sealed = None
            records.move(row, "offer_expired", reason="document deleted")
            records.event(row, "offer_withdrawn", actor=actor)
        ids.extend(
            view.credential_id for view in lifecycle.find_credentials(issuance_id=row.issuance_id) if view.status != REVOKED
        )
    if ids:
        lifecycle.revoke(ids, reason="document deleted", actor=actor)
    return len(ids)
