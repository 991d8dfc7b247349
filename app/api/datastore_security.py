"""Security functions of ``openapi/datastore.yaml`` (``x-tokenInfoFunc``, ``x-basicInfoFunc``).

Connexion runs them in its ASGI middleware: the check runs in a worker thread inside the Flask app context (the
key cache and the API clients live there), like :mod:`app.api.security`.
"""

from typing import Any

import anyio
from flask import Flask

from app.api.security import FLASK_APP_KEY
from app.services.datastore import access


def _bearer(flask_app: Flask, token: str) -> dict[str, Any]:
    with flask_app.app_context():
        return access.bearer(token).as_token_info()


def _basic(flask_app: Flask, username: str, password: str) -> dict[str, Any]:
    with flask_app.app_context():
        return access.basic(username, password).as_token_info()


async def token_info(token: str, request: Any) -> dict[str, Any]:
    """A bearer token of the deployment's mode (idbb's own, or an external issuer's JWT); 401 otherwise."""
    return await anyio.to_thread.run_sync(_bearer, request.scope[FLASK_APP_KEY], token)


async def basic_info(username: str, password: str, request: Any) -> dict[str, Any]:
    """HTTP Basic, when the deployment chose it (development profiles); 401 otherwise."""
    return await anyio.to_thread.run_sync(_basic, request.scope[FLASK_APP_KEY], username, password)
