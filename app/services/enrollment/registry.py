"""The identity registry: finalization into identities, uniqueness, evidence-backed updates, history.

GovStack IDBB §6/§8.2: at least one identifier per identity (the UIN), uniqueness (a biographic
duplicate check flags a possible duplicate instead of creating a second identity; an operator
decides), attribute updates only with legal evidence and a reason, every change a new version.
Events go to the transactional outbox in the caller's transaction.
"""

import hashlib
import unicodedata
import uuid
from typing import Any, Protocol

from sqlalchemy import delete, select

from app.clock import clock
from app.errors import (
    CaseDecided,
    EvidenceRequired,
    IdentifierTaken,
    IdentityNotMergeable,
    InvalidDecision,
    InvalidIdentifier,
    InvalidRequest,
    PossibleDuplicate,
    ReasonRequired,
    UnknownCase,
    UnknownIdentity,
)
from app.extensions import db, state
from app.formats import FormatError
from app.formats.canonical import canonical_json
from app.formats.json_text import check_i_json
from app.formats.merge_patch import merge_patch
from app.models.enrollment import Enrollment
from app.models.registry import DuplicateCase, Identity, IdentityIdentifier, IdentityMatchKey, IdentityVersion
from app.services import audit, outbox
from app.services.enrollment import blobs, uins
from app.services.enrollment.content import DOCUMENT_FORMATS, check_content, decode_b64
from app.services.lifecycle import registry_events
from app.services.transaction import atomic

IDENTIFIER_TYPES = ("UIN", "NATIONAL_ID", "PASSPORT", "VID", "OTHER")
UPDATE_REQUEST_TYPES = ("UPDATE", "UPDATE_IDENTITY")


class BiometricMatcher(Protocol):
    """An ABIS (OSIA ``abis.yaml``) plugged in by the deployment: given an enrollment's biometric
    records, return the UINs of identities that match. idbb ships no fake matcher."""

    def identify(self, biometrics: list[dict[str, Any]]) -> list[str]: ...


def matcher() -> BiometricMatcher | None:
    found = state().cache.get("biometric_matcher")
    return found  # type: ignore[return-value]  # state().cache is typed as dict[str, object]


def register_matcher(flask_app: Any, implementation: BiometricMatcher) -> None:
    flask_app.extensions["idbb"].cache["biometric_matcher"] = implementation


def _normalise(value: Any) -> str:
    text = unicodedata.normalize("NFKD", str(value or "")).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def match_keys(biographic: dict[str, Any]) -> set[str]:
    """One SHA-256 key per configured attribute group (``IDBB_DEDUP_ATTRIBUTES``: groups separated by
    ``;``, attributes by ``,``) whose attributes are all present, over their normalised values
    (accents, case, spaces and punctuation removed). Two records sharing any key may be one person;
    an optional extra attribute adds a key, it never hides a match."""
    keys = set()
    for group in state().settings.dedup_attributes.split(";"):
        names = [n.strip() for n in group.split(",") if n.strip()]
        values = [_normalise(biographic.get(n)) for n in names]
        if names and all(values):
            keys.add(hashlib.sha256(canonical_json([names, values])).hexdigest())
    return keys


def _holders(keys: set[str], *, besides: str | None = None) -> list[str]:
    """UINs of identities holding any of ``keys`` (other than ``besides``)."""
    if not keys:
        return []
    query = (
        select(Identity.uin)
        .join(IdentityMatchKey, IdentityMatchKey.identity_id == Identity.identity_id)
        .where(IdentityMatchKey.key.in_(keys))
    )
    if besides is not None:
        query = query.where(Identity.identity_id != besides)
    return sorted(set(db.session.execute(query).scalars()))


def _set_keys(identity_id: str, keys: set[str]) -> None:
    db.session.execute(delete(IdentityMatchKey).where(IdentityMatchKey.identity_id == identity_id))
    for key in sorted(keys):
        db.session.add(IdentityMatchKey(key=key, identity_id=identity_id))


def _public_biographic(document: dict[str, Any]) -> dict[str, Any]:
    biographic = document.get("biographicData") or {}
    if not isinstance(biographic, dict):  # stored before biographicData had to be an object
        raise InvalidRequest("biographicData must be an object.")
    return dict(biographic)


def _contacts(biographic: dict[str, Any]) -> dict[str, Any]:
    return {k: biographic[k] for k in ("email", "phoneNumber") if biographic.get(k)}


def finalize_enrollment(enrollment: Enrollment, *, actor: str, transaction_id: str) -> None:
    """Create or update the identity an enrollment describes, or open a duplicate case."""
    document = enrollment.document or {}
    request = document.get("requestData") or {}
    biographic = _public_biographic(document)
    if request.get("requestType") in UPDATE_REQUEST_TYPES:
        _update_from_enrollment(enrollment, request, biographic, actor, transaction_id)
        return
    candidates = _holders(match_keys(biographic))
    reason = "BIOGRAPHIC"
    plugged = matcher()
    if plugged is not None and document.get("biometricData"):
        biometric_hits = plugged.identify(document["biometricData"])
        if biometric_hits:
            candidates = sorted(set(candidates) | set(biometric_hits))
            reason = "BIOMETRIC"
    if candidates:
        case = DuplicateCase(
            case_id=str(uuid.uuid4()),
            enrollment_id=enrollment.enrollment_id,
            candidates=sorted(candidates),
            reason=reason,
            status="PENDING",
            created_at=clock.now(),
        )
        db.session.add(case)
        enrollment.outcome = "DUPLICATE_SUSPECTED"
        outbox.emit(
            "duplicatePerson", {"enrollmentId": enrollment.enrollment_id, "uins": sorted(candidates), "caseId": case.case_id}
        )
        audit.record(
            "registry.duplicate_suspected",
            actor=actor,
            target=enrollment.enrollment_id,
            details={"caseId": case.case_id, "reason": reason, "transactionId": transaction_id},
        )
        return
    _create_identity(enrollment, biographic, actor, transaction_id)


def _create_identity(enrollment: Enrollment, biographic: dict[str, Any], actor: str, transaction_id: str | None) -> Identity:
    now = clock.now()
    uin = uins.issue("identity")
    identity = Identity(
        identity_id=str(uuid.uuid4()),
        uin=uin,
        status="ACTIVE",
        version=1,
        biographic=biographic,
        contacts=_contacts(biographic),
        pin_hash=enrollment.pin_hash,
        created_at=now,
        updated_at=now,
    )
    db.session.add(identity)
    _set_keys(identity.identity_id, match_keys(biographic))
    identifiers = [("UIN", uin)]
    request = (enrollment.document or {}).get("requestData") or {}
    for extra in request.get("identifiers") or []:
        if not isinstance(extra, dict) or extra.get("type") not in IDENTIFIER_TYPES[1:] or not extra.get("value"):
            raise InvalidIdentifier(f"identifiers must be {{type, value}} with type in {', '.join(IDENTIFIER_TYPES[1:])}.")
        identifiers.append((extra["type"], str(extra["value"])))
    for id_type, value in identifiers:
        taken = db.session.execute(
            select(IdentityIdentifier.id).where(IdentityIdentifier.id_type == id_type, IdentityIdentifier.value == value)
        ).first()
        if taken:
            raise IdentifierTaken(f"A {id_type} identifier of this value is already registered.")
        db.session.add(IdentityIdentifier(identity_id=identity.identity_id, id_type=id_type, value=value))
    db.session.add(
        IdentityVersion(
            identity_id=identity.identity_id,
            version=1,
            changed_at=now,
            actor=actor,
            reason="enrollment",
            evidence=None,
            changes=[{"attribute": k, "after": v} for k, v in sorted(biographic.items())],
            enrollment_id=enrollment.enrollment_id,
            transaction_id=transaction_id,
        )
    )
    enrollment.identity_id = identity.identity_id
    enrollment.outcome = "IDENTITY_CREATED"
    db.session.flush()
    outbox.emit("newPerson", {"uin": uin})
    audit.record(
        "registry.identity_created",
        actor=actor,
        target=identity.identity_id,
        details={"enrollmentId": enrollment.enrollment_id, "transactionId": transaction_id},
    )
    return identity


def _by_uin(uin: str) -> Identity:
    identity = db.session.execute(select(Identity).where(Identity.uin == uin)).scalar_one_or_none()
    if identity is None:
        raise UnknownIdentity("No identity has this UIN.")
    return identity


def _evidence_from_enrollment(document: dict[str, Any]) -> dict[str, Any] | None:
    """The first embedded document part whose content is a recognised document format."""
    for doc in document.get("documentData") or []:
        for part in doc.get("parts") or []:
            ref = part.get("data")
            if isinstance(ref, dict) and "$blob" in ref:
                _, blob = blobs.load(ref["$blob"])
                if blob.detected_format in DOCUMENT_FORMATS:
                    return {
                        "documentType": doc.get("documentType"),
                        "blobId": ref["$blob"],
                        "mimeType": part.get("mimeType"),
                    }
    return None


def _update_from_enrollment(
    enrollment: Enrollment, request: dict[str, Any], biographic: dict[str, Any], actor: str, transaction_id: str
) -> None:
    evidence = _evidence_from_enrollment(enrollment.document or {})
    identity = _apply_update(
        str(request.get("uin") or ""),
        biographic,
        request.get("reason"),
        evidence,
        actor,
        enrollment_id=enrollment.enrollment_id,
        transaction_id=transaction_id,
        credential_changed=enrollment.pin_hash is not None,
    )
    if enrollment.pin_hash:
        identity.pin_hash = enrollment.pin_hash
    enrollment.identity_id = identity.identity_id
    enrollment.outcome = "IDENTITY_UPDATED"


def check_attributes(section: str, value: Any) -> None:
    """Refuse a biographic (or contextual) section that is not an object, or that holds a string with a
    NUL or (in ``biographicData``) any control character, one over ``IDBB_MAX_ATTRIBUTE_CHARS``, or a
    number canonical hashing (RFC 8785) cannot take (RFC 7493 §2). PostgreSQL refuses NUL in text and
    jsonb; a name with a control character is never a person's name."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise InvalidRequest(f"{section} must be an object.")
    try:
        check_i_json(
            value,
            max_chars=state().settings.max_attribute_chars,
            printable=section == "biographicData",
            where=f"$.{section}",
        )
    except FormatError as exc:
        raise InvalidRequest(f"{exc}.") from exc


def _apply_update(
    uin: str,
    changes: dict[str, Any],
    reason: Any,
    evidence: dict[str, Any] | None,
    actor: str,
    *,
    enrollment_id: str | None = None,
    transaction_id: str | None = None,
    credential_changed: bool = False,
) -> Identity:
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequired("An attribute update needs a reason.")
    if not evidence:
        raise EvidenceRequired("An attribute update needs a legal evidence document.")
    if not isinstance(changes, dict) or (not changes and not credential_changed):
        raise InvalidRequest("Nothing to change.")
    check_attributes("biographicData", changes)
    identity = _by_uin(uin)
    before = dict(identity.biographic or {})
    after = merge_patch(before, changes)
    diff = [
        {"attribute": k, "before": before.get(k), "after": after.get(k)}
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]
    if credential_changed:
        diff.append({"attribute": "staticCodeCredential", "after": "replaced"})  # never the value itself
    if not diff:
        raise InvalidRequest("The update changes nothing.")
    old_keys, new_keys = match_keys(before), match_keys(after)
    clashes = _holders(new_keys - old_keys, besides=identity.identity_id)
    if clashes:  # uniqueness holds for updates too: the change would make this identity match another
        raise PossibleDuplicate(
            "After this change the identity would match another registered "
            "identity; resolve it through duplicate adjudication first."
        )
    identity.biographic = after
    identity.contacts = _contacts(after)
    _set_keys(identity.identity_id, new_keys)
    identity.version += 1
    identity.updated_at = clock.now()
    db.session.add(
        IdentityVersion(
            identity_id=identity.identity_id,
            version=identity.version,
            changed_at=identity.updated_at,
            actor=actor,
            reason=reason.strip()[:512],
            evidence=evidence,
            changes=diff,
            enrollment_id=enrollment_id,
            transaction_id=transaction_id,
        )
    )
    outbox.emit("updatePerson", {"uin": identity.uin, "version": identity.version})
    audit.record(
        "registry.identity_updated",
        actor=actor,
        target=identity.identity_id,
        details={"version": identity.version, "attributes": [d["attribute"] for d in diff]},
    )
    # issue 17: a death revokes/suspends the person's credentials, another change marks them for renewal
    registry_events.identity_updated(identity.uin, [d["attribute"] for d in diff], after, actor=actor)
    return identity


def update_attributes(uin: str, changes: dict[str, Any], reason: Any, evidence: Any, *, actor: str) -> dict[str, Any]:
    """Operator/back-office update of an identity's attributes, with a reason and an evidence document."""
    with atomic():
        stored = None
        if isinstance(evidence, dict) and evidence.get("data"):
            data = decode_b64(evidence["data"], "evidence.data")
            fmt = check_content(
                data, mime_type=evidence.get("mimeType"), compression=None, what="evidence", allowed=DOCUMENT_FORMATS
            )
            blob = blobs.store(f"identity:{uin}", data, content_type=evidence.get("mimeType"), detected_format=fmt)
            stored = {
                "documentType": evidence.get("documentType") or "OTHER",
                "blobId": blob.blob_id,
                "mimeType": evidence.get("mimeType"),
            }
        identity = _apply_update(uin, changes, reason, stored, actor)
        return {"uin": identity.uin, "version": identity.version}


def read_identity(uin: str) -> dict[str, Any]:
    identity = _by_uin(uin)
    identifiers = db.session.execute(
        select(IdentityIdentifier)
        .where(IdentityIdentifier.identity_id == identity.identity_id)
        .order_by(IdentityIdentifier.id)
    ).scalars()
    return {
        "uin": identity.uin,
        "status": identity.status,
        "version": identity.version,
        "biographicData": identity.biographic,
        "identifiers": [{"type": i.id_type, "value": i.value} for i in identifiers],
        "hasPin": identity.pin_hash is not None,
        "createdAt": identity.created_at.isoformat(),
        "updatedAt": identity.updated_at.isoformat(),
    }


def history(uin: str) -> list[dict[str, Any]]:
    identity = _by_uin(uin)
    rows = db.session.execute(
        select(IdentityVersion).where(IdentityVersion.identity_id == identity.identity_id).order_by(IdentityVersion.version)
    ).scalars()
    out = []
    for row in rows:
        evidence = None
        if row.evidence:
            _, blob = blobs.load(row.evidence["blobId"])
            evidence = {
                "documentType": row.evidence.get("documentType"),
                "mimeType": row.evidence.get("mimeType"),
                "sha256": blob.sha256,
            }
        out.append(
            {
                "version": row.version,
                "changedAt": row.changed_at.isoformat(),
                "changedBy": row.actor,
                "reason": row.reason,
                "evidence": evidence,
                "changes": row.changes,
                "enrollmentId": row.enrollment_id,
            }
        )
    return out


def list_duplicate_cases(status: str | None) -> list[dict[str, Any]]:
    query = select(DuplicateCase).order_by(DuplicateCase.created_at)
    if status:
        query = query.where(DuplicateCase.status == status)
    return [_case_view(c) for c in db.session.execute(query).scalars()]


def _case_view(case: DuplicateCase) -> dict[str, Any]:
    return {
        "caseId": case.case_id,
        "enrollmentId": case.enrollment_id,
        "candidates": case.candidates,
        "reason": case.reason,
        "status": case.status,
        "decidedBy": case.decided_by,
        "decidedAt": case.decided_at.isoformat() if case.decided_at else None,
        "createdAt": case.created_at.isoformat(),
    }


def decide_duplicate(case_id: str, decision: str, reason: Any, *, actor: str) -> dict[str, Any]:
    """Operator decision: NOT_DUPLICATE creates the identity; DUPLICATE closes the enrollment."""
    with atomic():
        case = db.session.get(DuplicateCase, case_id)
        if case is None:
            raise UnknownCase("No duplicate case has this id.")
        if case.status != "PENDING":
            raise CaseDecided("This case has already been decided.")
        if decision not in ("DUPLICATE", "NOT_DUPLICATE"):
            raise InvalidDecision("decision must be DUPLICATE or NOT_DUPLICATE.")
        if not isinstance(reason, str) or not reason.strip():
            raise ReasonRequired("A decision needs a reason.")
        enrollment = db.session.get(Enrollment, case.enrollment_id)
        assert enrollment is not None
        case.status, case.decided_by, case.decided_at = decision, actor, clock.now()
        case.decision_reason = reason.strip()[:512]
        result: dict[str, Any] = {"caseId": case.case_id, "status": decision}
        if decision == "NOT_DUPLICATE":
            identity = _create_identity(enrollment, _public_biographic(enrollment.document or {}), actor, None)
            result["uin"] = identity.uin
        else:
            enrollment.outcome = "REJECTED_DUPLICATE"
        audit.record("registry.duplicate_decided", actor=actor, target=case.case_id, details={"decision": decision})
        return result


def merge_identity(uin: str, into_uin: Any, reason: Any, *, actor: str) -> dict[str, Any]:
    """Merge identity ``uin`` into ``into_uin`` (one person was registered twice): the source is retired, not
    deleted (status ``MERGED``: it no longer logs in or gets a credential, and its history stays for audit),
    the merge is a new version of the source naming its survivor, and the source's credentials follow
    ``IDBB_REGISTRY_MERGE_ACTION`` (issue 17: revoke or suspend). The survivor is untouched: attributes to carry
    over are an evidence-backed update of their own. One transaction with its audit and outbox events."""
    with atomic():
        if not isinstance(reason, str) or not reason.strip():
            raise ReasonRequired("A merge needs a reason.")
        if not isinstance(into_uin, str) or into_uin == uin:
            raise IdentityNotMergeable()
        source = db.session.execute(select(Identity).where(Identity.uin == uin).with_for_update()).scalar_one_or_none()
        target = db.session.execute(select(Identity).where(Identity.uin == into_uin).with_for_update()).scalar_one_or_none()
        if source is None or target is None:
            raise UnknownIdentity("No identity has this UIN.")
        if source.status != "ACTIVE" or target.status != "ACTIVE":  # a merged identity is never merged again
            raise IdentityNotMergeable()
        now = clock.now()
        source.status, source.version, source.updated_at = "MERGED", source.version + 1, now
        db.session.add(
            IdentityVersion(
                identity_id=source.identity_id,
                version=source.version,
                changed_at=now,
                actor=actor,
                reason=reason.strip()[:512],
                evidence=None,
                changes=[{"attribute": "status", "before": "ACTIVE", "after": "MERGED", "mergedInto": into_uin}],
            )
        )
        _set_keys(source.identity_id, set())  # the survivor alone answers the duplicate check from now on
        changed = registry_events.identity_merged(uin, into_uin, actor=actor)
        audit.record(
            "registry.identity_merged",
            actor=actor,
            target=source.identity_id,
            details={"into": target.identity_id, "credentialsChanged": changed},
        )
        # OSIA notification duplicatePerson: the uin kept and the duplicates retired (identifiers only)
        outbox.emit("duplicatePerson", {"uin": into_uin, "duplicates": [uin]})
        return {
            "uin": uin,
            "mergedInto": into_uin,
            "status": "MERGED",
            "version": source.version,
            "credentialsChanged": changed,
        }


def identity_for_login(identifier: str) -> Identity | None:
    """Look an identity up by any of its identifiers (for the login flows)."""
    rows = set(
        db.session.execute(select(IdentityIdentifier.identity_id).where(IdentityIdentifier.value == identifier)).scalars()
    )
    if len(rows) != 1:  # unknown, or the same value under two identifier types of different people
        return None
    return db.session.get(Identity, rows.pop())
