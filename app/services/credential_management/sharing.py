"""``POST /share-credential``: selected attributes of a person to a registered partner, with the person's consent.

A *registered partner* is an active relying party of client management (``partnerId`` = its client id). *Consent*
is the person's own: an unexpired standing consent to that partner (``app.models.grants.Consent``, given on idbb's
consent page, OIDC Core §3.1.2.4) whose accepted claims cover every requested attribute, and ``consent:
Accepted`` in the request. Without both nothing is shared. The attributes (OIDC claim names, masked on request)
are answered as a JWT signed by idbb for that partner (``aud``), its ``sub`` the partner's subject for the person
(pairwise where the partner is), so the back office relays but cannot forge it.
"""

from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.errors import ConsentRequired, InvalidRequest, NotFound
from app.extensions import db, state
from app.models.clients import Client
from app.models.grants import Consent
from app.services import audit
from app.services.credential_management import events
from app.services.credential_management.identities import identity
from app.services.oidc import id_tokens
from app.services.transaction import atomic

SHARE_TTL = 600  # seconds the shared-attributes JWT is valid


class ConsentMissing(ConsentRequired):
    """``consent_required`` (the OIDC code), as a 403: the partner may not have these attributes."""

    description = "The person has not consented to share these attributes with this partner."
    status = 403


class UnknownPartner(NotFound):
    code = "unknown_partner"
    description = "No registered partner has this id."


def _masked(value: Any) -> Any:
    text = str(value)
    return text if len(text) <= 2 else "*" * (len(text) - 2) + text[-2:]


def share(request: dict[str, Any], *, client_id: str) -> dict[str, Any]:
    if request.get("consent") != "Accepted":
        raise ConsentMissing()
    names = [str(a["attributeName"]) for a in request["sharableAttributes"]]
    if len(set(names)) != len(names):
        raise InvalidRequest("An attribute is named twice.")
    with atomic():
        partner = db.session.get(Client, str(request["partnerId"]))
        if partner is None or partner.kind != "oidc" or partner.status != "active":
            raise UnknownPartner()
        person = identity(str(request["individualId"]))
        now = clock.now()
        consents = db.session.execute(
            select(Consent).where(
                Consent.identity_id == person.identity_id, Consent.client_id == partner.client_id, Consent.expires_at > now
            )
        ).scalars()
        accepted = set().union(*(set(c.accepted_claims or []) for c in consents))
        if not set(names) <= accepted:
            raise ConsentMissing()  # the same answer whichever attribute is missing: nothing is shared
        values = id_tokens.person_claims(person, names, [])
        masked = {a["attributeName"] for a in request["sharableAttributes"] if a.get("isMasked")}
        shared = {k: (_masked(v) if k in masked else v) for k, v in values.items()}
        epoch = int(now.timestamp())
        token = id_tokens.sign(
            {
                "iss": state().settings.issuer,
                "aud": partner.client_id,
                "sub": id_tokens.subject(partner, person.identity_id),
                "iat": epoch,
                "exp": epoch + SHARE_TTL,
                "purpose": request.get("purpose"),
                **shared,
            },
            "RS256",
        )
        event_id = events.record(
            "share_credential",
            client_id=client_id,
            uin=person.uin,
            info={"partnerId": partner.client_id, "attributeList": ",".join(sorted(names))},
        )
        audit.record(
            "credential.shared",
            actor=client_id,
            target=person.identity_id,
            details={"partnerId": partner.client_id, "attributes": sorted(names), "eventId": event_id},
        )
    return {"status": "Success", "eventId": event_id, "credential": token}
