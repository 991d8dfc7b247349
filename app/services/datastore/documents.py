"""Documents of the authentic sources (seed 000 "Document Upload Flow", "Document Management").

A document is keyed by (authentic_source, scope, document_id); its ``document_data`` is checked against the
scope's credential configuration (``validation``), then sealed with the data key, the key as associated data (so
a sealed value cannot be moved to another document). Every operation is one transaction and one audit event per
document naming the caller and the key, never the data. Deleting a document revokes what was issued from it
(``issuing.revoke_document``); a deleted document keeps its row (no data) so that deleting it again is
``ALREADY_REVOKED``, and reads of it are ``DOCUMENT_NOT_FOUND``.
"""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.extensions import db
from app.formats import aead
from app.models.datastore import DatastoreDocument, DocumentIdentity, IdentityMapping
from app.services import audit
from app.services.datastore import issuing, mappings
from app.services.datastore.errors import (
    AlreadyRevoked,
    DocumentExists,
    DocumentNotFound,
    IdentityMismatch,
    InvalidFormat,
)
from app.services.datastore.ids import uuid7
from app.services.datastore.validation import check_document
from app.services.stored_secrets import data_key
from app.services.transaction import atomic

SEARCH_MAX = 1000
CHUNK = 1000  # keys per IN (...) query


def _aad(source: str, scope: str, document_id: str) -> bytes:
    return "\x00".join(("datastore", source, scope, document_id)).encode("utf-8")


def seal(row: DatastoreDocument, data: dict[str, Any]) -> None:
    row.data_sealed = aead.seal(
        data_key(),
        json.dumps(data).encode("utf-8"),
        _aad(row.authentic_source, row.scope, row.document_id),
    )


def open_data(row: DatastoreDocument) -> dict[str, Any]:
    if row.data_sealed is None:
        return {}
    raw = aead.open_sealed(data_key(), bytes(row.data_sealed), _aad(row.authentic_source, row.scope, row.document_id))
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}


def key_of(meta: dict[str, Any]) -> tuple[str, str, str]:
    return str(meta["authentic_source"]), str(meta["scope"]), str(meta["document_id"])


def target(source: str, scope: str, document_id: str) -> str:
    """The audit target of a document: its key."""
    return f"{source}/{scope}/{document_id}"


def row_for(source: str, scope: str, document_id: str, *, lock: bool = False) -> DatastoreDocument | None:
    query = select(DatastoreDocument).where(
        DatastoreDocument.authentic_source == source,
        DatastoreDocument.scope == scope,
        DatastoreDocument.document_id == document_id,
    )
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def live(source: str, scope: str, document_id: str, *, lock: bool = False) -> DatastoreDocument:
    """The document, unless unknown or deleted (``DOCUMENT_NOT_FOUND`` either way)."""
    row = row_for(source, scope, document_id, lock=lock)
    if row is None or row.revoked_at is not None:
        raise DocumentNotFound(details={"authentic_source": source, "scope": scope, "document_id": document_id})
    return row


def identities(row: DatastoreDocument) -> list[str]:
    return list(
        db.session.execute(
            select(DocumentIdentity.person_id)
            .where(DocumentIdentity.document_pk == row.document_pk)
            .order_by(DocumentIdentity.person_id)
        ).scalars()
    )


def _set_identities(row: DatastoreDocument, person_ids: list[str]) -> None:
    db.session.execute(delete(DocumentIdentity).where(DocumentIdentity.document_pk == row.document_pk))
    for person_id in dict.fromkeys(person_ids):  # once each, in the given order
        db.session.add(DocumentIdentity(document_pk=row.document_pk, person_id=str(person_id)))


def _store(body: dict[str, Any], *, actor: str) -> str:
    meta = dict(body["meta"])
    meta.setdefault("document_id", None)
    source, scope = str(meta["authentic_source"]), str(meta["scope"])
    document_id = str(meta["document_id"] or uuid7())  # seed 000: a UUIDv7 when document_id is omitted
    data = dict(body.get("document_data") or {})
    check_document(scope, data)
    row = row_for(source, scope, document_id, lock=True)
    now = clock.now()
    if row is not None and row.revoked_at is None:
        raise DocumentExists(details={"authentic_source": source, "scope": scope, "document_id": document_id})
    if row is None:
        row = DatastoreDocument(
            authentic_source=source,
            scope=scope,
            document_id=document_id,
            version=1,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        db.session.add(row)
    else:  # a deleted key uploaded again: a new version of the document
        row.version, row.revoked_at, row.updated_at = row.version + 1, None, now
    seal(row, data)
    try:
        db.session.flush()  # a concurrent upload of the same key: DOCUMENT_EXISTS (the transaction rolls back)
    except IntegrityError as exc:
        raise DocumentExists(details={"authentic_source": source, "scope": scope, "document_id": document_id}) from exc
    _set_identities(row, list(body.get("identity_mapping_ids") or []))
    audit.record(
        "datastore.document_uploaded",
        actor=actor,
        target=target(source, scope, document_id),
        details={"version": row.version},
    )
    return document_id


def upload(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``POST /api/v1/datastore/``."""
    with atomic():
        document_id = _store(body, actor=actor)
    return {"document_id": document_id}


def _existing(keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], DatastoreDocument]:
    """The rows of ``keys`` that exist (deleted ones included), a thousand ids per query, locked."""
    groups: dict[tuple[str, str], list[str]] = {}
    for source, scope, document_id in keys:
        groups.setdefault((source, scope), []).append(document_id)
    found: dict[tuple[str, str, str], DatastoreDocument] = {}
    for (source, scope), ids in groups.items():
        for start in range(0, len(ids), CHUNK):
            rows = db.session.execute(
                select(DatastoreDocument)
                .where(
                    DatastoreDocument.authentic_source == source,
                    DatastoreDocument.scope == scope,
                    DatastoreDocument.document_id.in_(ids[start : start + CHUNK]),
                )
                .with_for_update()
            ).scalars()
            found.update({(r.authentic_source, r.scope, r.document_id): r for r in rows})
    return found


def upload_bulk(documents: dict[str, dict[str, Any]], *, actor: str) -> dict[str, int]:
    """``POST /api/v1/datastore/bulk``: every document in one transaction or none; the count stored.

    One batch: every entry checked first (the failing entry named), existing keys looked up a thousand at a
    time, then the documents and their identities inserted in two flushes."""
    with atomic():
        now = clock.now()
        entries: list[tuple[tuple[str, str, str], dict[str, Any], list[str]]] = []
        seen: set[tuple[str, str, str]] = set()
        for name, body in documents.items():
            meta = body["meta"]
            key = (str(meta["authentic_source"]), str(meta["scope"]), str(meta.get("document_id") or uuid7()))
            if key in seen:
                raise DocumentExists("Two entries of the request share a document key.", details={"entry": name[:100]})
            seen.add(key)
            data = dict(body.get("document_data") or {})
            try:
                check_document(key[1], data)
            except InvalidFormat as exc:  # which entry failed, so the source can fix it
                raise InvalidFormat(exc.description, details={**(exc.details or {}), "entry": name[:100]}) from exc
            entries.append((key, data, [str(p) for p in dict.fromkeys(body.get("identity_mapping_ids") or [])]))
        existing = _existing([key for key, _, _ in entries])
        rows: list[DatastoreDocument] = []
        for key, data, _ in entries:
            row = existing.get(key)
            if row is not None and row.revoked_at is None:
                raise DocumentExists(details=dict(zip(("authentic_source", "scope", "document_id"), key, strict=True)))
            if row is None:
                row = DatastoreDocument(
                    authentic_source=key[0],
                    scope=key[1],
                    document_id=key[2],
                    version=1,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                db.session.add(row)
            else:  # a deleted key uploaded again: a new version
                row.version, row.revoked_at, row.updated_at = row.version + 1, None, now
            seal(row, data)
            rows.append(row)
        try:
            db.session.flush()  # one INSERT batch; a concurrent upload of one of the keys fails the whole bulk
        except IntegrityError as exc:
            raise DocumentExists("A document of the request was uploaded meanwhile.") from exc
        reused = [r.document_pk for r in rows if r.version > 1]
        if reused:
            db.session.execute(delete(DocumentIdentity).where(DocumentIdentity.document_pk.in_(reused)))
        db.session.add_all(
            [
                DocumentIdentity(document_pk=row.document_pk, person_id=person_id)
                for row, (_, _, people) in zip(rows, entries, strict=True)
                for person_id in people
            ]
        )
        for row in rows:
            audit.record(
                "datastore.document_uploaded",
                actor=actor,
                target=target(row.authentic_source, row.scope, row.document_id),
                details={"version": row.version},
            )
    return {"count": len(documents)}


def view(row: DatastoreDocument, *, with_data: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "meta": {
            "authentic_source": row.authentic_source,
            "scope": row.scope,
            "document_id": row.document_id,
            "document_version": str(row.version),
        },
        "identity_mapping_ids": identities(row),
    }
    if with_data:
        out["document_data"] = open_data(row)
    return out


def get(key: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``GET /api/v1/datastore/`` (query) and ``POST /api/v1/datastore`` (body): the document with its data."""
    with atomic():
        source, scope, document_id = key_of(key)
        row = live(source, scope, document_id)
        audit.record("datastore.document_read", actor=actor, target=target(source, scope, document_id))
        return view(row, with_data=True)


def replace(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``PUT /api/v1/datastore/``: new data and identities; offers not yet collected will carry the new data."""
    with atomic():
        source, scope, document_id = key_of(body["meta"])
        data = dict(body.get("document_data") or {})
        check_document(scope, data)
        row = live(source, scope, document_id, lock=True)
        row.version += 1
        row.updated_at = clock.now()
        seal(row, data)
        if body.get("identity_mapping_ids") is not None:
            _set_identities(row, list(body["identity_mapping_ids"]))
        reissued = issuing.refresh_pending(row, data)
        audit.record(
            "datastore.document_replaced",
            actor=actor,
            target=target(source, scope, document_id),
            details={"version": row.version, "pending_offers": reissued},
        )
    return {"document_id": document_id}


def remove(key: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``DELETE /api/v1/datastore``: the data dropped and every credential issued from the document revoked
    (Token Status List); an already deleted document is ``ALREADY_REVOKED``."""
    with atomic():
        source, scope, document_id = key_of(key)
        details = {"authentic_source": source, "scope": scope, "document_id": document_id}
        row = row_for(source, scope, document_id, lock=True)
        if row is None:
            raise DocumentNotFound(details=details)
        if row.revoked_at is not None:
            raise AlreadyRevoked("The document was deleted and its credentials revoked already.", details=details)
        revoked = issuing.revoke_document(row, actor=actor)
        row.revoked_at = row.updated_at = clock.now()
        row.data_sealed = None
        audit.record(
            "datastore.document_deleted",
            actor=actor,
            target=target(source, scope, document_id),
            details={"revoked_credentials": revoked},
        )
    return {"document_id": document_id}


def change_identities(body: dict[str, Any], *, add: bool, actor: str) -> dict[str, Any]:
    """``PUT`` / ``DELETE /api/v1/datastore/identity``: add or remove identity mapping ids on a document."""
    with atomic():
        source, scope, document_id = key_of(body)
        row = live(source, scope, document_id, lock=True)
        current = identities(row)
        given = [str(p) for p in body["identity_mapping_ids"]]
        wanted = [*current, *given] if add else [p for p in current if p not in set(given)]
        _set_identities(row, wanted)
        row.updated_at = clock.now()
        audit.record(
            "datastore.identities_added" if add else "datastore.identities_removed",
            actor=actor,
            target=target(source, scope, document_id),
            details={"identity_mapping_ids": given},
        )
        return {"document_id": document_id, "identity_mapping_ids": list(dict.fromkeys(wanted))}


def _of_persons(source: str, person_ids: list[str], scope: str | None) -> list[dict[str, Any]]:
    if not person_ids:
        return []
    query = (
        select(DatastoreDocument)
        .join(DocumentIdentity, DocumentIdentity.document_pk == DatastoreDocument.document_pk)
        .where(
            DatastoreDocument.authentic_source == source,
            DatastoreDocument.revoked_at.is_(None),
            DocumentIdentity.person_id.in_(person_ids),
        )
        .order_by(DatastoreDocument.document_pk)
    )
    if scope is not None:
        query = query.where(DatastoreDocument.scope == scope)
    rows = list(dict.fromkeys(db.session.execute(query).scalars()))
    return [view(r, with_data=False) for r in rows]


def list_for(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``POST /api/v1/datastore/list``: the documents mapped to one identity."""
    with atomic():
        source, person_id = str(body["authentic_source"]), str(body["identity_mapping_id"])
        found = _of_persons(source, [person_id], body.get("scope"))
        audit.record(
            "datastore.documents_listed", actor=actor, target=f"{source}/{person_id}", details={"found": len(found)}
        )
        return {"documents": found}


def resolve(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``POST /api/v1/datastore/resolve``: identity attributes → mapping(s) → documents; no mapping matches:
    ``IDENTITY_MISMATCH``."""
    with atomic():
        source = str(body["authentic_source"])
        persons = mappings.find(source, dict(body.get("attributes") or {}))
        audit.record("datastore.documents_resolved", actor=actor, target=source, outcome="success" if persons else "failure")
        if not persons:
            raise IdentityMismatch(details={"authentic_source": source})
        return {"documents": _of_persons(source, [p.person_id for p in persons], body.get("scope"))}


def search(*, authentic_source: str, scope: str | None, text: str | None, limit: int, actor: str) -> dict[str, Any]:
    """``GET /api/v1/datastore/search``: documents of a source (and scope) whose id, or a mapped person's id or
    attributes, contain ``text`` (the data itself is sealed and is not searched)."""
    if not 1 <= limit <= SEARCH_MAX:
        raise InvalidFormat("limit is out of range.", details={"limit": limit})
    with atomic():
        query = select(DatastoreDocument).where(
            DatastoreDocument.authentic_source == authentic_source, DatastoreDocument.revoked_at.is_(None)
        )
        if scope is not None:
            query = query.where(DatastoreDocument.scope == scope)
        rows = list(db.session.execute(query.order_by(DatastoreDocument.document_pk)).scalars())
        if text:
            needle = text.casefold()
            people = {
                m.person_id
                for m in db.session.execute(
                    select(IdentityMapping).where(IdentityMapping.authentic_source == authentic_source)
                ).scalars()
                if mappings.text_matches(m, text)
            }
            rows = [r for r in rows if needle in r.document_id.casefold() or people & set(identities(r))]
        found = [view(r, with_data=False) for r in rows[:limit]]
        audit.record("datastore.documents_searched", actor=actor, target=authentic_source, details={"found": len(found)})
        return {"documents": found}


@dataclass(frozen=True)
class DocumentSubject:
    document: DatastoreDocument
    data: dict[str, Any]
    contacts: dict[str, str]


def subject(key: dict[str, Any]) -> DocumentSubject:
    """The live document named by ``key`` with its data and the mapped persons' contacts (``DOCUMENT_NOT_FOUND``)."""
    source, scope, document_id = key_of(key)
    row = live(source, scope, document_id, lock=True)
    return DocumentSubject(row, open_data(row), mappings.contacts(source, identities(row)))
