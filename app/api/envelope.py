"""The success side of the eSignet/GovStack envelope (errors are shaped in ``error_formats``)."""

from typing import Any

from app.services.envelope import response_time


def ok(response: dict[str, Any]) -> dict[str, Any]:
    """``{responseTime, response, errors: []}`` (errors is an empty list on success)."""
    return {"responseTime": response_time(), "response": response, "errors": []}
