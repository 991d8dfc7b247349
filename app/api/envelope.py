"""The success side of the eSignet/GovStack envelope (errors are shaped in ``error_formats``)."""

from typing import Any

from app.clock import clock
from app.formats.timefmt import format_response_time


def ok(response: dict[str, Any]) -> dict[str, Any]:
    """``{responseTime, response, errors: []}`` (errors is an empty list on success)."""
    return {"responseTime": format_response_time(clock.now()), "response": response, "errors": []}
