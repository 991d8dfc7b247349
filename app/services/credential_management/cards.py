"""``POST /download/personalized-card``: a new printable card for an active, unblocked identity (issue 17)."""

from app.services import lifecycle
from app.services.cards import personalized
from app.services.credential_management import events
from app.services.credential_management.identities import identity
from app.services.issuance import errors as issuance_errors
from app.services.transaction import atomic


class IdentityBlocked(issuance_errors.IdentityBlocked):
    """409: no credential (a card included) is issued to a blocked or inactive identity."""

    status = 409
    description = "No card can be issued to this identity now."


def download(uin: str, *, client_id: str) -> tuple[bytes, str]:
    """(PDF, eventId): the card made, kept and its event recorded in one transaction."""
    with atomic():
        person = identity(uin)
        if person.status != "ACTIVE" or lifecycle.is_blocked(uin):
            raise IdentityBlocked()
        card = personalized.issue(uin, actor=client_id)
        event_id = events.record("download_card", client_id=client_id, uin=uin, info={"cardId": card.card_id})
    return card.pdf, event_id
