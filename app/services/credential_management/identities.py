"""Block / unblock an identity's credentials and activate / deactivate a UIN (GovStack credential management).

Blocking suspends every VALID credential of the identity on its status list and stops new issuance while it
lasts (``lifecycle.is_blocked``, checked by the OSIA CMS requests and the card download); unblocking unsuspends
them. A person unknown to the registry gets the same 404 whatever the reason.
"""

from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.errors import Conflict, osia
from app.extensions import db
from app.models.registry import Identity
from app.services import audit, lifecycle, outbox
from app.services.credential_management import events
from app.services.transaction import atomic


class UnknownIdentity(osia.UnknownIdentity):
    description = "No registered identity has this UIN."


class IdentityMerged(Conflict):
    code = "identity_merged"
    description = "This identity was merged into another; it cannot be activated again."


def identity(uin: str, *, lock: bool = False) -> Identity:
    query = select(Identity).where(Identity.uin == uin)
    if lock:
        query = query.with_for_update()
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        raise UnknownIdentity()
    return row


def block(uin: str, *, reason: str | None, client_id: str) -> dict[str, Any]:
    with atomic():
        identity(uin)
        changed = lifecycle.block_identity(uin, reason=reason, actor=client_id)
        event_id = events.record("block", client_id=client_id, uin=uin, info={"credentialsChanged": changed})
    return {"id": uin, "idType": "UIN", "status": "BLOCKED", "credentialsChanged": changed, "eventId": event_id}


def unblock(uin: str, *, reason: str | None, client_id: str) -> dict[str, Any]:
    with atomic():
        identity(uin)
        changed = lifecycle.unblock_identity(uin, reason=reason, actor=client_id)
        event_id = events.record("unblock", client_id=client_id, uin=uin, info={"credentialsChanged": changed})
    return {"id": uin, "idType": "UIN", "status": "UNBLOCKED", "credentialsChanged": changed, "eventId": event_id}


def update_status(uin: str, status: str, *, reason: str | None, client_id: str) -> dict[str, Any]:
    """ACTIVATED -> the registry identity ACTIVE, DEACTIVATED -> INACTIVE (no credential issued to an inactive
    identity: ``app.services.issuance.backend`` refuses it). One transaction with its audit and outbox events."""
    with atomic():
        row = identity(uin, lock=True)
        wanted = "ACTIVE" if status == "ACTIVATED" else "INACTIVE"
        if row.status == "MERGED":  # a merge is final: the survivor is the person's identity
            raise IdentityMerged()
        if row.status != wanted:
            row.status, row.updated_at = wanted, clock.now()
            audit.record(
                "registry.identity_status",
                actor=client_id,
                target=row.identity_id,
                details={"status": wanted, "reason": (reason or "")[:500]},
            )
            outbox.emit("updatePerson", {"uin": uin})  # OSIA notification: identifiers only
        event_id = events.record("update_identity", client_id=client_id, uin=uin, info={"status": status})
    return {"status": status, "uin": uin, "eventId": event_id}
