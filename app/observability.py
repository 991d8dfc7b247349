"""Structured JSON logs and per-request metrics, with no personal data.

The access log records method, operation id (never the raw path or query string, which can carry
identifiers such as ``login_hint``), status, duration and a request id. Bodies are never logged.
"""

import logging
import secrets
import sys
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.exceptions import HTTPException

from app.services.ops.metrics import LATENCY, REQUESTS

access_log = logging.getLogger("idbb.access")
#: Connexion's per-request loggers, silenced at every level: the body validators log the offending value
#: (a person's name from a refused registry PATCH, word for word, at INFO), the parameter validator and the
#: security middleware log the raw path (a UIN) at DEBUG, the exception middleware logs each problem with
#: its detail, and ``operations.openapi3`` warned "this operation accepts multiple content types" on every
#: request to such an operation. ``idbb.errors`` and ``idbb.access`` log what operators need, without them.
QUIET_LOGGERS = (
    "connexion.validators",
    "connexion.middleware.validation",
    "connexion.middleware.security",
    "connexion.middleware.exceptions",
    "connexion.middleware.server_error",
    "connexion.security",
    "connexion.operations",
    "connexion.decorators",
    "connexion.handlers",
    "connexion.uri_parsing",
    "connexion.lifecycle",
)
#: Loggers that print SQL parameters or request lines when the root logger is at DEBUG.
WARNING_ONLY = ("sqlalchemy", "httpcore", "urllib3", "asyncio", "multipart", "python_multipart")


def configure_logging(level: str) -> None:
    """One JSON line per record on stderr; idempotent so tests can build many apps."""
    root = logging.getLogger()
    if not any(getattr(h, "_idbb", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"asctime": "time", "levelname": "level"}
            )
        )
        handler._idbb = True  # type: ignore[attr-defined]  # a marker attribute on the logging handler
        root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # its lines carry the raw path and query
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry full URLs
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    for name in WARNING_ONLY:
        logging.getLogger(name).setLevel(logging.WARNING)


def _route(scope: Scope, flask_app: Any = None) -> str:
    routing = scope.get("extensions", {}).get("connexion_routing", {})
    op = routing.get("operation_id")
    if op:
        return str(op)
    path = str(scope.get("path", ""))
    return "ui" if path.startswith("/docs") else _flask_endpoint(flask_app, scope, path)


def _flask_endpoint(flask_app: Any, scope: Scope, path: str) -> str:
    """The Flask endpoint of a browser page (``ui.authorize``, ``ui.static``): no OpenAPI operation names it,
    and the raw path must not be logged, so the path is matched against the Flask app's routes."""
    if flask_app is None:
        return "unmatched"
    try:
        endpoint, _ = flask_app.url_map.bind("").match(path, method=scope.get("method") or "GET")
    except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect
        return "unmatched"
    return str(endpoint)


class AccessLogMiddleware:
    """ASGI middleware: request id header, access log line, Prometheus counters."""

    def __init__(self, app: ASGIApp, flask_app: Any = None) -> None:
        self.app = app
        self.flask_app = flask_app  # its routes name the browser pages in the log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = secrets.token_hex(8)
        status_holder: dict[str, Any] = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope, self.flask_app)
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status_holder["status"])).inc()
            LATENCY.labels(method, route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
