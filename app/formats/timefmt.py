"""The MOSIP/GovStack envelope time format: ``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` (UTC, milliseconds).

eSignet's ``RequestTimeValidator`` accepts exactly this shape; GovStack IDBB §8 copies it.
"""

import re
from datetime import UTC, datetime

from app.formats.errors import FormatError

_REQUEST_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$")  # ASCII digits only


def parse_request_time(value: object) -> datetime:
    """Parse an envelope ``requestTime``; anything but ISO-8601 UTC with milliseconds is refused."""
    if not isinstance(value, str) or not _REQUEST_TIME.match(value):
        raise FormatError("requestTime must be ISO-8601 UTC with milliseconds, e.g. 2026-01-01T10:00:00.000Z")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise FormatError("requestTime is not a valid date-time") from exc


def format_response_time(moment: datetime) -> str:
    """Format ``moment`` as an envelope ``responseTime`` (UTC, milliseconds, literal Z)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
