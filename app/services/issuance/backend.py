"""The backend issue API (``openapi/issuance.yaml``): start an issuance, read it and its history, search, and
complete or deny a Deferred one.

A backend (an API client with ``issuance.write`` / ``issuance.read``) sees only the issuances it started. The
subject's claims (from the registry by UIN, or given explicitly) are checked against every configuration at once,
so a bad request fails here rather than at the wallet, then sealed until the credential is issued.
"""

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.errors import NotFound, Unavailable
from app.extensions import db, state
from app.models.issuance import Issuance, IssuedCredential
from app.models.registry import Identity
from app.services import lifecycle, notifier
from app.services.enrollment import registry
from app.services.issuance import authorization, offers, push, records
from app.services.issuance.configurations import CredentialConfiguration, configured
from app.services.issuance.errors import (
    IdentityBlocked,
    InactiveIdentity,
    InvalidIssuance,
    InvalidTxCodeDelivery,
    MissingClaim,
    NotPending,
    UnknownCredentialConfiguration,
    UnsupportedGrant,
)
from app.services.stored_secrets import mac
from app.services.transaction import atomic

TX_DIGITS = "0123456789"
TX_TEXT = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from an e-mail and typed by hand
SEARCH_LIMIT = 100


configurations = configured


def tx_code_mac(issuance_id: str, code: str) -> str:
    """HMAC of a tx_code under a KEK-derived key: a short code stays unguessable from a database read."""
    return mac("tx code", f"{issuance_id}:{code}")


def tx_code_matches(row: Issuance, given: str) -> bool:
    return row.tx_code_hash is not None and hmac.compare_digest(row.tx_code_hash, tx_code_mac(row.issuance_id, given))


def _subject_data(body: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any] | None]:
    """(uin, registry attributes, explicit claims) of the request."""
    subject = body.get("subject") or {}
    explicit = body.get("claims")
    uin = subject.get("uin")
    attributes: dict[str, Any] = {}
    if uin is not None:
        identity = registry.read_identity(str(uin))  # NotFound for an unknown UIN
        if identity["status"] != "ACTIVE":
            raise InactiveIdentity("The identity is not active.")
        if lifecycle.is_blocked(identity["uin"]):  # issue 17: a blocked identity gets no new credential
            raise IdentityBlocked("The identity is blocked: no credential can be issued.")
        attributes = {**identity["biographicData"], "uin": identity["uin"]}
    return (str(uin) if uin is not None else None), attributes, explicit


def _check_claims(
    configs: list[CredentialConfiguration], attributes: dict[str, Any], explicit: dict[str, Any] | None
) -> None:
    settings = state().settings
    for config in configs:
        try:
            config.values(
                attributes,
                explicit,
                now=clock.now(),
                issuing_country=settings.mdoc_country,
                issuing_authority=settings.issuer,
            )
        except KeyError as exc:  # names the claim's path, never its value
            raise MissingClaim(f"Claim {exc.args[0]} of {config.id} has no valid value.") from exc


def _tx_code(spec: dict[str, Any]) -> tuple[str, str, int]:
    length = int(spec.get("length", 6))
    mode = spec.get("inputMode", "numeric")
    alphabet = TX_DIGITS if mode == "numeric" else TX_TEXT
    return "".join(secrets.choice(alphabet) for _ in range(length)), mode, length


def _deliver(channel: str, uin: str | None, code: str, mapped: dict[str, str] | None = None) -> None:
    """Send the tx_code to the person's contact through the notifier (the code never reaches the backend); for a
    document subject, to the contact among its identity mappings' attributes (``email`` / ``phone_number``)."""
    if mapped is not None:
        address = mapped.get("email" if channel == "email" else "phone_number")
        if not address:
            raise InvalidTxCodeDelivery(f"No identity mapping of the document has a {channel} contact.")
        _send(channel, str(address), code)
        return
    if uin is None:
        raise InvalidTxCodeDelivery("E-mail or SMS delivery needs a subject UIN.")
    contacts = db.session.execute(select(Identity.contacts).where(Identity.uin == uin)).scalar_one_or_none() or {}
    address = contacts.get("email" if channel == "email" else "phoneNumber")
    if not address:
        raise InvalidTxCodeDelivery(f"The identity has no {channel} contact.")
    _send(channel, str(address), code)


def _send(channel: str, address: str, code: str) -> None:
    settings = state().settings
    sender = state().cached("notifier", lambda: notifier.from_settings(settings))
    if channel not in sender.channels():
        raise Unavailable(f"No notifier reaches the {channel} channel.")
    try:
        sender.send(
            channel, address, "Your credential code", f"Your code to collect your credential is {code}. Do not share it."
        )
    except notifier.DeliveryError as exc:
        raise Unavailable("The code could not be delivered.", detail=str(exc)) from exc


def create(body: dict[str, Any], *, client_id: str) -> dict[str, Any]:
    """``POST /v1/issuance``: one issuance with its offer, in one transaction; then, with ``walletEndpoint``, the
    offer pushed to the wallet (:mod:`app.services.issuance.push`) and the outcome recorded in a second one."""
    settings = state().settings
    known = configurations()
    document_key = body["subject"] if "document_id" in (body.get("subject") or {}) else None  # issue 18
    ids = body.get("credentialConfigurationIds") or (
        [body["credentialConfigurationId"]] if body.get("credentialConfigurationId") else []
    )
    if document_key is not None:
        from app.services.datastore.validation import configuration_for

        scoped = configuration_for(str(document_key["scope"])).id
        ids = ids or [scoped]
        if ids != [scoped]:
            raise InvalidIssuance("A document is issued as the configuration its scope names.")
    if not ids or len(set(ids)) != len(ids):
        raise InvalidIssuance("Name one or more distinct credential configurations.")
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UnknownCredentialConfiguration("A credential configuration is unknown.")
    grant = body.get("grant", "pre-authorized_code")
    if grant not in ("pre-authorized_code", authorization.AUTHORIZATION_CODE_GRANT):
        raise UnsupportedGrant("grant must be pre-authorized_code or authorization_code.")
    if grant == authorization.AUTHORIZATION_CODE_GRANT:
        if body.get("subject") is None or document_key is not None:
            # the safe rule: the person who logs in must be the subject; explicit claims never go to whoever logs in
            raise InvalidIssuance(
                "The authorization_code grant needs subject.uin: only that person may log in to collect the credential."
            )
        if body.get("txCode") is not None:  # §4.1.1: tx_code belongs to the pre-authorized code grant
            raise InvalidIssuance("txCode is for the pre-authorized_code grant only.")
    endpoint = push.check_endpoint(str(body["walletEndpoint"])) if body.get("walletEndpoint") is not None else None
    mode = body.get("mode", "InTime")
    if body.get("subject") is not None and body.get("claims") is not None:
        raise InvalidIssuance("Give either subject or claims, not both.")
    if mode == "InTime" and body.get("subject") is None and body.get("claims") is None:
        raise InvalidIssuance("An InTime issuance needs subject or claims.")
    ttl = int(body.get("expiresIn", settings.credential_offer_ttl))
    if ttl > settings.credential_offer_max_ttl:
        raise InvalidIssuance("expiresIn is longer than this issuer allows.")
    with atomic():
        records.purge_expired()
        document = None
        attributes: dict[str, Any]
        explicit: dict[str, Any] | None
        if document_key is not None:
            from app.services.datastore import documents, issuing

            document = documents.subject(document_key)  # DOCUMENT_NOT_FOUND for an unknown or deleted one
            uin, attributes, explicit = None, {}, document.data
        else:
            uin, attributes, explicit = _subject_data(body)
        configs = [known[i] for i in ids]
        if body.get("subject") is not None or explicit is not None:
            _check_claims(configs, attributes, explicit)
        now = clock.now()
        row = records.new_issuance(
            client_id=client_id,
            correlation_id=body.get("correlationId"),
            configuration_ids=ids,
            subject_uin=uin,
            mode=mode,
            grant_type=grant,
            state="offer_sent",
            credential_status="pending" if mode == "Deferred" else None,
            code_hash=offers.code_hash_for(grant),
            offer_scheme=body.get("offerScheme", offers.SCHEMES[0]),
            now=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        issuance_id = row.issuance_id
        if body.get("subject") is not None or explicit is not None:
            records.seal_claims(row, {"attributes": attributes, "explicit": explicit})
        tx = body.get("txCode")
        code = None
        if tx is not None:
            code, mode_name, length = _tx_code(tx)
            row.tx_code_hash, row.tx_code_input_mode, row.tx_code_length = tx_code_mac(issuance_id, code), mode_name, length
            delivery = tx.get("delivery", "response")
            if delivery in ("email", "sms"):
                _deliver(delivery, uin, code, document.contacts if document is not None else None)
        records.move(row, "offer_sent")
        db.session.add(row)
        if document is not None:
            from app.services.datastore import issuing

            issuing.link(document.document, issuance_id)
        records.event(
            row,
            "offer_created",
            actor=client_id,
            mode=mode,
            grant=grant,
            tx_code=(tx or {}).get("delivery") if tx is not None else None,
        )
        records.emit("credential.offered", row)
        uri = offers.offer_uri(row, by_value=bool(body.get("offerByValue")))
        answer: dict[str, Any] = {
            "issuanceId": issuance_id,
            "offerUri": uri,
            "offer": offers.offer_object(row),
            "statusUri": f"{settings.issuer}/v1/issuance/{issuance_id}",
            "offerPage": f"{settings.issuer}/offers/{issuance_id}",
            "expiresAt": _iso(row.expires_at),
        }
        if row.correlation_id is not None:
            answer["correlationId"] = row.correlation_id
        qr = body.get("qrCode") or {}
        answer["qrCode"] = offers.qr_data_uri(uri, kind=qr.get("format", "svg"), scale=int(qr.get("size", 4)))
        if code is not None and (tx or {}).get("delivery", "response") == "response":
            answer["txCode"] = code
    if endpoint is not None:  # after the commit: never an outbound call inside the database transaction
        answer["walletPush"] = push.deliver(issuance_id, endpoint, uri, actor=client_id)
    return answer


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _owned(issuance_id: str, client_id: str, *, lock: bool = False) -> Issuance:
    query = select(Issuance).where(Issuance.issuance_id == issuance_id)
    if lock:
        query = query.with_for_update()
    row = db.session.execute(query).scalar_one_or_none() if len(issuance_id) <= 36 else None
    if row is None or row.client_id != client_id:  # least privilege: a backend sees only its own issuances
        raise NotFound("No issuance has this id.")
    return row


def view(row: Issuance) -> dict[str, Any]:
    credentials = list(
        db.session.execute(
            select(IssuedCredential)
            .where(IssuedCredential.issuance_id == row.issuance_id)
            .order_by(IssuedCredential.issued_at)
        ).scalars()
    )
    status = lifecycle.statuses([c.credential_id for c in credentials])  # issue 17: each one's list entry
    out: dict[str, Any] = {
        "issuanceId": row.issuance_id,
        "state": row.state,
        "mode": row.mode,
        "credentialConfigurationIds": list(row.configuration_ids),
        "createdAt": _iso(row.created_at),
        "expiresAt": _iso(row.expires_at),
        "history": list(row.history),
        "credentials": [
            {
                "credentialId": c.credential_id,
                "configurationId": c.configuration_id,
                "format": c.format,
                "expiresAt": _iso(c.expires_at),
                "revocationId": c.revocation_id,
                "revocationStatus": status.get(c.credential_id, ("Operational", False))[0],
                "renewalDue": status.get(c.credential_id, ("Operational", False))[1],
                "status": {"idx": c.status_index, "uri": f"{state().settings.issuer}/statuslists/{c.status_list_id}"},
            }
            for c in credentials
        ],
    }
    if row.correlation_id is not None:
        out["correlationId"] = row.correlation_id
    if row.credential_status is not None:
        out["credentialStatus"] = row.credential_status
    return out


def read(issuance_id: str, *, client_id: str) -> dict[str, Any]:
    return view(_owned(issuance_id, client_id))


def search(
    *,
    client_id: str,
    correlation_id: str | None = None,
    state_name: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: int = SEARCH_LIMIT,
) -> dict[str, Any]:
    query = select(Issuance).where(Issuance.client_id == client_id)
    if correlation_id is not None:
        query = query.where(Issuance.correlation_id == correlation_id)
    if state_name is not None:
        query = query.where(Issuance.state == state_name)
    if created_after is not None:
        query = query.where(Issuance.created_at >= created_after)
    if created_before is not None:
        query = query.where(Issuance.created_at < created_before)
    rows = db.session.execute(query.order_by(Issuance.created_at.desc()).limit(min(limit, SEARCH_LIMIT))).scalars()
    return {"issuances": [view(r) for r in rows]}


def complete(issuance_id: str, body: dict[str, Any], *, client_id: str) -> dict[str, Any]:
    """``POST /v1/issuance/{id}/complete``: the claims of a Deferred issuance, or its denial."""
    with atomic():
        row = _owned(issuance_id, client_id, lock=True)
        if row.mode != "Deferred" or row.credential_status != "pending" or row.state == "issuance_denied":
            raise NotPending("This issuance is not a pending Deferred issuance.")
        deny = body.get("deny")
        if deny is not None:
            row.credential_status, row.denied_reason, row.claims_sealed = "denied", str(deny.get("reason", ""))[:500], None
            records.move(row, "issuance_denied")
            records.event(row, "denied", actor=client_id)
            records.emit("credential.denied", row)
            return view(row)
        explicit = body.get("claims")
        stored = records.open_claims(row) or {}
        attributes = stored.get("attributes") or {}
        if explicit is None and not attributes and stored.get("explicit") is None:
            raise InvalidIssuance("Give the claims, or deny the issuance.")
        explicit = explicit if explicit is not None else stored.get("explicit")
        _check_claims([configurations()[i] for i in row.configuration_ids], attributes, explicit)
        records.seal_claims(row, {"attributes": attributes, "explicit": explicit})
        row.credential_status = "ready"
        row.updated_at = clock.now()
        records.event(row, "completed", actor=client_id)
        return view(row)


def parse_time(value: datetime | str | None) -> datetime | None:
    """A search bound: an aware datetime (naive ones are read as UTC); a malformed one is a 400."""
    from datetime import UTC

    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidIssuance("createdAfter/createdBefore must be RFC 3339 times.") from exc
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
