"""Make a person's printable ID card: registry data, enrollment photo, signed QR payload, PDF (issue 17).

The printed data come from the registry identity (``biographic``), the photo from the newest finalized enrollment
of that identity holding a FACE image. The QR carries :mod:`app.formats.card_payload` signed with idbb's current
P-256 key (ES256): the key a verifier finds by ``kid`` in ``/.well-known/jwks.json`` (and, with its certificate,
in the ``x5c`` of the issuer's SD-JWT VC keys), so the card checks offline. The PDF is kept sealed in ``blobs``
(it shows personal data) so the same card can be fetched again; runs in the caller's transaction.

A card is a credential like a wallet's: it gets a Token Status List entry, printed into its QR payload, and a
credential record (configuration :data:`CONFIGURATION_ID`, format :data:`CARD_FORMAT`) through
``issuance.records.handed_over``, so suspend, unsuspend, revoke, ``/block`` and the registry's death and merge rules
reach it through ``app.services.lifecycle`` (issue 17). The card id is its credential id.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from app.clock import clock
from app.errors import NotFound, UnknownIdentity
from app.extensions import db, state
from app.formats import card_payload
from app.formats.status_list import status_reference
from app.models.cms import PrintedCard
from app.models.enrollment import Enrollment
from app.models.registry import Identity
from app.services import audit, keys
from app.services.cards import layout
from app.services.enrollment import blobs
from app.services.issuance import records
from app.services.status import allocation

#: The credential configuration (OSIA credential profile) of a printed card, and its format in credential records
CONFIGURATION_ID = "idbb.id_card"
CARD_FORMAT = "card"
PHOTO_TYPES = ("PNG", "JPEG")  # what the PDF library draws; others (JPEG 2000, WSQ) leave the photo box blank


class CardNotFound(NotFound):
    code = "card_not_found"
    description = "No card has this id."


@dataclass(frozen=True)
class Card:
    card_id: str
    uin: str
    pdf: bytes
    issued_at: datetime
    expires_at: datetime
    issuance_id: str | None = None  # the card's credential record (None when loaded again)


def _identity(uin: str) -> Identity:
    row = db.session.execute(select(Identity).where(Identity.uin == uin)).scalar_one_or_none()
    if row is None:  # the same answer whether the UIN was never issued or belongs to nobody registered
        raise UnknownIdentity("No registered identity has this UIN.")
    return row


def photo(identity_id: str) -> bytes | None:
    """The FACE image of the identity's newest finalized enrollment, decrypted (None when there is none)."""
    enrollments = db.session.execute(
        select(Enrollment)
        .where(Enrollment.identity_id == identity_id, Enrollment.finalized_at.is_not(None))
        .order_by(Enrollment.finalized_at.desc())
    ).scalars()
    for enrollment in enrollments:
        for item in (enrollment.document or {}).get("biometricData") or []:
            image = item.get("image") if isinstance(item, dict) else None
            if item.get("biometricType") == "FACE" and isinstance(image, dict) and "$blob" in image:
                data, row = blobs.load(str(image["$blob"]))
                if (row.detected_format or "").upper() in PHOTO_TYPES:
                    return data
    return None


def card_data(
    identity: Identity,
    *,
    card_id: str,
    now: datetime,
    valid_until: datetime | None = None,
    status: dict[str, Any] | None = None,
) -> card_payload.CardData:
    bio: dict[str, Any] = identity.biographic or {}
    settings = state().settings
    until = valid_until or now + timedelta(days=settings.card_validity_days)
    return card_payload.CardData(
        issuer=settings.issuer,
        uin=identity.uin,
        card_number=card_id,
        given_name=_text(bio.get("firstName")),
        family_name=_text(bio.get("lastName")),
        birthdate=_text(bio.get("dateOfBirth")),
        valid_from=now,
        valid_until=until,
        issued_at=now,
        status=status,
    )


def _text(value: Any) -> str | None:
    return str(value)[:64] if value not in (None, "") else None


def issue(uin: str, *, actor: str, credential_request_id: str | None = None, valid_until: datetime | None = None) -> Card:
    """A new card for ``uin``: a status-list entry, rendered, kept sealed, recorded as a credential, audited (in
    the caller's transaction)."""
    identity = _identity(uin)
    now = clock.now().replace(microsecond=0)
    card_id = str(uuid.uuid4())
    reference = allocation.allocate()
    data = card_data(
        identity, card_id=card_id, now=now, valid_until=valid_until, status=status_reference(reference.idx, reference.uri)
    )
    signer = keys.signing_key("EC")
    private = signer.jwk.get_op_key("sign")
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    qr_text = card_payload.encode(data, private, kid=signer.kid)
    pdf = layout.render(data, qr_text, photo=photo(identity.identity_id), font=state().settings.card_font)
    blob = blobs.store(f"card:{card_id}", pdf, content_type="application/pdf", detected_format="pdf")
    db.session.add(
        PrintedCard(
            card_id=card_id,
            uin=uin,
            credential_request_id=credential_request_id,
            blob_id=blob.blob_id,
            issued_at=now,
            expires_at=data.valid_until,
        )
    )
    record = records.handed_over(
        credential_id=card_id,
        client_id=actor,
        uin=uin,
        configuration_id=CONFIGURATION_ID,
        credential_format=CARD_FORMAT,
        status_list_id=reference.list_id,
        status_index=reference.idx,
        digest=hashlib.sha256(qr_text.encode("ascii")).hexdigest(),
        issued_at=now,
        expires_at=data.valid_until,
    )
    audit.record("card.issued", actor=actor, target=card_id, details={"credentialRequestId": credential_request_id})
    return Card(card_id, uin, pdf, now, data.valid_until, record.issuance_id)


def load(card_id: str) -> Card:
    """A card made before, its PDF decrypted."""
    row = db.session.get(PrintedCard, card_id) if len(card_id) <= 36 else None
    if row is None:
        raise CardNotFound()
    pdf, _ = blobs.load(row.blob_id)
    return Card(row.card_id, row.uin, pdf, row.issued_at, row.expires_at)
