"""Credential lifecycle (issue 17): suspend, unsuspend and revoke credentials on their Token Status Lists, block
an identity, read and search credentials with their status.

Owns ``app.models.lifecycle`` and the ``status`` of ``app.models.status`` entries (allocation stays with
``app.services.status``). May import ``app.models``, the shared services (audit, outbox, transaction),
``app.services.status`` (to re-publish a changed list) and ``app.errors``; never ``flask`` or the API layer. The
OSIA CMS, GovStack credential management, the backend issue API and the datastore all change status through the
functions below, alone or inside their own ``atomic()`` use case.
"""

from app.services.lifecycle.blocks import block_identity, is_blocked, unblock_identity
from app.services.lifecycle.changes import change, change_selection, revoke, suspend, unsuspend
from app.services.lifecycle.selection import (
    CredentialView,
    Selection,
    find_credentials,
    get_by_revocation_id,
    get_credential,
    statuses,
)
from app.services.lifecycle.states import INVALID, SUSPENDED, VALID, CredentialNotFound, StatusConflict

__all__ = [
    "INVALID",
    "SUSPENDED",
    "VALID",
    "CredentialNotFound",
    "CredentialView",
    "Selection",
    "StatusConflict",
    "block_identity",
    "change",
    "change_selection",
    "find_credentials",
    "get_by_revocation_id",
    "get_credential",
    "is_blocked",
    "revoke",
    "statuses",
    "suspend",
    "unblock_identity",
    "unsuspend",
]
