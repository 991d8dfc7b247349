"""Renewal (GovStack §8.2.3 "renewal"): a similar credential issued from an existing one — the same configuration
for the same person, claims read from the registry again, a new validity — as a new issuance with its offer.

What becomes of the old credential is the policy ``IDBB_RENEWAL_OLD_CREDENTIAL``, fixed when the renewal starts:
``keep`` (valid until it expires) or ``revoke_on_accept`` (revoked when the wallet sends ``credential_accepted``
for the new one, OpenID4VCI 1.0 §11.1, through the existing notification endpoint).
"""

from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.errors import InvalidRequest
from app.extensions import db, state
from app.models.issuance import Issuance
from app.models.lifecycle import CredentialRenewal
from app.services import audit
from app.services.issuance import backend
from app.services.lifecycle.changes import change
from app.services.lifecycle.selection import get_by_revocation_id
from app.services.lifecycle.states import INVALID, AlreadyRevoked, CredentialNotFound, StatusConflict
from app.services.transaction import atomic

_PASSED = ("txCode", "offerScheme", "qrCode", "correlationId", "expiresIn")


class NotRenewable(InvalidRequest):
    code = "not_renewable"
    description = "Only a credential issued for a registered person (subject.uin) can be renewed."


class CardNotRenewable(NotRenewable):
    description = "A printed card is not renewed online: order a new card (OSIA credential request or card download)."


def renew(revocation_id: str, body: dict[str, Any], *, client_id: str) -> dict[str, Any]:
    """``POST /v1/issuance/credentials/{revocationId}/renew``: the new issuance (``POST /v1/issuance``'s answer)."""
    with atomic():
        old = get_by_revocation_id(revocation_id)
        owner = db.session.execute(
            select(Issuance.client_id).where(Issuance.issuance_id == old.issuance_id)
        ).scalar_one_or_none()
        if owner != client_id:  # least privilege: the same answer as for an unknown credential
            raise CredentialNotFound()
        if old.status == INVALID:
            raise AlreadyRevoked(credential_id=old.credential_id)
        if old.subject_uin is None:
            raise NotRenewable()
        if old.format == "card":  # cards.personalized.CARD_FORMAT: no offer can carry a printed card
            raise CardNotRenewable()
        request = {
            "credentialConfigurationId": old.configuration_id,
            "subject": {"uin": old.subject_uin},
            **{k: body[k] for k in _PASSED if body.get(k) is not None},
        }
        answer = backend.create(request, client_id=client_id)  # claims from the registry now, a new validity
        policy = state().settings.renewal_old_credential
        db.session.add(
            CredentialRenewal(
                issuance_id=answer["issuanceId"], old_credential_id=old.credential_id, policy=policy, created_at=clock.now()
            )
        )
        audit.record(
            "credential.renew",
            actor=client_id,
            target=old.credential_id,
            details={"issuance": answer["issuanceId"], "policy": policy},
        )
        answer["renewalOf"] = revocation_id
        return answer


def accepted(issuance_id: str) -> None:
    """The wallet accepted the credential of ``issuance_id``: under ``revoke_on_accept``, revoke the one it renews.
    Runs inside the notification's transaction."""
    renewal = db.session.execute(
        select(CredentialRenewal).where(CredentialRenewal.issuance_id == issuance_id).with_for_update()
    ).scalar_one_or_none()
    if renewal is None or renewal.completed_at is not None:
        return
    renewal.completed_at = clock.now()
    if renewal.policy != "revoke_on_accept":
        return
    try:
        change("revoke", [renewal.old_credential_id], reason="renewed", actor="renewal")
    except StatusConflict:
        pass  # revoked meanwhile: nothing left to do
