"""Binary content inside JSON requests: strict base64, and format checks by content (not label)."""

import base64
import binascii
from typing import Any

from app.errors import InvalidContent
from app.formats import FormatError
from app.formats.images import check_declared

#: What a supporting or evidence document may be: PDF for multi-page, an image for a single page.
DOCUMENT_FORMATS = frozenset({"PDF", "JPEG", "PNG", "JPEG2000"})


def decode_b64(value: Any, what: str) -> bytes:
    """Standard base64 (OSIA embeds buffers this way), base64url tolerated; anything else is refused."""
    if not isinstance(value, str) or not value:
        raise InvalidContent(f"{what} must be base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidContent(f"{what} is not valid base64.") from exc


def check_content(data: bytes, *, mime_type: Any, compression: Any, what: str, allowed: frozenset[str] | None = None) -> str:
    """The detected format of ``data``; refused when it is not what the request declares."""
    try:
        return check_declared(
            data,
            mime_type=mime_type if isinstance(mime_type, str) else None,
            compression=compression if isinstance(compression, str) else None,
            allowed=allowed,
        )
    except FormatError as exc:
        raise InvalidContent(f"{what}: {exc}") from exc
