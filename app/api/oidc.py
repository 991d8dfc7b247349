"""OAuth/OIDC endpoints (``openapi/oidc.yaml``): JWKS and the token endpoint."""

from typing import Any

from flask import request

from app.extensions import state
from app.services import discovery, keys, token_endpoint


def jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    max_age = state().settings.jwks_max_age
    return keys.jwks(), 200, {"Cache-Control": f"public, max-age={max_age}"}


def authorization_server_metadata() -> tuple[dict[str, Any], int, dict[str, str]]:
    return discovery.authorization_server_metadata(), 200, {"Cache-Control": "public, max-age=3600"}


def _form() -> dict[str, list[str]]:
    return {k: request.form.getlist(k) for k in request.form}


def token(**_: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.token(_form(), dict(request.headers))
    return result.body, result.status, result.headers


def introspect(**_: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.introspect(_form(), dict(request.headers))
    return result.body, result.status, result.headers


def revoke(**_: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.revoke(_form(), dict(request.headers))
    return result.body, result.status, result.headers
