"""Canonical JSON (RFC 8785, JCS) for hashes and detached signatures over JSON payloads."""

from typing import Any

import rfc8785

from app.formats.errors import FormatError


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` per RFC 8785 so that equal JSON values hash to equal bytes."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise FormatError(f"value cannot be canonicalised: {exc}") from exc
