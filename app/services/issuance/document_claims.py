"""Claims from an authentic source's document for a person who logs in (issue 18, seed 000 "Identity Mapping").

A configuration with ``authentic_sources`` (the shipped ``diploma``) is document-backed: when a wallet collects it
through the authorization code flow (a person-free offer of ``GET /offers/{scope}/{wallet_id}``, or a plain
wallet-initiated request with the configuration's scope), the person's registry attributes are matched against the
identity mappings of those sources, and the credential carries the matching person's document's
``document_data``. Registry → mapping attributes: ``lastName`` → ``family_name``, ``firstName`` → ``given_name``,
``dateOfBirth`` → ``birth_date``; every one the registry holds must equal the mapping's (seed 000 "Identity
Matching": all provided attributes must match exactly). Several documents: the most recently updated one (a
re-issued diploma replaces the old; a batch would hand out documents the holder may not expect). The issuance is
linked to the document, so deleting it revokes the credential, as for the pre-authorized path.

No mapping, no document, or anything else: the same ``credential_request_denied`` (OpenID4VCI 1.0 §8.3.1.2) with
no personal data and no hint of which step failed.
"""

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.datastore import DatastoreDocument, DocumentIdentity
from app.models.issuance import Issuance
from app.services.datastore import documents, issuing, mappings
from app.services.enrollment import registry
from app.services.issuance import records
from app.services.issuance.configurations import CredentialConfiguration
from app.services.issuance.errors import CredentialRequestDenied

#: The registry's biographic attribute behind each identity-mapping attribute (README "Datastore").
REGISTRY_ATTRIBUTES = {"family_name": "lastName", "given_name": "firstName", "birth_date": "dateOfBirth"}


def is_document_backed(config: CredentialConfiguration) -> bool:
    return config.authentic_sources is not None


def _denied() -> CredentialRequestDenied:
    return CredentialRequestDenied(description="No credential of this type can be issued to this person.")


def mapping_attributes(biographic: dict[str, Any]) -> dict[str, str]:
    """The identity-mapping attributes of a registry record (only those it holds, as strings)."""
    return {
        name: str(biographic[source])
        for name, source in REGISTRY_ATTRIBUTES.items()
        if biographic.get(source) not in (None, "")
    }


def _sources(config: CredentialConfiguration) -> list[str]:
    if config.authentic_sources:
        return list(config.authentic_sources)
    query = (
        select(DatastoreDocument.authentic_source)
        .where(DatastoreDocument.scope == config.scope, DatastoreDocument.revoked_at.is_(None))
        .distinct()
    )
    return sorted(db.session.execute(query).scalars())


def find_document(config: CredentialConfiguration, biographic: dict[str, Any]) -> DatastoreDocument | None:
    """The live document of ``config``'s scope mapped to the person, the most recently updated one; or None."""
    attributes = mapping_attributes(biographic)
    if len(attributes) < len(REGISTRY_ATTRIBUTES):  # a partial record never matches on fewer attributes
        return None
    best: DatastoreDocument | None = None
    for source in _sources(config):
        persons = [m.person_id for m in mappings.find(source, attributes)]
        if not persons:
            continue
        row = db.session.execute(
            select(DatastoreDocument)
            .join(DocumentIdentity, DocumentIdentity.document_pk == DatastoreDocument.document_pk)
            .where(
                DatastoreDocument.authentic_source == source,
                DatastoreDocument.scope == config.scope,
                DatastoreDocument.revoked_at.is_(None),
                DocumentIdentity.person_id.in_(persons),
            )
            .order_by(DatastoreDocument.updated_at.desc(), DatastoreDocument.document_pk.desc())
            .limit(1)
        ).scalar_one_or_none()
        if row is not None and (best is None or (row.updated_at, row.document_pk) > (best.updated_at, best.document_pk)):
            best = row
    return best


def attach(row: Issuance, config: CredentialConfiguration, uin: str | None) -> None:
    """Seal the claims of the person's document into ``row`` and link the two (deleting the document revokes);
    ``credential_request_denied`` when the person maps to no document of this configuration."""
    if uin is None:
        raise _denied()
    document = find_document(config, registry.read_identity(uin).get("biographicData") or {})
    if document is None:
        raise _denied()
    records.seal_claims(row, {"attributes": {}, "explicit": documents.open_data(document)})
    issuing.link(document, row.issuance_id)
    records.event(row, "document_matched", actor="wallet", configuration=config.id)
