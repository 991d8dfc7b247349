"""The root of idbb's domain errors and the errors every protocol shares (not found, conflict, 5xx, 429).

An error class carries its wire code, default status and public description as class attributes, so a
code is spelled once (Authlib's habit): raise sites write ``raise NotFound("why")``. The public
description goes into error bodies; the private ``detail`` only into logs (and never holds personal
data). ``app/api/error_formats.py`` alone decides the wire shape (docs/architecture.md).
"""


class IdbbError(Exception):
    """Base of every error a use case raises on purpose.

    A class that carries its code takes the public description first: ``InvalidGrant("why")``. The
    older form ``IdbbError(code, description)`` (two positional arguments, or ``code=``) still works so
    that code written before the hierarchy keeps its behaviour; ``tests/unit/test_error_codes.py``
    refuses it inside ``app/``.
    """

    code: str = ""
    status: int = 400
    description: str = "The request is not valid."

    def __init__(
        self,
        *args: str | None,
        code: str | None = None,
        description: str | None = None,
        status: int | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if len(args) > 2:
            raise TypeError("IdbbError takes at most (code, description) positionally")
        if len(args) == 2:  # the older (code, description) form
            code, description = args
        elif len(args) == 1:
            if type(self).code:
                description = args[0]  # a class with its own code: the argument is the description
            else:
                code = args[0]  # the bare base class: the older form with only a code
        resolved = code or type(self).code
        if not resolved:
            raise TypeError(f"{type(self).__name__} needs a wire code")
        self.code = resolved
        self.description = description or type(self).description
        self.status = status or type(self).status
        self.detail = detail
        self.headers = headers or {}
        super().__init__(self.code)


class NotFound(IdbbError):
    code = "not_found"
    status = 404
    description = "The resource does not exist."


class Conflict(IdbbError):
    code = "conflict"
    status = 409
    description = "The resource already exists."


class ServerError(IdbbError):
    """A failure that is idbb's, not the caller's; ``detail`` says what for the log (RFC 6749 §4.1.2.1)."""

    code = "server_error"
    status = 500
    description = "An internal error occurred."


class Unavailable(IdbbError):
    """RFC 6749 §4.1.2.1 ``temporarily_unavailable``: a dependency is down."""

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
