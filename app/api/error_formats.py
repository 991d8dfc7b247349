"""The ONLY place that knows wire error shapes, chosen by path prefix (ARCHITECTURE.md table).

Every exception that leaves a handler, Connexion's validation and security problems included,
comes here. A 5xx body never carries internals: the detail goes to the log with the request id.
"""

import json
import logging
import re
from dataclasses import dataclass

from connexion.exceptions import OAuthProblem, OAuthScopeProblem, ProblemException, UnsupportedMediaTypeProblem
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from app.errors import IdbbError, InsufficientScope, InvalidPayload
from app.services.envelope import response_time
from app.services.log_redaction import redact_path

log = logging.getLogger("idbb.errors")

OAUTH_PREFIXES = (
    "/authorize",
    "/oauth",
    "/oidc",
    "/token",
    "/credential",
    "/nonce",
    "/par",
    "/deferred_credential",
    "/notification",
)  # OpenID4VCI 1.0 §9.3, §11.3
ENVELOPE_PREFIXES = ("/client-mgmt", "/linked-authorization", "/wallet-binding", "/binding")
OSIA_PREFIXES = ("/v1/",)
DATASTORE_PREFIXES = ("/api/v1/datastore", "/api/v1/identity")
#: GovStack credential management (``openapi/credential-management.yaml``): root-level paths, matched exactly or
#: as a folder, so ``/blockade`` is not one of them.
RESIDENT_PATHS = (
    "/block",
    "/unblock",
    "/updateIdentity",
    "/share-credential",
    "/download/personalized-card",
    "/events",
    "/service-history",
)
REALM = "idbb"
#: The datastore API's code for an error idbb raises in its own words (seed 000 "Common Error Codes").
DATASTORE_CODES = {
    400: "INVALID_FORMAT",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "INVALID_FORMAT",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}
#: GovStack §8 "Wallet – QR Code" operations whose error answers keep ``"response": {}`` beside ``errors``
#: (GovStack clients read ``.response.x`` on any answer; issue 13 point 5), v1 and ``/v2/`` alike.
LINKED_KEEP_RESPONSE = frozenset({"/link-code", "/link-status", "/link-transaction", "/authenticate"})
#: GovStack §8: a token request whose body is not a form is ``invalid_payload``, not a generic 415.
TOKEN_PATHS = ("/oauth/token", "/oauth/v2/token")
#: jsonschema messages start with the offending instance ("<instance> is not of type 'object'"): the
#: instance is the client's data and may be personal, so it is replaced. Greedy, so the last known
#: phrase wins even if the data itself contains one; a required-property message names a schema member.
_INSTANCE = re.compile(
    r"^.*(?= (?:is not of type|is not one of|is too long|is too short|is not valid under|is valid under each of"
    r"|does not match|has non-unique elements|is not a|is less than|is greater than|is not allowed for"
    r"|should not be valid under|is a dependency|does not have enough properties|has too many properties"
    r"|is not a multiple of|was expected))",
    re.DOTALL,
)
_REQUIRED = re.compile(r"^'[A-Za-z0-9_$.-]{1,64}' is a required property$")


@dataclass(frozen=True)
class WireError:
    status: int
    code: str
    description: str
    headers: dict[str, str]
    details: dict[str, object] | None = None


def wire_format(path: str) -> str:
    """Which error format the path speaks: oauth, envelope, osia, mosip, datastore, resident or problem."""
    if path.startswith(OAUTH_PREFIXES):
        return "oauth"
    if path.startswith(ENVELOPE_PREFIXES):
        return "envelope"
    if path.startswith(DATASTORE_PREFIXES):
        return "datastore"
    if any(path == p or path.startswith(p + "/") for p in RESIDENT_PATHS):
        return "resident"
    if path == "/enrollment" or path.startswith("/enrollment/"):
        return "mosip"
    if path.startswith(OSIA_PREFIXES):
        return "osia"
    return "problem"


def _bearer_challenge(error: str | None, description: str | None, scope: str | None = None) -> str:
    """RFC 6750 §3: ``WWW-Authenticate: Bearer realm=..., error=..., error_description=...``."""
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append('error_description="{}"'.format(description.replace('"', "'")))
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def classify(exc: Exception) -> WireError:
    """Turn any exception into (status, code, public description, headers)."""
    if isinstance(exc, IdbbError):
        headers = dict(exc.headers)
        if exc.status == 401 and "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = _bearer_challenge(exc.code, exc.description)
        if exc.status == 403 and exc.code == InsufficientScope.code and "WWW-Authenticate" not in headers:
            # RFC 6750 §3.1: the challenge goes on 401 and on an insufficient_scope 403 only; any other 403
            # (consent missing, identity mismatch, a finalized record) is not a token problem
            headers["WWW-Authenticate"] = _bearer_challenge(exc.code, exc.description)
        return WireError(exc.status, exc.code, exc.description, headers, getattr(exc, "details", None))
    if isinstance(exc, OAuthScopeProblem):
        scope = " ".join(exc.required_scopes or [])
        desc = "The access token does not carry the scope this operation needs."
        return WireError(
            403, "insufficient_scope", desc, {"WWW-Authenticate": _bearer_challenge("insufficient_scope", desc, scope)}
        )
    if isinstance(exc, OAuthProblem):
        # RFC 6750 §3.1: a request without any token gets the challenge without an error code
        desc = (
            "An access token is required."
            if "No authorization" in str(exc.detail)
            else ("The access token is missing, invalid or expired.")
        )
        error = None if "No authorization" in str(exc.detail) else "invalid_token"
        return WireError(401, "invalid_token", desc, {"WWW-Authenticate": _bearer_challenge(error, desc)})
    if isinstance(exc, ProblemException):
        status = exc.status or 400
        if status >= 500:
            return WireError(500, "server_error", "An internal error occurred.", {})
        detail = _public_detail(str(exc.detail or exc.title or "Invalid request."))
        return WireError(status, "invalid_request", detail, {})
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return WireError(404, "not_found", "No such resource.", {})
        if exc.status_code == 405:
            # RFC 9110 §15.5.6: the origin server MUST generate an Allow header field in a 405 response
            allow = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
            return WireError(405, "method_not_allowed", "Method not allowed on this resource.", allow)
        if exc.status_code < 500:
            return WireError(exc.status_code, "invalid_request", "The request is not valid.", {})
    return WireError(500, "server_error", "An internal error occurred.", {})


def _public_detail(detail: str) -> str:
    """A validation message without the submitted values (they may be personal data)."""
    first = detail.split("\n\nFailed validating", 1)[0].strip()
    if _REQUIRED.match(first):
        return first
    cleaned, found = _INSTANCE.subn("value", first, count=1)
    if not found and ("'" in first or "{" in first or "[" in first):
        return "The request does not match the API schema."
    return cleaned[:300]


def render(path: str, err: WireError) -> ConnexionResponse:
    """Shape ``err`` in the wire format of ``path``."""
    fmt = wire_format(path)
    headers = dict(err.headers)
    status = err.status
    if fmt == "oauth":
        body: dict[str, object] = {"error": err.code, "error_description": err.description}
        headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
        media = "application/json"
    elif fmt == "envelope":
        # eSignet/GovStack: request errors answer HTTP 200 with errors[]; auth, routing and server
        # failures keep their status so gateways and monitors still see them, and so does 429 (RFC 6585 §4),
        # whose Retry-After a client must be able to see and honour.
        if 400 <= status < 500 and status not in (401, 403, 404, 405, 429):
            status = 200
        body = {
            "responseTime": response_time(),
            "response": {},
            "errors": [{"errorCode": err.code, "errorMessage": err.description}],
        }
        if (
            path.startswith("/linked-authorization")
            and path.removeprefix("/linked-authorization/v2").removeprefix("/linked-authorization")
            not in LINKED_KEEP_RESPONSE
        ):
            del body["response"]  # eSignet: on error the response member is left out (link-auth-code's schema
            # requires code, redirectUri, state and nonce whenever response is present)
        media = "application/json"
    elif fmt == "osia":
        body = {"code": status, "message": f"{err.code}: {err.description}"}
        media = "application/json"
    elif fmt == "mosip":
        # GovStack PUT /enrollment (MOSIP packet API): the response envelope with errors[] and a real status
        body = {
            "id": None,
            "version": None,
            "responsetime": response_time(),
            "metaData": None,
            "response": None,
            "errors": [{"errorCode": err.code, "message": err.description}],
        }
        media = "application/json"
    elif fmt == "resident":
        # GovStack credential management: its envelope with errors[{errorCode, errorMessage}] (the document's
        # UnauthorizedError) and the real HTTP status
        body = {
            "id": None,
            "version": None,
            "responsetime": response_time(),
            "metadata": None,
            "response": None,
            "errors": [{"errorCode": err.code, "errorMessage": err.description}],
        }
        media = "application/json"
    elif fmt == "datastore":
        # seed 000 "Error Response Format": the SIROS codes; idbb's generic ones mapped by status
        code = err.code if err.code.isupper() else DATASTORE_CODES.get(status, "INTERNAL_ERROR")
        body = {"error": {"code": code, "message": err.description, "details": err.details}}
        media = "application/json"
    else:
        body = {"type": "about:blank", "title": err.code, "status": status, "detail": err.description}
        media = "application/problem+json"
    return ConnexionResponse(status_code=status, body=json.dumps(body), headers=headers, content_type=media)


def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion error handler for every exception type."""
    err = classify(exc)
    path = request.url.path
    if isinstance(exc, UnsupportedMediaTypeProblem) and path in TOKEN_PATHS:
        err = WireError(400, InvalidPayload.code, InvalidPayload.description, {})
    logged = redact_path(path)  # a path may hold a UIN or an enrollment id: never logged as sent
    if err.status >= 500:
        log.error("request failed", exc_info=exc, extra={"path": logged, "error": type(exc).__name__})
    elif isinstance(exc, IdbbError) and exc.detail:
        log.info("request refused", extra={"path": logged, "code": err.code, "detail": exc.detail})
    return render(path, err)
