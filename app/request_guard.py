"""One guard on every request body, before Connexion parses it (issue 14, robustness 1, 5 and 6).

Connexion decodes a JSON body with the declared charset and ``json.loads`` it: a body that is not UTF-8
raised ``UnicodeDecodeError`` and one nested 10,000 deep ``RecursionError``, both 500s on every JSON
endpoint; a form field over 1 MiB raised Starlette's ``MultiPartException``. This middleware runs after
the security middleware (an unauthenticated caller is refused before idbb reads its body, and no route
is reached without its check) and before request validation, and refuses in the path's error format:

- a body larger than its surface allows (``IDBB_MAX_FORM_BYTES`` at the OAuth endpoints and login pages,
  ``IDBB_MAX_ENROLLMENT_BYTES`` for enrollments, ``IDBB_MAX_BUFFER_BYTES`` for buffer uploads,
  ``IDBB_MAX_JSON_BYTES`` elsewhere) with 413 (RFC 9110 §15.5.14), read no further than the limit;
- a JSON body that is not UTF-8 (RFC 8259 §8.1), holds ``NaN``/``Infinity`` or an escaped unpaired surrogate
  (RFC 7493 §2.1) or nests deeper than ``IDBB_MAX_JSON_DEPTH`` with 400;
- a NUL in the path, the query string, a form body (urlencoded, or any body at the form surfaces: the login
  pages also parse multipart/form-data) or JSON text with 400 (robustness 13).
"""

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.error_formats import OAUTH_PREFIXES
from app.config import Settings
from app.errors import InvalidRequest
from app.formats.errors import FormatError
from app.formats.json_text import check_json_text

FORM_PREFIXES = (*OAUTH_PREFIXES, "/logout")
ENROLLMENT_PREFIXES = ("/v1/enrollments", "/enrollment", "/v1/uin")


#: ``%00`` (or a raw NUL) in a query string or form body, ``\u0000`` in JSON text (an odd run of backslashes).
_NUL_QUERY = re.compile(rb"%00|\x00")
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _nul() -> InvalidRequest:
    """No idbb input is ever meant to hold NUL: PostgreSQL refuses it in text and jsonb (a 500 there, the
    same input stored as given on SQLite), so every profile and database refuses it here, once."""
    return InvalidRequest("The request holds a NUL character.")


def _lone_surrogate(text: str) -> bool:
    """Whether JSON ``text`` (UTF-8, depth already bounded) holds an escaped unpaired surrogate (``"\\ud800"``) in
    a string or member name: RFC 7493 (I-JSON) §2.1 forbids it, and no database driver or hash can encode it."""
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:  # not JSON at all: left to the parser that follows
        return False
    return False


class PayloadTooLarge(InvalidRequest):
    """``invalid_request`` with 413 (RFC 9110 §15.5.14)."""

    status = 413
    description = "The request body is larger than this endpoint accepts."


BULK_PATHS = ("/api/v1/datastore/bulk", "/api/v1/identity/mapping/bulk")


def body_limit(settings: Settings, path: str) -> int:
    """The largest body, in bytes, that ``path`` accepts (README configuration table)."""
    if path.startswith(FORM_PREFIXES):
        return settings.max_form_bytes
    if path.startswith(ENROLLMENT_PREFIXES):
        if "/buffer" in path:
            return settings.max_buffer_bytes
        return settings.max_enrollment_bytes
    if path in BULK_PATHS:  # thousands of documents or mappings in one call (issue 18)
        return settings.max_bulk_bytes
    return settings.max_json_bytes


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in str(scope.get("path", "")) or _NUL_QUERY.search(scope.get("query_string") or b""):
            raise _nul()
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length in (None, b"0") and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body: nothing to guard
            return
        limit = body_limit(self.settings, str(scope.get("path", "")))
        if length is not None and not length.isdigit():
            raise InvalidRequest("Content-Length is not a number.")
        if length is not None and int(length) > limit:
            raise PayloadTooLarge()
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > limit:
                raise PayloadTooLarge()
            if not message.get("more_body"):
                break
        content_type = headers.get(b"content-type", b"")
        if _is_json(content_type):
            try:
                text = check_json_text(bytes(body), self.settings.max_json_depth)
            except FormatError as exc:
                raise InvalidRequest(f"The request body is not acceptable JSON: {exc}.") from exc
            if "\x00" in text or ("\\u0000" in text and _NUL_ESCAPE.search(text)):  # substring first: fast
                raise _nul()
            if ("\\ud" in text or "\\uD" in text) and _lone_surrogate(text):  # a 500 at the first encode
                raise InvalidRequest(
                    "The request body is not acceptable JSON: a string holds an unpaired surrogate (RFC 7493 §2.1)."
                )
        elif content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded" and _NUL_QUERY.search(body):
            raise _nul()
        elif b"\x00" in body and str(scope.get("path", "")).startswith(FORM_PREFIXES):
            # the login pages are Flask views: werkzeug parses multipart/form-data too, where a field is sent
            # raw (no %00), and no form surface takes binary data (a NUL identifier was a 500 on PostgreSQL)
            raise _nul()
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
