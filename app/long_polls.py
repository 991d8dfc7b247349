"""The asyncio path for long polls (ARCHITECTURE.md "Facts measured on this stack").

Connexion's Flask path runs each request on one of 10 threads per process, so a long poll that waits
in a thread starves everything else after 10 waiters. The long-poll operations of
``openapi/linked-authorization.yaml`` are therefore served by a Connexion ``AsyncApp`` loaded from the
same document (same request and response validation), mounted in front of the Flask app's middleware
stack by :class:`LongPollDispatch`: waiting costs an asyncio future, not a thread.
"""

from typing import Any

import connexion
from connexion.options import SwaggerUIOptions
from flask import Flask
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import error_formats
from app.api.jwe_payload import JwePayloadMiddleware
from app.api.security import FlaskAppInScope
from app.config import Settings
from app.errors import IdbbError
from app.request_guard import RequestGuard
from app.routing import middlewares

#: The operations served asynchronously (every other path goes to the Flask app).
LONG_POLL_PATHS = frozenset({"/linked-authorization/link-status", "/linked-authorization/link-auth-code"})


def long_poll_app(settings: Settings, flask_app: Flask) -> connexion.AsyncApp:
    """An AsyncApp holding ``linked-authorization.yaml``; only its long polls are ever routed to it."""
    from connexion.exceptions import ProblemException
    from connexion.middleware import MiddlewarePosition
    from starlette.exceptions import HTTPException

    app = connexion.AsyncApp(__name__, specification_dir=settings.openapi_dir, middlewares=middlewares())
    app.add_api(
        "linked-authorization.yaml",
        name="linked-authorization-async",
        validate_responses=True,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
    )
    for exc_type in (IdbbError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc_type, error_formats.handle)
    app.add_middleware(FlaskAppInScope, position=MiddlewarePosition.BEFORE_SECURITY, flask_app=flask_app)
    app.add_middleware(RequestGuard, position=MiddlewarePosition.BEFORE_VALIDATION, settings=settings)
    app.add_middleware(JwePayloadMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    return app


class LongPollDispatch:
    """ASGI middleware: long-poll paths to the async app, everything else down the Flask stack."""

    def __init__(self, app: ASGIApp, long_polls: Any) -> None:
        self.app = app
        self.long_polls = long_polls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in LONG_POLL_PATHS:
            await self.long_polls(scope, receive, send)
            return
        await self.app(scope, receive, send)
