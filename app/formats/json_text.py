"""JSON text that is safe to parse: UTF-8 only, nesting bounded, no NaN/Infinity.

Python's ``json`` recurses once per nesting level (10,000 levels raise ``RecursionError``), and so do the
schema validators, RFC 8785 canonicalisation and RFC 7396 merge patches that run after it; it also takes
``NaN`` and ``Infinity``, which RFC 8259 §6 does not allow. Every JSON text idbb reads from outside — a
request body (``app/api/request_guard.py``), a ``publicKey`` sent as a JSON string, the payload of a
client assertion — goes through :func:`check_json_text` or :func:`loads` first.
"""

import json
import re
from typing import Any

from app.formats.errors import FormatError

#: Default bound on nesting (objects and arrays); the README's ``IDBB_MAX_JSON_DEPTH``.
DEFAULT_MAX_DEPTH = 64
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NON_FINITE = re.compile(r"NaN|Infinity")


def check_json_text(raw: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> str:
    """The text of ``raw`` if it is UTF-8 and nests at most ``max_depth`` levels, else :class:`FormatError`.

    It does not parse: a document that is not JSON at all is left to the parser that follows.
    """
    if isinstance(raw, bytes):
        try:
            # RFC 8259 §8.1: JSON text exchanged between systems MUST be encoded using UTF-8
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError("JSON text is not UTF-8") from exc
    else:
        text = raw
    outside_strings = _STRING.sub('""', text)
    if _NON_FINITE.search(outside_strings):  # RFC 8259 §6: NaN and Infinity are not permitted
        raise FormatError("JSON text holds NaN or Infinity")
    brackets = _NOT_BRACKET.sub("", outside_strings)
    if len(brackets) > 2 * max_depth:  # fewer brackets cannot nest deeper than the bound
        depth = 0
        for char in brackets:
            depth += 1 if char in "[{" else -1
            if depth > max_depth:
                raise FormatError(f"JSON nests deeper than {max_depth} levels")
    return text


def loads(raw: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """``json.loads`` after :func:`check_json_text`; any failure is a :class:`FormatError`."""
    text = check_json_text(raw, max_depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FormatError("not valid JSON") from exc
