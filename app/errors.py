"""Domain errors. An error class carries its wire code, a public description and a private detail.

The public description goes into error bodies; the private detail only into logs (and never holds
personal data). ``app/api/error_formats.py`` alone decides the wire shape (ARCHITECTURE.md).
"""


class IdbbError(Exception):
    """Base of every error a use case raises on purpose."""

    code = "invalid_request"
    status = 400
    description = "The request is not valid."

    def __init__(
        self,
        code: str | None = None,
        description: str | None = None,
        *,
        status: int | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code or self.code
        self.description = description or self.description
        self.status = status or self.status
        self.detail = detail
        self.headers = headers or {}
        super().__init__(self.code)


class InvalidRequest(IdbbError):
    """A request that breaks its protocol's rules (eSignet/GovStack error codes live here too)."""


class NotFound(IdbbError):
    code = "not_found"
    status = 404
    description = "The resource does not exist."


class Conflict(IdbbError):
    code = "conflict"
    status = 409
    description = "The resource already exists."


class Unauthorized(IdbbError):
    """RFC 6750 §3.1 ``invalid_token``: missing, malformed, expired or tampered bearer token."""

    code = "invalid_token"
    status = 401
    description = "The access token is missing, invalid or expired."


class Forbidden(IdbbError):
    """RFC 6750 §3.1 ``insufficient_scope``."""

    code = "insufficient_scope"
    status = 403
    description = "The access token does not carry the scope this operation needs."


class Unavailable(IdbbError):
    code = "temporarily_unavailable"
    status = 503
    description = "A dependency is not available."


class RateLimited(IdbbError):
    """RFC 6585 §4 429 Too Many Requests, with ``Retry-After`` in seconds (RFC 9110 §10.2.3): too many
    attempts, code sends or link requests from one login transaction, relying party or source address."""

    code = "too_many_requests"
    status = 429
    description = "Too many requests. Try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
