"""Registry events that reach credentials: a death or an identity merge revokes or suspends the person's
credentials by a rule (``IDBB_REGISTRY_DEATH_ACTION``, ``IDBB_REGISTRY_MERGE_ACTION``: ``revoke`` | ``suspend`` |
``none``); any other attribute update marks the credentials issued before it as due for renewal (their claims are
out of date), a flag the backend reads at ``GET /v1/issuance/{id}``.

The registry records a death as an attribute update setting ``dateOfDeath`` (the OSIA person attribute
dictionary: ``dateOfDeath, placeOfDeath, reasonOfDeath``); it calls :func:`identity_updated` inside its own
transaction. ``POST /registry/identities/{uin}/merge`` (``enrollment.registry.merge_identity``) calls
:func:`identity_merged` with the UIN that is retired.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from app.clock import clock
from app.extensions import db, state
from app.models.issuance import Issuance, IssuedCredential
from app.models.lifecycle import RenewalMark
from app.models.status import StatusEntry
from app.services.lifecycle.changes import change_selection
from app.services.lifecycle.selection import Selection
from app.services.lifecycle.states import SUSPENDED, VALID

DEATH_ATTRIBUTES = ("dateOfDeath",)


def _apply_rule(rule: str, uin: str, *, kind: str, actor: str) -> int:
    if rule == "none":
        return 0
    action = "revoke" if rule == "revoke" else "suspend"
    selection = Selection(uin=uin, status=VALID if action == "suspend" else None)
    return len(change_selection(action, selection, reason=kind, actor=actor, summary={"kind": kind}))


def identity_updated(uin: str, attributes: Sequence[str], after: dict[str, Any], *, actor: str) -> int:
    """The registry changed ``attributes`` of ``uin`` (in the caller's transaction). A death applies the death
    rule; otherwise the person's live credentials are marked for renewal. Returns how many credentials it touched."""
    if any(name in attributes and after.get(name) for name in DEATH_ATTRIBUTES):
        return _apply_rule(state().settings.registry_death_action, uin, kind="death", actor=actor)
    return mark_for_renewal(uin, reason="attributes_updated")


def identity_merged(source_uin: str, target_uin: str, *, actor: str) -> int:
    """``source_uin`` was merged into ``target_uin`` and no longer exists: its credentials follow the merge rule
    (the person gets new ones for the surviving UIN)."""
    del target_uin  # the surviving record's credentials are untouched
    return _apply_rule(state().settings.registry_merge_action, source_uin, kind="merge", actor=actor)


def mark_for_renewal(uin: str, *, reason: str) -> int:
    """Mark every VALID or SUSPENDED credential of ``uin`` not yet marked (one INSERT … SELECT)."""
    marked = select(RenewalMark.credential_id).where(RenewalMark.credential_id == IssuedCredential.credential_id)
    source = (
        select(IssuedCredential.credential_id)
        .join(Issuance, Issuance.issuance_id == IssuedCredential.issuance_id)
        .join(
            StatusEntry,
            (StatusEntry.list_id == IssuedCredential.status_list_id) & (StatusEntry.idx == IssuedCredential.status_index),
        )
        .where(Issuance.subject_uin == uin, StatusEntry.status.in_((VALID, SUSPENDED)), ~marked.exists())
    )
    ids = list(db.session.execute(source).scalars())
    if ids:
        now = clock.now()
        db.session.execute(
            insert(RenewalMark.__table__), [{"credential_id": i, "reason": reason, "marked_at": now} for i in ids]
        )
    return len(ids)
