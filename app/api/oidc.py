"""OAuth/OIDC endpoints (``openapi/oidc.yaml``): discovery, JWKS, token, PAR, userinfo."""

from typing import Any

from flask import Response, request

from app.extensions import state
from app.services import keys
from app.services.oidc import discovery, token_endpoint
from app.services.oidc import par as pushed
from app.services.oidc import userinfo as userinfo_service


def jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    max_age = state().settings.jwks_max_age
    return keys.jwks(), 200, {"Cache-Control": f"public, max-age={max_age}"}


def openid_configuration() -> tuple[dict[str, Any], int, dict[str, str]]:
    return discovery.openid_configuration(), 200, {"Cache-Control": "public, max-age=3600"}


def authorization_server_metadata() -> tuple[dict[str, Any], int, dict[str, str]]:
    return openid_configuration()  # RFC 8414 §3 and OIDC Discovery §4: the same document


def _form() -> dict[str, list[str]]:
    return {k: request.form.getlist(k) for k in request.form}


def _is_form() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "")


def token() -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.token(_form(), dict(request.headers), parsable=_is_form())
    return result.body, result.status, result.headers


def token_v2() -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.token(_form(), dict(request.headers), path=token_endpoint.TOKEN_V2_PATH, parsable=_is_form())
    return result.body, result.status, result.headers


def introspect() -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.introspect(_form(), dict(request.headers))
    return result.body, result.status, result.headers


def revoke() -> tuple[dict[str, Any], int, dict[str, str]]:
    result = token_endpoint.revoke(_form(), dict(request.headers))
    return result.body, result.status, result.headers


def par() -> tuple[dict[str, Any], int, dict[str, str]]:
    result = pushed.push(_form(), dict(request.headers))
    return result.body, result.status, result.headers


def _userinfo(method: str) -> Response:
    headers = request.headers
    if len(headers.getlist("Authorization")) > 1 or len(headers.getlist("DPoP")) > 1:
        result = userinfo_service.answer("invalid", None, method=method, url="")
    else:
        url = state().settings.issuer + "/oidc/userinfo"
        result = userinfo_service.answer(headers.get("Authorization"), headers.get("DPoP"), method=method, url=url)
    return Response(result.body, status=result.status, content_type=result.content_type, headers=result.headers)


def userinfo() -> Response:
    return _userinfo("GET")


def userinfo_post() -> Response:
    return _userinfo("POST")
