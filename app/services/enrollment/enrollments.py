"""OSIA Enrollment Services v1.3 use cases (``osia/enrollment.yaml``; osia-notes.md §4).

* create (client-chosen id; ``finalize=true`` makes it one-step), read (``attributes`` filter),
  update (PUT sends only the sections that changed; lists inside a sent section are replaced),
  partial update (RFC 7396 merge patch, ``null`` deletes), delete, finalize, find, buffers.
* Images and documents are checked by content against their declared format and sealed at rest;
  the stored document keeps ``{"$blob": id}`` in their place.
* A finalized enrollment is the record an identity came from: updates and deletion are refused
  (403, OSIA's "update not allowed"). Finalize is idempotent, and so is an identical create
  (an offline client replaying its signed packet).
* Every use case is one transaction; finalization (registry) runs inside it.
"""

import base64
import copy
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select

from app.clock import clock
from app.errors import (
    DuplicateEnrollment,
    InvalidContent,
    InvalidDigest,
    InvalidEnrollmentId,
    InvalidExpression,
    InvalidReference,
    InvalidRequest,
    ServerError,
    UnknownBuffer,
    UnknownEnrollment,
    UpdateNotAllowed,
)
from app.extensions import db, state
from app.formats import FormatError
from app.formats.canonical import canonical_json
from app.formats.digest import digest_header, verify_digest
from app.formats.images import sniff
from app.formats.json_text import check_i_json
from app.formats.merge_patch import merge_patch
from app.models.enrollment import Enrollment, EnrollmentBuffer
from app.services import audit, credentials
from app.services.enrollment import blobs, registry
from app.services.enrollment.content import DOCUMENT_FORMATS, check_content, decode_b64
from app.services.enrollment.integrity import verify_request
from app.services.stored_secrets import data_key
from app.services.transaction import atomic

SECTIONS = (
    "enrollmentType",
    "enrollmentFlags",
    "requestData",
    "contextualData",
    "biographicData",
    "biometricData",
    "documentData",
)
_ID = re.compile(r"^[A-Za-z0-9._~:@-]{1,128}$")
_BUFFER_REF = re.compile(r"(?:^|/v1/enrollments/(?P<eid>[^/]+)/buffer/)(?P<bid>[0-9a-f]{32})$")


def _owner(enrollment_id: str) -> str:
    return f"enrollment:{enrollment_id}"


def _check_id(enrollment_id: str) -> None:
    if not _ID.match(enrollment_id or ""):
        raise InvalidEnrollmentId("enrollmentId must be 1-128 URL-safe characters.")


def _buffer_for(ref: Any, enrollment_id: str) -> EnrollmentBuffer:
    match = _BUFFER_REF.search(ref) if isinstance(ref, str) else None
    if match is None or (match.group("eid") not in (None, enrollment_id)):
        raise InvalidReference("A reference must point to a buffer of this enrollment.")
    buffer = db.session.get(EnrollmentBuffer, match.group("bid"))
    if buffer is None or buffer.enrollment_id != enrollment_id:
        raise InvalidReference("A reference must point to a buffer of this enrollment.")
    return buffer


def _ingest_biometrics(items: Any, enrollment_id: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise InvalidRequest("biometricData must be a list.")
    out = []
    for n, raw in enumerate(items):
        item = dict(raw)
        what = f"biometricData[{n}]"
        if "image" in item and item["image"] is not None:
            data = decode_b64(item["image"], what + ".image")
            fmt = check_content(data, mime_type=item.get("mimeType"), compression=item.get("compression"), what=what)
            item["image"] = {
                "$blob": blobs.store(
                    _owner(enrollment_id), data, content_type=item.get("mimeType"), detected_format=fmt
                ).blob_id
            }
        if "imageRef" in item and item["imageRef"] is not None:
            buffer = _buffer_for(item["imageRef"], enrollment_id)
            data, _ = blobs.load(buffer.blob_id)
            check_content(
                data, mime_type=item.get("mimeType") or buffer.content_type, compression=item.get("compression"), what=what
            )
        if "template" in item and item["template"] is not None:
            data = decode_b64(item["template"], what + ".template")
            item["template"] = {
                "$blob": blobs.store(_owner(enrollment_id), data, content_type=None, detected_format=sniff(data)).blob_id
            }
        out.append(item)
    return out


def _ingest_documents(items: Any, enrollment_id: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise InvalidRequest("documentData must be a list.")
    out = []
    for n, raw in enumerate(items):
        doc = copy.deepcopy(raw)
        for m, part in enumerate(doc.get("parts") or []):
            what = f"documentData[{n}].parts[{m}]"
            mime = part.get("mimeType")
            # images and PDFs, and parts with no declared type, must be a recognised document format;
            # only an explicit other type (e.g. application/vc, a Verifiable Credential) is kept opaque
            checked = not isinstance(mime, str) or mime.startswith("image/") or mime == "application/pdf"
            if part.get("data") is not None:
                data = decode_b64(part["data"], what + ".data")
                fmt = (
                    check_content(data, mime_type=mime, compression=None, what=what, allowed=DOCUMENT_FORMATS)
                    if checked
                    else None
                )
                part["data"] = {
                    "$blob": blobs.store(_owner(enrollment_id), data, content_type=mime, detected_format=fmt).blob_id
                }
            if part.get("dataRef") is not None:
                buffer = _buffer_for(part["dataRef"], enrollment_id)
                if checked:
                    data, _ = blobs.load(buffer.blob_id)
                    check_content(data, mime_type=mime, compression=None, what=what, allowed=DOCUMENT_FORMATS)
        out.append(doc)
    return out


def _refuse_markers(value: Any) -> None:
    """``{"$blob": id}`` is idbb's stored form of sealed content; a client may never write it."""
    if isinstance(value, dict):
        if "$blob" in value:
            raise InvalidRequest("Member names starting with '$blob' are reserved.")
        for item in value.values():
            _refuse_markers(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_markers(item)


def _ingest(sections: dict[str, Any], enrollment: Enrollment) -> dict[str, Any]:
    """Turn sent sections into stored form: blobs sealed, credentials hashed and removed."""
    _refuse_markers(sections)
    out: dict[str, Any] = {}
    for name, value in sections.items():
        if name == "biometricData" and value is not None:
            out[name] = _ingest_biometrics(value, enrollment.enrollment_id)
        elif name == "documentData" and value is not None:
            out[name] = _ingest_documents(value, enrollment.enrollment_id)
        elif name == "requestData" and isinstance(value, dict) and "credentials" in value:
            request = dict(value)
            creds = request.pop("credentials") or {}
            if not isinstance(creds, dict):
                raise InvalidRequest("requestData.credentials must be an object.")
            given = [kind for kind in ("pin", "password") if creds.get(kind) is not None]
            if len(given) > 1:  # one static-code credential per person: never drop one silently
                raise InvalidRequest("Send either a PIN or a password, not both.")
            for kind in given:
                enrollment.pin_hash = credentials.hash_secret(kind, creds[kind])
            out[name] = request
        else:
            out[name] = value
    return out


def _sections(body: dict[str, Any]) -> dict[str, Any]:
    """The OSIA sections of a request body; read-only and protection members are not data."""
    return {k: v for k, v in body.items() if k in SECTIONS}


def _referenced_blobs(document: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(document, dict):
        if set(document) == {"$blob"}:
            found.add(document["$blob"])
        for value in document.values():
            found |= _referenced_blobs(value)
    elif isinstance(document, list):
        for value in document:
            found |= _referenced_blobs(value)
    return found


def _check_body(body: dict[str, Any]) -> None:
    """What canonical hashing, the registry and the databases cannot take is a 400 before anything is
    written: a value outside I-JSON (RFC 7493 §2: ``9007199254740993``, ``1e400``, ``"\\ud800"``), a NUL,
    an object section that is not an object, an attribute over ``IDBB_MAX_ATTRIBUTE_CHARS``."""
    try:
        check_i_json(body)
    except FormatError as exc:
        raise InvalidRequest(f"{exc}.") from exc
    for name in ("enrollmentFlags", "requestData"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            raise InvalidRequest(f"{name} must be an object.")
    for name in ("biographicData", "contextualData"):
        registry.check_attributes(name, body.get(name))


def _body_hash(enrollment_id: str, body: dict[str, Any], finalize: bool) -> str:
    """Keyed (HMAC-SHA256 under the data key): the body may hold a PIN, which an unkeyed hash next to
    the rest of the record would let anyone with the database guess in milliseconds."""
    message = canonical_json({"id": enrollment_id, "body": body, "finalize": finalize})
    return hmac.new(data_key(), message, hashlib.sha256).hexdigest()


def create(
    enrollment_id: str, body: dict[str, Any], *, finalize: bool, client_id: str, transaction_id: str, verified: bool = False
) -> None:
    """OSIA createEnrollment. ``verified`` when the caller (GovStack packet) already checked integrity."""

    def use_case() -> None:
        _check_id(enrollment_id)
        _check_body(body)
        if not verified:
            verify_request(body, client_id, enrollment_id)
        digest = _body_hash(enrollment_id, body, finalize)
        existing = db.session.get(Enrollment, enrollment_id)
        if existing is not None:
            if existing.create_hash == digest and existing.client_id == client_id:
                return  # the same packet again (offline client retrying): same answer, nothing new
            raise DuplicateEnrollment("An enrollment with this id exists.")
        now = clock.now()
        enrollment = Enrollment(
            enrollment_id=enrollment_id,
            status="IN_PROGRESS",
            client_id=client_id,
            create_hash=digest,
            last_transaction_id=transaction_id,
            created_at=now,
            updated_at=now,
            document={},
        )
        db.session.add(enrollment)
        db.session.flush()
        stored = _ingest(_sections(body), enrollment)
        enrollment.document = {k: v for k, v in stored.items() if k != "enrollmentType"}
        enrollment.enrollment_type = stored.get("enrollmentType")
        audit.record(
            "enrollment.created",
            actor=f"client:{client_id}",
            target=enrollment_id,
            details={"transactionId": transaction_id, "finalize": finalize, "signed": bool(body.get("integrity"))},
        )
        if finalize:
            _finalize(enrollment, client_id, transaction_id)

    with atomic():
        use_case()


def _get(enrollment_id: str) -> Enrollment:
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise UnknownEnrollment("No enrollment has this id.")
    return enrollment


def _get_open(enrollment_id: str) -> Enrollment:
    enrollment = _get(enrollment_id)
    if enrollment.status == "FINALIZED":
        raise UpdateNotAllowed()
    return enrollment


def _store(enrollment: Enrollment, document: dict[str, Any], transaction_id: str) -> None:
    enrollment.enrollment_type = document.pop("enrollmentType", enrollment.enrollment_type)
    enrollment.document = {k: v for k, v in document.items() if v is not None}
    enrollment.updated_at = clock.now()
    enrollment.last_transaction_id = transaction_id
    keep = _referenced_blobs(enrollment.document) | _buffer_blobs(enrollment.enrollment_id)
    blobs.delete_unreferenced(_owner(enrollment.enrollment_id), keep)


def _buffer_blobs(enrollment_id: str) -> set[str]:
    """Buffers live apart from the document (referenced by URL); replacing a section keeps them."""
    rows = db.session.execute(select(EnrollmentBuffer.blob_id).where(EnrollmentBuffer.enrollment_id == enrollment_id))
    return set(rows.scalars())


def update(enrollment_id: str, body: dict[str, Any], *, finalize: bool, client_id: str, transaction_id: str) -> None:
    """OSIA updateEnrollment: only sent sections change; data not included stays as it is."""

    def use_case() -> None:
        enrollment = _get_open(enrollment_id)
        _check_body(body)
        verify_request(body, client_id, enrollment_id)
        document = dict(enrollment.document)
        document["enrollmentType"] = enrollment.enrollment_type
        document.update(_ingest(_sections(body), enrollment))  # a sent section (and its lists) is replaced
        _store(enrollment, document, transaction_id)
        audit.record(
            "enrollment.updated",
            actor=f"client:{client_id}",
            target=enrollment_id,
            details={"transactionId": transaction_id, "sections": sorted(_sections(body))},
        )
        if finalize:
            _finalize(enrollment, client_id, transaction_id)

    with atomic():
        use_case()


def patch(enrollment_id: str, body: dict[str, Any], *, finalize: bool, client_id: str, transaction_id: str) -> None:
    """OSIA partialUpdateEnrollment: RFC 7396 JSON merge patch (``null`` deletes a member)."""

    def use_case() -> None:
        enrollment = _get_open(enrollment_id)
        _check_body({k: v for k, v in body.items() if v is not None})  # RFC 7396: null deletes a member
        verify_request(body, client_id, enrollment_id)
        sections = _sections(body)
        ingested = _ingest({k: v for k, v in sections.items() if k in ("biometricData", "documentData")}, enrollment)
        current = dict(enrollment.document)
        current["enrollmentType"] = enrollment.enrollment_type
        patch_doc = {**sections, **ingested}
        credentials_patch = (
            (patch_doc.get("requestData") or {}).get("credentials")
            if isinstance(patch_doc.get("requestData"), dict)
            else None
        )
        merged = merge_patch(current, patch_doc)
        for name in ("biographicData", "contextualData"):
            registry.check_attributes(name, merged.get(name))
        if credentials_patch is not None:
            merged.update(_ingest({"requestData": merged.get("requestData") or {}}, enrollment))
        _store(enrollment, merged, transaction_id)
        audit.record(
            "enrollment.patched",
            actor=f"client:{client_id}",
            target=enrollment_id,
            details={"transactionId": transaction_id, "sections": sorted(sections)},
        )
        if finalize:
            _finalize(enrollment, client_id, transaction_id)

    with atomic():
        use_case()


def remove(enrollment_id: str, *, client_id: str, transaction_id: str) -> None:
    def use_case() -> None:
        enrollment = _get_open(enrollment_id)
        db.session.execute(delete(EnrollmentBuffer).where(EnrollmentBuffer.enrollment_id == enrollment_id))
        blobs.delete_unreferenced(_owner(enrollment_id), set())
        db.session.delete(enrollment)
        audit.record(
            "enrollment.deleted",
            actor=f"client:{client_id}",
            target=enrollment_id,
            details={"transactionId": transaction_id},
        )

    with atomic():
        use_case()


def finalize(enrollment_id: str, *, client_id: str, transaction_id: str) -> None:
    """OSIA finalizeEnrollment; finalizing a finalized enrollment changes nothing (idempotent)."""

    def use_case() -> None:
        enrollment = _get(enrollment_id)
        if enrollment.status == "FINALIZED":
            return
        _finalize(enrollment, client_id, transaction_id)

    with atomic():
        use_case()


def _finalize(enrollment: Enrollment, client_id: str, transaction_id: str) -> None:
    enrollment.status = "FINALIZED"
    enrollment.finalized_at = clock.now()
    enrollment.last_transaction_id = transaction_id
    registry.finalize_enrollment(enrollment, actor=f"client:{client_id}", transaction_id=transaction_id)
    audit.record(
        "enrollment.finalized",
        actor=f"client:{client_id}",
        target=enrollment.enrollment_id,
        details={"transactionId": transaction_id, "outcome": enrollment.outcome},
    )


def _inflate(value: Any, *, owner: str, with_content: bool) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$blob"}:
            if not with_content:
                return None
            data, row = blobs.load(value["$blob"])
            if row.owner != owner:  # defence in depth: only this enrollment's own sealed content
                raise ServerError("An internal error occurred.", detail="blob reference outside its owner")
            return base64.b64encode(data).decode("ascii")
        return {
            k: v
            for k, v in ((k, _inflate(v, owner=owner, with_content=with_content)) for k, v in value.items())
            if v is not None
        }
    if isinstance(value, list):
        return [_inflate(v, owner=owner, with_content=with_content) for v in value]
    return value


def _view(enrollment: Enrollment, attributes: Iterable[str] | None, *, with_content: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"enrollmentId": enrollment.enrollment_id, "status": enrollment.status}
    if enrollment.enrollment_type is not None:
        body["enrollmentType"] = enrollment.enrollment_type
    body.update(_inflate(enrollment.document, owner=_owner(enrollment.enrollment_id), with_content=with_content))
    wanted = [a for a in (attributes or []) if a]
    if not wanted:
        return body
    out: dict[str, Any] = {"enrollmentId": body["enrollmentId"], "status": body["status"]}
    for name in wanted:
        section, _, member = name.partition(".")
        if section in body and not member:
            out[section] = body[section]
        elif member and isinstance(body.get(section), dict) and member in body[section]:
            out.setdefault(section, {})[member] = body[section][member]
    return out


def read(enrollment_id: str, attributes: list[str] | None, *, client_id: str, transaction_id: str) -> dict[str, Any]:
    def use_case() -> dict[str, Any]:
        enrollment = _get(enrollment_id)
        audit.record(
            "enrollment.read", actor=f"client:{client_id}", target=enrollment_id, details={"transactionId": transaction_id}
        )
        return _view(enrollment, attributes, with_content=True)

    with atomic():
        return use_case()


_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _attribute(view: dict[str, Any], name: str) -> Any:
    if name in view and not isinstance(view[name], dict | list):
        return view[name]
    section, _, member = name.partition(".")
    if member:
        value = view.get(section)
        return value.get(member) if isinstance(value, dict) else None
    for section in ("biographicData", "contextualData", "requestData", "enrollmentFlags"):
        value = view.get(section)
        if isinstance(value, dict) and name in value:
            return value[name]
    return None


def _matches(view: dict[str, Any], expressions: list[dict[str, Any]]) -> bool:
    for expr in expressions:
        actual = _attribute(view, str(expr.get("attributeName", "")))
        expected = expr.get("value")
        op = _OPS.get(str(expr.get("operator")))
        if op is None:
            raise InvalidExpression("operator must be one of < > = >= <= !=")
        if (
            actual is None
            or type(actual) is not type(expected)
            and not (isinstance(actual, int | float) and isinstance(expected, int | float))
        ):
            if op is not _OPS["!="]:
                return False
            continue
        if not op(actual, expected):
            return False
    return True


def find(
    expressions: list[dict[str, Any]], *, offset: int, limit: int, client_id: str, transaction_id: str
) -> list[dict[str, Any]]:
    """OSIA findEnrollments: every expression must hold. Results carry metadata, not image bytes
    (read one enrollment for its content)."""

    def use_case() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        skipped = 0
        rows = db.session.execute(select(Enrollment).order_by(Enrollment.created_at, Enrollment.enrollment_id))
        for enrollment in rows.scalars():
            view = _view(enrollment, None, with_content=False)
            if not _matches(view, expressions):
                continue
            if skipped < offset:
                skipped += 1
                continue
            results.append(view)
            if len(results) >= limit:
                break
        audit.record(
            "enrollment.searched",
            actor=f"client:{client_id}",
            target=None,
            details={"transactionId": transaction_id, "results": len(results)},
        )
        return results

    with atomic():
        return use_case()


def create_buffer(
    enrollment_id: str, data: bytes, content_type: str, digest: str | None, *, client_id: str, transaction_id: str
) -> str:
    """OSIA createBuffer: allowed before the enrollment exists ("prior to the create"), not after
    it is finalized. A ``Digest`` header, if sent, must match (RFC 3230)."""

    def use_case() -> str:
        _check_id(enrollment_id)
        existing = db.session.get(Enrollment, enrollment_id)
        if existing is not None and existing.status == "FINALIZED":
            raise UpdateNotAllowed()
        if not data:
            raise InvalidContent("The buffer is empty.")
        if len(data) > state().settings.max_buffer_bytes:
            raise InvalidContent("The buffer is larger than IDBB_MAX_BUFFER_BYTES.")
        if digest:
            try:
                verify_digest(digest, data)
            except FormatError as exc:
                raise InvalidDigest(f"Digest: {exc}") from exc
        mime = content_type.split(";")[0].strip().lower()
        detected = sniff(data)
        if mime.startswith("image/") or mime == "application/pdf":
            detected = check_content(data, mime_type=mime, compression=None, what="buffer")
        blob = blobs.store(_owner(enrollment_id), data, content_type=mime, detected_format=detected)
        buffer_id = blob.blob_id
        db.session.add(
            EnrollmentBuffer(
                buffer_id=buffer_id,
                enrollment_id=enrollment_id,
                blob_id=blob.blob_id,
                content_type=mime,
                client_id=client_id,
                created_at=clock.now(),
            )
        )
        audit.record(
            "enrollment.buffer_created",
            actor=f"client:{client_id}",
            target=enrollment_id,
            details={"transactionId": transaction_id, "bufferId": buffer_id, "size": len(data)},
        )
        return buffer_id

    with atomic():
        return use_case()


def read_buffer(enrollment_id: str, buffer_id: str, *, client_id: str, transaction_id: str) -> tuple[bytes, str, str]:
    """OSIA readBuffer: the bytes, the content type they were uploaded with, and a ``Digest`` value."""

    def use_case() -> tuple[bytes, str, str]:
        buffer = db.session.get(EnrollmentBuffer, buffer_id)
        if buffer is None or buffer.enrollment_id != enrollment_id:
            raise UnknownBuffer("No buffer has this id for this enrollment.")
        data, _ = blobs.load(buffer.blob_id)
        audit.record(
            "enrollment.buffer_read",
            actor=f"client:{client_id}",
            target=enrollment_id,
            details={"transactionId": transaction_id, "bufferId": buffer_id},
        )
        return data, buffer.content_type, digest_header(data)

    with atomic():
        return use_case()
