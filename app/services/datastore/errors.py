"""The datastore API's errors (seed 000 "Common Error Codes"): each carries its wire code and HTTP status; the
``details`` member names the document key or field, never a value of the document or of a person's attributes."""

from typing import Any

from app.errors import Conflict, Forbidden, IdbbError, InvalidRequest, NotFound, Unauthorized


class DatastoreError(IdbbError):
    """Base: ``details`` goes to the ``{error: {code, message, details}}`` body."""

    details: dict[str, Any] | None = None

    def __init__(
        self,
        description: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(None, description, detail=detail, headers=headers)
        self.details = details


class InvalidFormat(DatastoreError, InvalidRequest):
    code = "INVALID_FORMAT"
    status = 400
    description = "The request body is malformed."


class DocumentNotFound(DatastoreError, NotFound):
    code = "DOCUMENT_NOT_FOUND"
    status = 404
    description = "No document found with the specified ID"


class IdentityNotFound(DatastoreError, NotFound):
    code = "IDENTITY_NOT_FOUND"
    status = 404
    description = "No identity mapping has this authentic_source_person_id."


class IdentityMismatch(DatastoreError, Forbidden):
    code = "IDENTITY_MISMATCH"
    status = 403
    description = "Identity attributes do not match"


class AlreadyRevoked(DatastoreError, Conflict):
    code = "ALREADY_REVOKED"
    status = 409
    description = "Credential already revoked"


class DocumentExists(DatastoreError, Conflict):
    code = "DOCUMENT_EXISTS"
    status = 409
    description = "A document with this key exists already: replace it with PUT."


class MappingExists(DatastoreError, Conflict):
    code = "IDENTITY_EXISTS"
    status = 409
    description = "An identity mapping with this authentic_source_person_id exists already."


class NotAuthenticated(DatastoreError, Unauthorized):
    code = "UNAUTHORIZED"
    status = 401
    description = "Invalid or missing credentials"


class NotAllowed(DatastoreError, Forbidden):
    code = "FORBIDDEN"
    status = 403
    description = "No access rule allows this request."


class RateLimitExceeded(DatastoreError):
    """Seed 000 "Common Error Codes": 429 ``RATE_LIMITED``, with ``Retry-After`` (RFC 6585 §4, RFC 9110 §10.2.3)."""

    code = "RATE_LIMITED"
    status = 429
    description = "Too many requests: try again after the number of seconds in Retry-After."

    def __init__(self, retry_after: int) -> None:
        super().__init__(details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
