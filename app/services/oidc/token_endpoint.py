"""The token endpoint (RFC 6749 §3.2) on Authlib's framework-independent AuthorizationServer.

Authlib gives the grant and client-authentication machinery; idbb adds what it lacks
(ARCHITECTURE.md): a ``jti`` replay check and a bound on assertion lifetime for
``private_key_jwt``, per-client scope limits for ``client_credentials``, and RFC 9068 JWT access
tokens signed with idbb's keys. Each request is one transaction: the replay marker and the audit
event commit together whatever the outcome, so a refused request still burns its assertion.
"""

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientCredentialsGrant,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.clock import clock
from app.errors import InvalidAssertion, InvalidAssertionType, InvalidInput, InvalidPayload, InvalidRedirectUri
from app.extensions import state
from app.formats import FormatError
from app.formats.jose import check_compact_segments, peek_claims
from app.formats.jwk import SIGNING_ALGS
from app.services import audit
from app.services.oidc import access_tokens, client_lookup
from app.services.oidc.client_auth import ClientAdapter
from app.services.oidc.code_grant import CodeGrant
from app.services.oidc.grants import header
from app.services.oidc.refresh_grant import RotatingRefreshGrant
from app.services.oidc.token_management import Introspection, Revocation
from app.services.stored_secrets import digest
from app.services.transaction import atomic

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a secret
TOKEN_V2_PATH = "/oauth/v2/token"  # noqa: S105 - eSignet's path for the same endpoint
PAR_PATH = "/oauth/par"
#: GovStack §8 token request members whose presence-but-emptiness is ``invalid_input``.
GOVSTACK_FIELDS = ("grant_type", "code", "redirect_uri", "client_id", "client_assertion_type", "client_assertion")
INTROSPECTION_PATH = "/oauth/introspect"
REVOCATION_PATH = "/oauth/revoke"
#: Every algorithm a registrable client key can sign with (one list: registration and verification agree).
ASSERTION_ALGS = sorted({alg for algs in SIGNING_ALGS.values() for alg in algs})
MAX_JTI_LENGTH = 256
#: Grants another capability adds to this one token endpoint (OpenID4VCI 1.0 §6.1's pre-authorized code grant,
#: anonymous and not Authlib's), registered by the app factory so that ``oidc`` never imports them:
#: grant_type → ``handler(form, headers, path=...)``.
_EXTENSION_GRANTS: dict[str, Callable[..., "TokenResponse"]] = {}


def register_grant(grant_type: str, handler: Callable[..., "TokenResponse"]) -> None:
    """Serve ``grant_type`` at the token endpoint with ``handler`` (wiring: ``app.create_app``)."""
    _EXTENSION_GRANTS[grant_type] = handler


#: A parameter name that may be quoted in an ``error_description`` (RFC 6749 §5.2's character set, narrowed).
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@dataclass(frozen=True)
class TokenResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class _Payload(OAuth2Payload):
    def __init__(self, datalist: Mapping[str, list[str]]) -> None:
        self._datalist = {k: list(v) for k, v in datalist.items()}
        self._data = {k: v[0] for k, v in self._datalist.items() if v}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):
    def __init__(self, uri: str, headers: Mapping[str, str], form: Mapping[str, list[str]]) -> None:
        super().__init__("POST", uri, headers=dict(headers))
        self.payload = _Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return {}


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` (OIDC Core §9) with the checks Authlib leaves to the server."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, audiences: list[str], max_lifetime: int) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = audiences
        self._max_lifetime = max_lifetime

    def get_audiences(self) -> list[str]:
        return self._audiences  # RFC 7523 §3 item 3: the token endpoint URL or the issuer

    def resolve_client_public_key(self, client: ClientAdapter) -> KeySet:
        if not client.row.public_jwk:
            raise InvalidClientError(description="The client has no registered public key.")
        try:
            return client_lookup.public_key_set(client.row)
        except (JoseError, ValueError) as exc:  # a sandbox client's key kept as given (issue 13 point 1)
            raise InvalidClientError(description="The client's registered key cannot verify.") from exc

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="The client assertion does not verify.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: Any) -> None:
        """Authlib's checks, on idbb's clock, plus a bound on lifetime and a future-``iat`` check."""
        registry = jwt.JWTClaimsRegistry(
            now=clock.epoch,
            leeway=self.leeway,
            iss={"essential": True},
            sub={"essential": True},
            exp={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClientError(description=exc.description) from exc
        if claims["sub"] != claims["iss"]:  # RFC 7523 §3 items 1-2: iss and sub MUST be the client_id
            raise InvalidClientError(description="Issuer and Subject MUST match.")
        if int(claims["exp"]) - clock.epoch() > self._max_lifetime:  # idbb: assertions are short-lived
            raise InvalidClientError(description="The client assertion expires too far in the future.")
        jti = claims.get("jti")
        if not jti:
            raise InvalidClientError(description="Missing JWT ID.")
        if not isinstance(jti, str) or len(jti) > MAX_JTI_LENGTH:
            raise InvalidClientError(description="The JWT ID is not a string of at most 256 characters.")
        if not self.validate_jti(claims, jti):
            raise InvalidClientError(description="JWT ID is used before.")

    def validate_jti(self, claims: Mapping[str, Any], jti: Any) -> bool:
        if not isinstance(jti, str) or not jti:
            return False
        # RFC 7523 §3 item 7: keep the jti until the assertion expires; a second use is refused.
        ttl = int(claims["exp"]) - clock.epoch() + self.leeway
        marker = digest(claims["sub"], jti)  # bounded key length
        return state().replay.add_once(f"assertion:{marker}", ttl, clock.now())


class ScopedClientCredentialsGrant(ClientCredentialsGrant):
    """RFC 6749 §4.4 limited to the scopes the API client was registered with (least privilege)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic"]

    def validate_requested_scope(self) -> None:
        requested = (self.request.payload.scope or "").split()
        allowed = set(self.request.client.row.scopes)
        if not set(requested) <= allowed:  # RFC 6749 §5.2 invalid_scope
            raise InvalidScopeError(description="The requested scope exceeds what the client may ask for.")


class IdbbAuthorizationServer(AuthorizationServer):
    def __init__(self, issuer: str, max_assertion_lifetime: int) -> None:
        super().__init__()
        self.issuer = issuer
        self.register_grant(ScopedClientCredentialsGrant)
        self.register_grant(CodeGrant)
        self.register_grant(RotatingRefreshGrant)
        audiences = [
            issuer + TOKEN_PATH,
            issuer + TOKEN_V2_PATH,
            issuer + INTROSPECTION_PATH,
            issuer + REVOCATION_PATH,
            issuer + PAR_PATH,
            issuer,
        ]
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(audiences, max_assertion_lifetime))
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> ClientAdapter | None:
        row = client_lookup.active_client(client_id)
        return ClientAdapter(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        audit.record(
            "token.issued",
            actor=request.client.get_client_id(),
            target=token.get("_jti"),
            details={"grant_type": request.payload.grant_type, "scope": token.get("scope", "")},
        )
        token.pop("_jti", None)

    def _generate(
        self,
        grant_type: str,
        client: ClientAdapter,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        granted = client.get_allowed_scope(scope)
        token, claims = access_tokens.issue(
            client_id=client.get_client_id(), subject=client.get_client_id(), scope=granted, ttl=expires_in
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": claims["exp"] - claims["iat"],
            "scope": granted,
            "_jti": claims["jti"],
        }

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_error_response(self, request: OAuth2Request, error: Any) -> TokenResponse:
        if not error.description:  # Authlib leaves some (unsupported_grant_type) without error_description
            error.description = error.get_error_description() or error.error
        return super().handle_error_response(request, error)

    def handle_response(self, status: int, body: Any, headers: Any) -> TokenResponse:
        return TokenResponse(status, dict(body), dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def _server() -> IdbbAuthorizationServer:
    settings = state().settings
    return state().cached("oauth_server", lambda: IdbbAuthorizationServer(settings.issuer, settings.assertion_max_lifetime))


@atomic()  # one transaction: replay markers, revocations and audit events, success or not
def token(
    form: Mapping[str, list[str]], headers: Mapping[str, str], *, path: str = TOKEN_PATH, parsable: bool = True
) -> TokenResponse:
    """Handle one token request; ``form`` keeps every value of repeated parameters. ``parsable`` is
    False when the body was not a form (GovStack ``invalid_payload``)."""
    extension = _EXTENSION_GRANTS.get(_first(form, "grant_type") or "")
    if extension is not None:  # e.g. OpenID4VCI 1.0 §6.1: anonymous, not Authlib's
        return _finish(extension(form, headers, path=path), form, headers, None)
    error = _govstack_precheck(form, headers, parsable)
    if error is not None:
        return _finish(TokenResponse(400, {"error": error[0], "error_description": error[1]}, {}), form, headers, None)
    return _respond(path, None, form, headers)


def _govstack_precheck(form: Mapping[str, list[str]], headers: Mapping[str, str], parsable: bool) -> tuple[str, str] | None:
    """GovStack §8 ``/oauth/token`` error precedence for the authorization-code grant (or no grant_type)."""
    grant_type = (form.get("grant_type") or [None])[0]  # type: ignore[list-item]  # form values are lists of str; [None] is the absent-parameter default
    if grant_type is not None and grant_type.strip() and grant_type != "authorization_code":
        return None  # another grant: standard errors only (a blank grant_type is GovStack's invalid_input)
    if not parsable or not form:
        return InvalidPayload.code, "The request body is empty or is not a form."
    if any(name in form and not any(v.strip() for v in form[name]) for name in GOVSTACK_FIELDS):
        return InvalidInput.code, "A request member is present but empty."
    if "redirect_uri" not in form:
        return InvalidRedirectUri.code, "redirect_uri is required."
    other_auth = str(header(headers, "Authorization") or "").lower().startswith("basic ") or "client_secret" in form
    if not other_auth:
        if "client_assertion_type" not in form:
            return InvalidAssertionType.code, "client_assertion_type is required."
        if "client_assertion" not in form:
            return InvalidAssertion.code, "client_assertion is required."
    return None


@atomic()  # one transaction: replay markers, revocations and audit events, success or not
def introspect(form: Mapping[str, list[str]], headers: Mapping[str, str]) -> TokenResponse:
    """RFC 7662 §2: ``{active: false}`` for anything not active or not the caller's to see."""
    return _respond(INTROSPECTION_PATH, Introspection.ENDPOINT_NAME, form, headers)


@atomic()  # one transaction: replay markers, revocations and audit events, success or not
def revoke(form: Mapping[str, list[str]], headers: Mapping[str, str]) -> TokenResponse:
    """RFC 7009 §2.2: 200 whether or not the token was valid, once the client is authenticated."""
    return _respond(REVOCATION_PATH, Revocation.ENDPOINT_NAME, form, headers)


def _respond(path: str, endpoint: str | None, form: Mapping[str, list[str]], headers: Mapping[str, str]) -> TokenResponse:
    server = _server()
    request = _Request(server.issuer + path, headers, form)
    error = precheck(form, headers)
    if error is not None:
        response = server.handle_error_response(request, error)
    elif endpoint is None:
        response = server.create_token_response(request)
    else:
        response = server.create_endpoint_response(endpoint, request)
    return _finish(response, form, headers, endpoint)


def _finish(
    response: TokenResponse, form: Mapping[str, list[str]], headers: Mapping[str, str], endpoint: str | None
) -> TokenResponse:
    if response.status != 200:
        audit.record(
            f"{endpoint or 'token'}.refused",
            actor=_claimed_client(form, headers),
            outcome="failure",
            details={"grant_type": _first(form, "grant_type"), "error": response.body.get("error")},
        )
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})  # RFC 6749 §5.1 MUST
    return response


def precheck(form: Mapping[str, list[str]], headers: Mapping[str, str]) -> OAuth2Error | None:
    """What every client-authenticated form endpoint (token, PAR, introspection, revocation) refuses before
    Authlib sees the request: repeated parameters, a ``client_id`` other than the assertion's, and more than
    one client authentication method (Authlib would quietly pick one)."""
    repeated = sorted(k for k, v in form.items() if len(v) > 1)
    if repeated:  # RFC 6749 §3.2: parameters MUST NOT be included more than once
        # RFC 6749 §5.2: error_description MUST NOT include characters outside %x20-21 / %x23-5B / %x5D-7E,
        # so a name with others (non-ASCII, '"', controls) is not echoed (Authlib raised ValueError: a 500)
        named = f": {repeated[0]}" if _PARAMETER_NAME.fullmatch(repeated[0]) else ""
        return InvalidRequestError(description=f"Parameter repeated{named}.")
    claimed = form.get("client_id") or []
    assertion = (form.get("client_assertion") or [""])[0]
    if assertion:
        try:
            check_compact_segments(assertion, state().settings.max_json_depth)
        except FormatError:  # RFC 7523 §3.2: an assertion that is not a valid JWT is invalid_client
            return InvalidClientError(description="The client assertion is not a well-formed JWT.")
    if claimed and assertion and claimed[0] != _unverified_subject(assertion):
        # RFC 7521 §4.2: client_id, when present, MUST identify the client the assertion authenticates
        return InvalidClientError(description="client_id does not match the client assertion.")
    authorization = str(header(headers, "Authorization") or "")
    has_basic = authorization.lower().startswith("basic ")
    if has_basic and not _basic_is_text(authorization[6:]):
        # RFC 7617 §2.1: the user-pass is base64 of text (RFC 6749 §2.3.1: of form-encoded UTF-8); Authlib
        # decoded it as UTF-8 without a check (UnicodeDecodeError: a 500)
        # RFC 6749 §5.2: a client that authenticated with the Authorization header MUST get 401 + WWW-Authenticate
        return InvalidClientError(description="The Basic credentials are not base64 of UTF-8 text.", status_code=401)
    if has_basic + ("client_assertion" in form) + ("client_secret" in form) > 1:
        # RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request
        return InvalidRequestError(description="More than one client authentication method was used.")
    return None


def _basic_is_text(credentials: str) -> bool:
    try:
        base64.b64decode(credentials.strip().encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return False
    return True


def _unverified_subject(assertion: str) -> str | None:
    """The ``sub`` of a compact JWT, unverified: only compared with ``client_id`` before verification."""
    try:
        sub = peek_claims(assertion).get("sub")
    except FormatError:
        return None
    return sub if isinstance(sub, str) else None


def _first(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name) or []
    return values[0][:64] if values else None


def _claimed_client(form: Mapping[str, list[str]], headers: Mapping[str, str]) -> str:
    claimed = _first(form, "client_id")
    return f"claimed:{claimed}" if claimed else "anonymous"
