"""Encrypted enrollment payloads: a body sent as ``Content-Type: application/jose`` (a compact JWE,
RFC 7516, encrypted to idbb's published ``use: enc`` key) is decrypted before Connexion validates it,
so the operation sees the same JSON a plain client would send.

Runs after the security middleware (an unauthenticated caller never makes idbb decrypt) and only
on the enrollment paths. A payload that does not decrypt is refused in the path's error format.
"""

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import error_formats
from app.api.security import FLASK_APP_KEY
from app.errors import InvalidRequest
from app.services.enrollment.payload_encryption import decrypt

PATH_PREFIXES = ("/v1/enrollments", "/enrollment")
MAX_BODY = 64 * 1024 * 1024


class JwePayloadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PATH_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/jose":
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                break
            if not message.get("more_body"):
                break
        try:
            plaintext = await anyio.to_thread.run_sync(decrypt, scope[FLASK_APP_KEY], body.decode("ascii").strip())
            json.loads(plaintext)
        except (InvalidRequest, UnicodeDecodeError, ValueError) as exc:
            err = exc if isinstance(exc, InvalidRequest) else InvalidRequest("The decrypted payload is not JSON.")
            response = error_formats.render(str(scope["path"]), error_formats.classify(err))
            await _send(send, response.status_code, response.body, response.headers)
            return
        new_headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")]
        new_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(plaintext)).encode())]
        scope = {**scope, "headers": new_headers}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": plaintext, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            + [(b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})
