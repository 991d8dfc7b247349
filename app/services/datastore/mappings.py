"""Identity mappings (seed 000 "Identity Mapping"): an authentic source's person id and the attributes that match
the person. Resolution needs every given attribute to match exactly; a failed one is ``IDENTITY_MISMATCH``, the
same answer whether the person id exists or not. Attribute values are personal data: never logged or audited.
"""

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.extensions import db
from app.models.datastore import IdentityMapping
from app.services import audit
from app.services.datastore.errors import IdentityMismatch, IdentityNotFound, InvalidFormat, MappingExists
from app.services.datastore.ids import uuid7
from app.services.transaction import atomic

SEARCH_MAX = 1000
CHUNK = 1000  # ids per IN (...) query


def _row(source: str, person_id: str, *, lock: bool = False) -> IdentityMapping | None:
    query = select(IdentityMapping).where(IdentityMapping.authentic_source == source, IdentityMapping.person_id == person_id)
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def _add(entry: dict[str, Any], *, actor: str) -> str:
    source = str(entry["authentic_source"])
    person_id = str(entry.get("authentic_source_person_id") or uuid7())
    if _row(source, person_id) is not None:
        raise MappingExists(details={"authentic_source": source, "authentic_source_person_id": person_id})
    now = clock.now()
    db.session.add(
        IdentityMapping(
            authentic_source=source,
            person_id=person_id,
            attributes=dict(entry.get("attributes") or {}),
            created_at=now,
            updated_at=now,
        )
    )
    audit.record("datastore.identity_created", actor=actor, target=f"{source}/{person_id}")
    return person_id


def create(entry: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``POST /api/v1/identity/mapping``."""
    with atomic():
        person_id = _add(entry, actor=actor)
        _flush(str(entry["authentic_source"]), person_id)
    return {"authentic_source_person_id": person_id}


def _flush(source: str, person_id: str | None = None) -> None:
    """Write now: a mapping another request created meanwhile is ``IDENTITY_EXISTS``, not a 500."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise MappingExists(details={"authentic_source": source, "authentic_source_person_id": person_id}) from exc


def _taken(keys: set[tuple[str, str]]) -> tuple[str, str] | None:
    """One of ``keys`` that is already a mapping (one query per source and thousand ids), or None."""
    by_source: dict[str, list[str]] = {}
    for source, person_id in keys:
        by_source.setdefault(source, []).append(person_id)
    for source, ids in by_source.items():
        for start in range(0, len(ids), CHUNK):
            hit = db.session.execute(
                select(IdentityMapping.person_id)
                .where(IdentityMapping.authentic_source == source, IdentityMapping.person_id.in_(ids[start : start + CHUNK]))
                .limit(1)
            ).scalar_one_or_none()
            if hit is not None:
                return source, hit
    return None


def create_bulk(entries: dict[str, dict[str, Any]], *, actor: str) -> dict[str, int]:
    """``POST /api/v1/identity/mapping/bulk``: every mapping in one transaction, or none (one bad entry fails all).

    Written as one batch: the existing ids are looked up a thousand at a time, the rows inserted in one flush."""
    with atomic():
        now = clock.now()
        keys: set[tuple[str, str]] = set()
        rows: list[IdentityMapping] = []
        for name, entry in entries.items():
            source = str(entry["authentic_source"])
            person_id = str(entry.get("authentic_source_person_id") or uuid7())
            if (source, person_id) in keys:
                raise MappingExists(
                    "Two entries of the request share an authentic_source_person_id.", details={"entry": name[:100]}
                )
            keys.add((source, person_id))
            rows.append(
                IdentityMapping(
                    authentic_source=source,
                    person_id=person_id,
                    attributes=dict(entry.get("attributes") or {}),
                    created_at=now,
                    updated_at=now,
                )
            )
        taken = _taken(keys)
        if taken is not None:
            raise MappingExists(details={"authentic_source": taken[0], "authentic_source_person_id": taken[1]})
        db.session.add_all(rows)
        for row in rows:
            audit.record("datastore.identity_created", actor=actor, target=f"{row.authentic_source}/{row.person_id}")
        _flush(rows[0].authentic_source if rows else "")  # a concurrent insert fails the whole bulk here
    return {"count": len(entries)}


def _matches(stored: dict[str, Any], given: dict[str, Any]) -> bool:
    # seed 000 "Identity Matching": when resolving, all provided attributes must match exactly
    return bool(given) and all(k in stored and stored[k] == v for k, v in given.items())


def find(source: str, attributes: dict[str, Any]) -> list[IdentityMapping]:
    """Every mapping of ``source`` whose attributes match all of ``attributes``."""
    rows = db.session.execute(select(IdentityMapping).where(IdentityMapping.authentic_source == source)).scalars()
    return [r for r in rows if _matches(r.attributes or {}, attributes)]


def resolve(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``POST /api/v1/identity/mapping/resolve``: the one person id whose attributes match; otherwise (none, or
    several: the attributes do not identify one person) ``IDENTITY_MISMATCH``."""
    with atomic():
        source = str(body["authentic_source"])
        found = find(source, dict(body.get("attributes") or {}))
        audit.record(
            "datastore.identity_resolved", actor=actor, target=source, outcome="success" if len(found) == 1 else "failure"
        )
        if len(found) != 1:
            raise IdentityMismatch(details={"authentic_source": source})
        return {"authentic_source_person_id": found[0].person_id}


def update(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``PUT /api/v1/identity/mapping``: the given attributes replace the stored ones of the same name."""
    with atomic():
        source, person_id = str(body["authentic_source"]), str(body["authentic_source_person_id"])
        row = _row(source, person_id, lock=True)
        if row is None:
            raise IdentityNotFound(details={"authentic_source": source, "authentic_source_person_id": person_id})
        row.attributes = {**(row.attributes or {}), **dict(body.get("attributes") or {})}  # a new dict: JSON tracks
        row.updated_at = clock.now()
        audit.record("datastore.identity_updated", actor=actor, target=f"{source}/{person_id}")
        return {"authentic_source_person_id": person_id}


def remove(body: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """``DELETE /api/v1/identity/mapping``."""
    with atomic():
        source, person_id = str(body["authentic_source"]), str(body["authentic_source_person_id"])
        result = db.session.execute(
            delete(IdentityMapping).where(IdentityMapping.authentic_source == source, IdentityMapping.person_id == person_id)
        )
        if not getattr(result, "rowcount", 0):
            raise IdentityNotFound(details={"authentic_source": source, "authentic_source_person_id": person_id})
        audit.record("datastore.identity_deleted", actor=actor, target=f"{source}/{person_id}")
        return {"authentic_source_person_id": person_id}


def view(row: IdentityMapping) -> dict[str, Any]:
    return {
        "authentic_source": row.authentic_source,
        "authentic_source_person_id": row.person_id,
        "attributes": dict(row.attributes or {}),
    }


def text_matches(row: IdentityMapping, needle: str) -> bool:
    """Case-insensitive substring of the person id or of an attribute value (``search=Smith``)."""
    lowered = needle.casefold()
    return lowered in row.person_id.casefold() or any(lowered in str(v).casefold() for v in (row.attributes or {}).values())


def search(*, authentic_source: str, text: str | None, limit: int, actor: str) -> dict[str, Any]:
    """``GET /api/v1/identity/mapping/search``: mappings of one authentic source, by a text in their attributes."""
    if not 1 <= limit <= SEARCH_MAX:
        raise InvalidFormat("limit is out of range.", details={"limit": limit})
    with atomic():
        rows = db.session.execute(
            select(IdentityMapping)
            .where(IdentityMapping.authentic_source == authentic_source)
            .order_by(IdentityMapping.mapping_pk)
        ).scalars()
        found = [view(r) for r in rows if not text or text_matches(r, text)][:limit]
        audit.record("datastore.identity_searched", actor=actor, target=authentic_source, details={"found": len(found)})
        return {"mappings": found}


def contacts(source: str, person_ids: list[str]) -> dict[str, str]:
    """The first ``email`` / ``phone_number`` among the mapped persons' attributes (where a tx_code can go)."""
    out: dict[str, str] = {}
    for person_id in person_ids:
        row = _row(source, person_id)
        for name in ("email", "phone_number"):
            value = (row.attributes or {}).get(name) if row is not None else None
            if value and name not in out:
                out[name] = str(value)
    return out
