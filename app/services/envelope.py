"""The eSignet/GovStack request envelope ``{requestTime, request}`` (esignet-notes.md §1.1)."""

from typing import Any

from app.clock import clock
from app.errors import InvalidRequest
from app.extensions import state
from app.formats import FormatError
from app.formats.timefmt import format_response_time, parse_request_time


def unwrap(body: Any) -> dict[str, Any]:
    """Check ``requestTime`` and return ``request``; both problems are ``invalid_request``."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object {requestTime, request}.")
    try:
        sent = parse_request_time(body.get("requestTime"))
    except FormatError as exc:
        raise InvalidRequest(str(exc)) from exc
    skew = state().settings.request_time_skew
    if abs((clock.now() - sent).total_seconds()) > skew:  # eSignet: requestTime within the allowed leeway
        raise InvalidRequest(f"requestTime is more than {skew} seconds from server time.")
    request = body.get("request")
    if not isinstance(request, dict):
        raise InvalidRequest("The member 'request' must be an object.")
    return request


def response_time() -> str:
    """``responseTime``/``responsetime`` of an envelope: now, UTC, milliseconds."""
    return format_response_time(clock.now())
