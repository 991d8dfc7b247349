"""OSIA CMS 1.3 credential requests: create, read, update, cancel (PENDING -> ISSUED / CANCELLED / FAILED).

A request for a wallet profile (a credential configuration) makes an OpenID4VCI offer through the backend issue
service, in the same transaction as the request row; it stays PENDING until the wallet collected the credential
(ISSUED, with its credential ids), FAILED once the offer expired unused, CANCELLED by ``cancel`` (which withdraws
the offer). A request for the ID card profile makes the card PDF at once (ISSUED). A person who is unknown, not
active or blocked gets a FAILED request with the same ``statusOther`` (the same answer for known and unknown
people). The offer URI is a bearer secret (it leads to the pre-authorized code): it is kept sealed with the data
key, shown only to the client that made the request.

A back office sees only its own requests (least privilege; another client's id is the same 404).
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import IdbbError
from app.extensions import db, state
from app.formats import aead
from app.models.cms import CredentialRequest, PrintedCard
from app.models.issuance import Issuance, IssuedCredential
from app.models.registry import Identity
from app.services import audit, lifecycle
from app.services.cards import personalized
from app.services.cms import profiles
from app.services.cms.errors import (
    CardNotFound,
    ImmutableRequest,
    InvalidValidity,
    RequestExists,
    RequestNotFound,
    RequestNotPending,
    UnknownProfile,
)
from app.services.issuance import backend, records
from app.services.stored_secrets import data_key
from app.services.transaction import atomic

PENDING, ISSUED, CANCELLED, FAILED = "PENDING", "ISSUED", "CANCELLED", "FAILED"
NOT_ISSUABLE = "NOT_ISSUABLE"  # unknown, inactive or blocked person: one answer for all three
OFFER_ENDED = ("offer_expired", "issuance_denied", "credential_failure")


def _seal_offer(request_id: str, offer: dict[str, Any]) -> str:
    sealed = aead.seal(data_key(), json.dumps(offer).encode("utf-8"), request_id.encode())
    return sealed.hex()


def _open_offer(row: CredentialRequest) -> dict[str, Any] | None:
    sealed = (row.document or {}).get("offerSealed")
    if not sealed:
        return None
    raw = aead.open_sealed(data_key(), bytes.fromhex(sealed), row.credential_request_id.encode())
    return dict(json.loads(raw))


def _issuable(uin: str) -> bool:
    status = db.session.execute(select(Identity.status).where(Identity.uin == uin)).scalar_one_or_none()
    return status == "ACTIVE" and not lifecycle.is_blocked(uin)


def _stored(body: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    kept: dict[str, Any] = {k: body[k] for k in ("requestData", "biographicData", "biometricData") if k in body}
    return {**kept, **(extra or {})}


def _valid_to(request_data: dict[str, Any], profile: dict[str, Any]) -> datetime | None:
    """The card's end of validity from ``validToDate`` (CMS 1.3 RequestData), within the profile's default."""
    if request_data.get("validFromDate") is not None or request_data.get("validToDate") is not None:
        if profile["credentialType"] != "ID_CARD":  # a wallet credential's validity is its configuration's
            raise InvalidValidity("validFromDate/validToDate apply to the ID card profile only.")
    now = clock.now()
    if request_data.get("validFromDate") is not None:
        # RequestData.validFromDate: "This must only be later than the current date, not earlier."
        if _moment(request_data["validFromDate"]) < now:
            raise InvalidValidity("validFromDate must not be in the past.")
        raise InvalidValidity("A card is valid from its printing; validFromDate is not supported.")
    if request_data.get("validToDate") is None:
        return None
    moment = _moment(request_data["validToDate"])
    default_end = now + timedelta(days=int(profile["defaultLifetime"]))
    # RequestData.validToDate: "This must only be earlier than the default expiry, not later."
    if moment > default_end or moment <= now:
        raise InvalidValidity("validToDate must be in the future and not after the default expiry.")
    return moment


def _moment(raw: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValidity("Dates are RFC 3339 date-times.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create(request_id: str, body: dict[str, Any], *, client_id: str, transaction_id: str) -> None:
    """createCredentialRequest: the request and what it makes (offer or card), one transaction."""
    request_data = body["requestData"]
    profile = profiles.profile(str(request_data["credentialProfileId"]))
    if profile is None:
        raise UnknownProfile()
    uin = str(body["personId"])
    valid_to = _valid_to(request_data, profile)
    if db.session.get(CredentialRequest, request_id) is not None:
        raise RequestExists()
    now = clock.now()
    row = CredentialRequest(
        credential_request_id=request_id,
        client_id=client_id,
        status=PENDING,
        person_id=uin,
        profile_id=profile["credentialProfileId"],
        document=_stored(body),
        credential_ids=[],
        transaction_id=transaction_id,
        created_at=now,
        updated_at=now,
    )
    if not _issuable(uin):
        _failed(row, NOT_ISSUABLE, client_id)
        return
    try:
        with atomic():
            db.session.add(row)
            db.session.flush()  # a duplicate id (a concurrent create) fails here: 409 below
            if profile["credentialType"] == "ID_CARD":
                card = personalized.issue(uin, actor=client_id, credential_request_id=request_id, valid_until=valid_to)
                # the card's issuance: findCredentials by credentialRequestId finds the card as it finds an offer's
                row.status, row.credential_ids, row.issuance_id = ISSUED, [card.card_id], card.issuance_id
            else:
                # backend.create commits its own block: the request row goes with the issuance, in one commit
                made = backend.create(
                    {
                        "credentialConfigurationId": row.profile_id,
                        "subject": {"uin": uin},
                        "correlationId": request_id[:128],
                    },
                    client_id=client_id,
                )
                row = db.session.get(CredentialRequest, request_id) or row
                row.issuance_id = made["issuanceId"]
                row.document = _stored(
                    body,
                    {
                        "offerSealed": _seal_offer(
                            request_id, {k: made[k] for k in ("issuanceId", "offerUri", "offerPage", "expiresAt")}
                        )
                    },
                )
            row.updated_at = clock.now()
            audit.record(
                "cms.request_created",
                actor=client_id,
                target=request_id,
                details={"profile": row.profile_id, "status": row.status, "transactionId": transaction_id},
            )
    except IntegrityError:
        raise RequestExists() from None
    except IdbbError as exc:
        if exc.status >= 500 or isinstance(exc, RequestExists):
            raise
        row = CredentialRequest(
            **{
                c: getattr(row, c)
                for c in ("credential_request_id", "client_id", "person_id", "profile_id", "transaction_id", "created_at")
            },
            status=PENDING,
            document=_stored(body),
            credential_ids=[],
            updated_at=clock.now(),
        )
        _failed(row, NOT_ISSUABLE if exc.status == 404 else exc.code[:64], client_id)


def _failed(row: CredentialRequest, failure: str, actor: str) -> None:
    with atomic():
        row.status, row.failure = FAILED, failure
        db.session.add(row)
        audit.record(
            "cms.request_failed",
            actor=actor,
            target=row.credential_request_id,
            outcome="failure",
            details={"failure": failure},
        )


def _owned(request_id: str, client_id: str, *, lock: bool = False) -> CredentialRequest:
    query = select(CredentialRequest).where(CredentialRequest.credential_request_id == request_id)
    if lock:
        query = query.with_for_update()
    row = db.session.execute(query).scalar_one_or_none() if len(request_id) <= 128 else None
    if row is None or row.client_id != client_id:  # least privilege: a back office sees only its requests
        raise RequestNotFound()
    return row


def _refresh(row: CredentialRequest) -> None:
    """A wallet request's PENDING follows its offer: ISSUED once collected, FAILED once the offer ended."""
    if row.status != PENDING or row.issuance_id is None:
        return
    ids = list(
        db.session.execute(
            select(IssuedCredential.credential_id)
            .where(IssuedCredential.issuance_id == row.issuance_id)
            .order_by(IssuedCredential.issued_at)
        ).scalars()
    )
    issuance = db.session.get(Issuance, row.issuance_id)
    if ids:
        row.status, row.credential_ids = ISSUED, ids
    elif issuance is None or issuance.state in OFFER_ENDED or clock.now() >= issuance.expires_at:
        row.status, row.failure = FAILED, "OFFER_EXPIRED"
    else:
        return
    row.updated_at = clock.now()


def view(row: CredentialRequest) -> dict[str, Any]:
    document = row.document or {}
    out: dict[str, Any] = {
        "credentialRequestId": row.credential_request_id,
        "status": row.status,
        "personId": row.person_id,
        "requestData": document.get("requestData") or {},
        "biographicData": document.get("biographicData") or {},
        "credentialIds": list(row.credential_ids or []),
    }
    if document.get("biometricData") is not None:
        out["biometricData"] = document["biometricData"]
    offer = _open_offer(row)
    if offer is not None and row.status == PENDING:
        out["offer"] = offer
    if row.profile_id == profiles.ID_CARD and row.status == ISSUED:
        out["cardUri"] = f"{state().settings.issuer}/v1/credentialRequests/{row.credential_request_id}/card"
    if row.failure is not None:
        out["statusOther"] = row.failure
    return out


def read(request_id: str, *, client_id: str) -> dict[str, Any]:
    with atomic():
        row = _owned(request_id, client_id, lock=True)
        _refresh(row)
        return view(row)


def update(request_id: str, body: dict[str, Any], *, client_id: str, transaction_id: str) -> None:
    """updateCredentialRequest: a PENDING request's data; its person and profile stay (they made the offer)."""
    with atomic():
        row = _owned(request_id, client_id, lock=True)
        _refresh(row)
        if row.status != PENDING:
            raise RequestNotPending()
        if str(body["personId"]) != row.person_id or body["requestData"]["credentialProfileId"] != row.profile_id:
            raise ImmutableRequest("personId and credentialProfileId cannot change; cancel the request and create another.")
        sealed = (row.document or {}).get("offerSealed")
        row.document = _stored(body, {"offerSealed": sealed} if sealed else None)
        row.updated_at = clock.now()
        audit.record("cms.request_updated", actor=client_id, target=request_id, details={"transactionId": transaction_id})


def cancel(request_id: str, *, client_id: str, transaction_id: str) -> None:
    """cancelCredentialRequest: PENDING -> CANCELLED, and the offer can no longer be redeemed."""
    with atomic():
        row = _owned(request_id, client_id, lock=True)
        _refresh(row)
        if row.status != PENDING:
            raise RequestNotPending()
        if row.issuance_id is not None:
            issuance = records.locked(row.issuance_id)
            records.move(issuance, "offer_expired", reason="cancelled")
            issuance.expires_at = clock.now()
            issuance.claims_sealed = None
        row.status, row.updated_at = CANCELLED, clock.now()
        row.document = {k: v for k, v in (row.document or {}).items() if k != "offerSealed"}
        audit.record("cms.request_cancelled", actor=client_id, target=request_id, details={"transactionId": transaction_id})


def card(request_id: str, *, client_id: str) -> bytes:
    with atomic():
        row = _owned(request_id, client_id)
        card_id = next(iter(row.credential_ids or []), None)
        if row.profile_id != profiles.ID_CARD or card_id is None or db.session.get(PrintedCard, card_id) is None:
            raise CardNotFound()
        return personalized.load(card_id).pdf
