"""Status values, their labels and the transitions allowed between them.

Token Status List draft 20 §7.1 defines the values (0x00 VALID, 0x01 INVALID, 0x02 SUSPENDED). The lifecycle
allows VALID → SUSPENDED → VALID and VALID/SUSPENDED → INVALID; INVALID is final (§7.1: "revoked, annulled,
taken back, recalled or cancelled"), so every change from it is a conflict.
"""

from app.errors import Conflict, NotFound

VALID, INVALID, SUSPENDED = 0, 1, 2  # Token Status List §7.1 values
LABELS = {VALID: "Operational", INVALID: "Revoked", SUSPENDED: "Suspended"}  # GovStack / seed 002 wording
ACTIONS = ("suspend", "unsuspend", "revoke")
#: action → (status it sets, statuses it may start from)
TARGET = {"suspend": SUSPENDED, "unsuspend": VALID, "revoke": INVALID}
SOURCES = {"suspend": (VALID,), "unsuspend": (SUSPENDED,), "revoke": (VALID, SUSPENDED)}
TOPICS = {"suspend": "credential.suspended", "unsuspend": "credential.unsuspended", "revoke": "credential.revoked"}


class CredentialNotFound(NotFound):
    code = "credential_not_found"
    description = "No credential has this id."


class StatusConflict(Conflict):
    """A change the credential's current status does not allow. Each subclass carries its wire code
    (``already_revoked``, ``not_suspended``, ``already_suspended``); ``reason_code`` repeats it for the callers
    that tell the cases apart (each API maps it to its own wire format)."""

    code = "status_conflict"
    description = "The credential's status does not allow this change."

    def __init__(self, description: str | None = None, *, credential_id: str | None = None) -> None:
        super().__init__(description)
        self.reason_code = self.code
        self.credential_id = credential_id


class AlreadyRevoked(StatusConflict):
    code = "already_revoked"
    description = "The credential is revoked; revocation is final."


class NotSuspended(StatusConflict):
    code = "not_suspended"
    description = "The credential is not suspended."


class AlreadySuspended(StatusConflict):
    code = "already_suspended"
    description = "The credential is already suspended."


#: reason code (what :func:`conflict_of` answers) → the error that carries it
CONFLICTS: dict[str, type[StatusConflict]] = {cls.code: cls for cls in (AlreadyRevoked, NotSuspended, AlreadySuspended)}


def conflict_of(action: str, status: int) -> str | None:
    """The reason ``action`` is refused from ``status``, or None when it is allowed."""
    if status == INVALID:
        return "already_revoked"  # §7.1: INVALID is final
    if action == "unsuspend" and status != SUSPENDED:
        return "not_suspended"
    if action == "suspend" and status == SUSPENDED:
        return "already_suspended"
    return None


def label(status: int) -> str:
    return LABELS.get(status, "Revoked" if status == INVALID else "Operational")
