"""OSIA v7.1 codes (registry, enrollment, population-registry cases) and the GovStack/MOSIP enrollment codes,
rendered as ``{code, message}`` with the HTTP status at ``/v1/…`` and as the MOSIP envelope at ``/enrollment``.
Operator (CLI) codes for keys live here too: they have no other protocol.
"""

from app.errors.base import Conflict, NotFound
from app.errors.oauth import InvalidRequest


class OsiaError(InvalidRequest):
    """Base of the OSIA and enrollment request errors, so ``except InvalidRequest`` still catches them."""


class UnknownIdentity(NotFound):
    code = "unknown_identity"
    description = "No identity has this UIN."


class IdentifierTaken(Conflict):
    code = "identifier_taken"


class ReasonRequired(OsiaError):
    code = "reason_required"


class EvidenceRequired(OsiaError):
    code = "evidence_required"


class PossibleDuplicate(Conflict):
    code = "possible_duplicate"


class UnknownCase(NotFound):
    code = "unknown_case"
    description = "No duplicate case has this id."


class CaseDecided(Conflict):
    code = "case_decided"
    description = "This case has already been decided."


class IdentityNotMergeable(Conflict):
    code = "identity_not_mergeable"
    description = "Both identities must be active, and different, to be merged."


class InvalidDecision(OsiaError):
    code = "invalid_decision"


class InvalidContent(OsiaError):
    code = "invalid_content"


class InvalidEnrollmentId(OsiaError):
    code = "invalid_enrollment_id"


class InvalidReference(OsiaError):
    code = "invalid_reference"


class DuplicateEnrollment(Conflict):
    code = "duplicate_enrollment"
    description = "An enrollment with this id exists."


class UnknownEnrollment(NotFound):
    code = "unknown_enrollment"
    description = "No enrollment has this id."


class UnknownBuffer(NotFound):
    code = "unknown_buffer"
    description = "No buffer has this id for this enrollment."


class UpdateNotAllowed(OsiaError):
    code = "update_not_allowed"
    status = 403
    description = "The enrollment is finalized; it can no longer be changed."


class InvalidExpression(OsiaError):
    code = "invalid_expression"


class InvalidDigest(OsiaError):
    code = "invalid_digest"


class UnsupportedEncryption(OsiaError):
    code = "unsupported_encryption"


class InvalidIntegrity(OsiaError):
    code = "invalid_integrity"


class SignatureRequired(OsiaError):
    code = "signature_required"


class InvalidPin(OsiaError):
    code = "invalid_pin"
    description = "A PIN must be 4 to 12 digits."


class InvalidPassword(OsiaError):
    code = "invalid_password"
    description = "A password must be 8 to 128 characters."


class InvalidKeyType(OsiaError):
    code = "invalid_key_type"
