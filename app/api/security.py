"""Bearer-token checks for the administrative APIs (``x-tokenInfoFunc`` in the specs).

Connexion runs security in its ASGI middleware, outside Flask: the token is verified in a worker
thread inside the Flask app context (keys come from the database), and Connexion then compares the
token's ``scope`` with the operation's required scopes (403 ``insufficient_scope`` if short).
"""

from typing import Any

import anyio
from flask import Flask
from starlette.types import ASGIApp, Receive, Scope, Send

from app.services import access_tokens

FLASK_APP_KEY = "idbb.flask_app"


class FlaskAppInScope:
    """ASGI middleware that puts the Flask app into the request scope for the security functions."""

    def __init__(self, app: ASGIApp, flask_app: Flask) -> None:
        self.app = app
        self.flask_app = flask_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[FLASK_APP_KEY] = self.flask_app
        await self.app(scope, receive, send)


def _verify(flask_app: Flask, token: str) -> dict[str, Any]:
    with flask_app.app_context():
        return access_tokens.verify(token).as_dict()


async def token_info(token: str, request: Any) -> dict[str, Any]:
    """Verify an idbb access token (RFC 9068); raises ``invalid_token`` (401) on any failure."""
    flask_app = request.scope[FLASK_APP_KEY]
    return await anyio.to_thread.run_sync(_verify, flask_app, token)
