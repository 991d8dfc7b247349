"""Bearer-token checks for the administrative APIs (``x-tokenInfoFunc`` in the specs).

Connexion runs security in its ASGI middleware, outside Flask: the token is verified in a worker
thread inside the Flask app context (keys come from the database), and Connexion then compares the
token's ``scope`` with the operation's required scopes (403 ``insufficient_scope`` if short).
"""

from typing import Any

import anyio
from connexion.context import operation
from flask import Flask, request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import NotFound
from app.services.oidc import access_tokens

FLASK_APP_KEY = "idbb.flask_app"


class FlaskAppInScope:
    """ASGI middleware that puts the Flask app into the request scope for the security functions."""

    def __init__(self, app: ASGIApp, flask_app: Flask) -> None:
        self.app = app
        self.flask_app = flask_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[FLASK_APP_KEY] = self.flask_app
        await self.app(scope, receive, send)


def refuse_unrouted() -> None:
    """Flask ``before_request``: an API view runs only for a request Connexion routed to its operation.

    Connexion's security runs in its routing-driven middleware; a request that Starlette's router did not
    match but Flask's did (their patterns differ: a newline in a path parameter was one such case) would
    reach the view with no security check at all. Such a request is a 404 here, before the view.
    """
    if request.blueprint is not None or request.endpoint in (None, "static"):
        return  # the login pages (blueprint "ui") and static files are Flask's own routes
    try:
        _ = operation.operation_id  # set by Connexion's ContextMiddleware for a routed request only
    except RuntimeError:
        raise NotFound() from None


def _verify(flask_app: Flask, token: str) -> dict[str, Any]:
    with flask_app.app_context():
        return access_tokens.verify(token).as_dict()


async def token_info(token: str, request: Any) -> dict[str, Any]:
    """Verify an idbb access token (RFC 9068); raises ``invalid_token`` (401) on any failure."""
    flask_app = request.scope[FLASK_APP_KEY]
    return await anyio.to_thread.run_sync(_verify, flask_app, token)
