"""Blocking an identity (GovStack credential management ``/block``, ``/unblock``): every credential of the person
suspended, and no new credential issued while the block stands.

``unblock`` unsuspends exactly the credentials the block suspended (one suspended for another reason, or revoked
since, stays as it is).
"""

from sqlalchemy import delete, insert, select

from app.clock import clock
from app.extensions import db
from app.models.lifecycle import BlockedCredential, IdentityBlock
from app.services import audit
from app.services.lifecycle.changes import change_selection
from app.services.lifecycle.selection import Selection
from app.services.lifecycle.states import SUSPENDED, VALID
from app.services.transaction import atomic


def is_blocked(uin: str) -> bool:
    """True while ``uin`` is blocked: issuance refuses new credentials (the backend create and ``/credential``)."""
    return db.session.execute(select(IdentityBlock.uin).where(IdentityBlock.uin == uin)).first() is not None


def block_identity(uin: str, *, reason: str | None, actor: str) -> int:
    """Block ``uin`` and suspend every VALID credential of it; returns how many were suspended."""
    with atomic():
        row = db.session.get(IdentityBlock, uin, with_for_update=True)
        if row is None:
            db.session.add(IdentityBlock(uin=uin, reason=reason, actor=actor, blocked_at=clock.now()))
            db.session.flush()
        changed = change_selection(
            "suspend", Selection(uin=uin, status=VALID), reason=reason, actor=actor, summary={"kind": "block"}
        )
        if changed:
            db.session.execute(
                insert(BlockedCredential.__table__), [{"credential_id": v.credential_id, "uin": uin} for v in changed]
            )
        audit.record("identity.block", actor=actor, target=None, details={"count": len(changed)})
        return len(changed)


def unblock_identity(uin: str, *, reason: str | None, actor: str) -> int:
    """Lift the block of ``uin`` and unsuspend what the block suspended; returns how many were unsuspended."""
    with atomic():
        db.session.execute(delete(IdentityBlock).where(IdentityBlock.uin == uin))
        ids = tuple(
            db.session.execute(select(BlockedCredential.credential_id).where(BlockedCredential.uin == uin)).scalars()
        )
        changed = []
        if ids:
            changed = change_selection(
                "unsuspend",
                Selection(credential_ids=ids, status=SUSPENDED),
                reason=reason,
                actor=actor,
                summary={"kind": "unblock"},
            )
            db.session.execute(delete(BlockedCredential).where(BlockedCredential.uin == uin))
        audit.record("identity.unblock", actor=actor, target=None, details={"count": len(changed)})
        return len(changed)
