"""GovStack ``PUT /enrollment`` (``openapi/enrollment.yaml``)."""

from typing import Any

from app.services.enrollment import govstack_enrollment


def put_enrollment(body: dict[str, Any], token_info: dict[str, Any]) -> dict[str, Any]:
    return govstack_enrollment.enroll(body, client_id=str(token_info.get("client_id")))
