"""Validating an authorization request (OIDC Core §3.1.2.1-2, RFC 6749 §4.1.1, RFC 9126, RFC 9101).

Two kinds of failure, as RFC 6749 §4.1.2.1 demands: while the client or its ``redirect_uri``
cannot be trusted, the user sees an error page and is never redirected (``PageError``); after
that, errors go back to the client's ``redirect_uri`` with ``error``, ``state`` and ``iss``
(``RedirectError``). Parameters may come from the query/form, a pushed request (``request_uri``)
or a signed request object (``request``).
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from app.clock import clock
from app.errors import (
    InvalidAuthorizationDetails,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedResponseType,
)
from app.extensions import db, state
from app.formats import FormatError
from app.formats import pkce as pkce_format
from app.formats.jose import peek_header, verify_jwt
from app.formats.jwk import parse_public_signing_jwk
from app.formats.oidc import is_essential, parse_claims_request
from app.models.clients import Client
from app.models.login import PushedRequest
from app.services.issuance import authorization
from app.services.issuance.configurations import configured
from app.services.oidc import client_lookup, client_metadata
from app.services.oidc.acr import ACR_REQUIREMENTS
from app.services.oidc.catalog import CLAIMS_SUPPORTED, DISPLAYS, OIDC_SCOPES, PROMPTS, scope_claims
from app.services.stored_secrets import digest

PAR_URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
MAX_PARAM = 2048
JAR_ALGS = ("RS256", "PS256", "ES256", "EdDSA")


class PageError(Exception):
    """Shown to the user; never redirected (client or redirect_uri untrusted)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class RedirectError(Exception):
    """Sent back to the client's redirect_uri (RFC 6749 §4.1.2.1): ``error`` is an OAuth error class's
    instance, which carries the code and description."""

    def __init__(self, error: OAuthError, redirect_uri: str, state_value: str | None) -> None:
        super().__init__(error.code)
        self.error, self.description = error.code, error.description
        self.redirect_uri, self.state = redirect_uri, state_value


@dataclass
class AuthRequest:
    """A validated authorization request, as stored on its transaction."""

    client_id: str
    redirect_uri: str
    scope: list[str]
    state: str | None = None
    nonce: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    display: str | None = None
    ui_locales: str | None = None
    claims_locales: list[str] = field(default_factory=list)
    acr_values: list[str] = field(default_factory=list)
    claims: dict[str, dict[str, bool]] = field(default_factory=dict)
    login_hint: str | None = None
    code_challenge: str | None = None
    dpop_jkt: str | None = None
    via_par: bool = False
    #: OpenID4VCI 1.0 §5.1.1: configurations named by authorization_details (returned with credential_identifiers)
    authorization_details: list[str] = field(default_factory=list)
    #: OpenID4VCI 1.0 §5.1.1 ``claims``: per configuration, the claims description objects asked for
    authorization_claims: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: OpenID4VCI 1.0 §5.1.3: the issuance an issuer_state ties this request to
    issuance_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AuthRequest":
        return cls(**data)

    def essential_claims(self) -> list[str]:
        names = {n for part in self.claims.values() for n, essential in part.items() if essential}
        return sorted(names)

    def voluntary_claims(self) -> list[str]:
        essential = set(self.essential_claims())
        return sorted({n for part in self.claims.values() for n in part} - essential)

    def extra_scopes(self) -> list[str]:
        return [s for s in self.scope if s == "offline_access"]


def _single(params: dict[str, list[str]]) -> dict[str, str]:
    repeated = [k for k, v in params.items() if len(v) > 1]
    if repeated:  # RFC 6749 §3.1: request and response parameters MUST NOT be included more than once
        raise ValueError(repeated[0])
    return {k: v[0] for k, v in params.items() if v}


def relying_party(client_id: str | None) -> Client:
    """The active relying party ``client_id`` names, or the error page (never a redirect: it is untrusted)."""
    row = client_lookup.active_client(client_id) if client_id and len(client_id) <= 100 else None
    if row is None or row.kind != "oidc":
        raise PageError("error.unknown_client")
    return row


def _from_par(client: Client, request_uri: str) -> tuple[dict[str, str], str | None]:
    if not request_uri.startswith(PAR_URN_PREFIX):
        raise PageError("error.expired")
    row = db.session.get(PushedRequest, digest(request_uri), with_for_update=True)  # two tabs, one use
    now = clock.now()
    if row is None or row.client_id != client.client_id or row.used_at is not None or row.expires_at <= now:
        raise PageError("error.expired")  # RFC 9126 §4: unknown, expired or used request_uri
    row.used_at = now  # RFC 9126 §4: the request_uri is single-use
    return dict(row.params), row.dpop_jkt


def _from_jar(client: Client, token: str) -> dict[str, str]:
    """RFC 9101 §6: a request object signed with the client's registered key; its claims replace the query."""
    try:
        key = parse_public_signing_jwk(client.public_jwk)
        kid = peek_header(token).get("kid")
        registered_kid = (client.public_jwk or {}).get("kid")
        if kid is not None and registered_kid is not None and kid != registered_kid:
            raise PageError("error.bad_request_object")  # RFC 7515 §4.1.4: the kid names another key
        _, claims = verify_jwt(token, {str(kid): key}, algorithms=JAR_ALGS)
    except (FormatError, TypeError):
        raise PageError("error.bad_request_object") from None
    if claims.get("client_id") != client.client_id:  # RFC 9101 §5: MUST match the client_id parameter
        raise PageError("error.bad_request_object")
    issuer = state().settings.issuer
    if "iss" in claims and claims["iss"] != client.client_id:
        raise PageError("error.bad_request_object")
    if "aud" in claims and issuer not in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]):
        raise PageError("error.bad_request_object")
    if "exp" in claims and (not isinstance(claims["exp"], int) or claims["exp"] <= clock.epoch()):
        raise PageError("error.bad_request_object")
    out: dict[str, str] = {}
    for name, value in claims.items():
        if name in ("iss", "aud", "exp", "iat", "nbf", "jti", "request", "request_uri"):
            continue
        out[name] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return out


def _acrs(requested: list[str], client: Client, available: set[str]) -> list[str]:
    registered = [a for a in client.acr_values if a in available]
    if not requested:
        return registered
    return [a for a in dict.fromkeys(requested) if a in registered]  # no silent fallback to other ACRs


def _credential_scopes() -> frozenset[str]:
    """The ``scope`` of every credential configuration (issue 16): a wallet asks for a credential by its scope."""
    return frozenset(c.scope for c in configured().values())


def _credential_request(
    params: dict[str, str], scopes: list[str], fail: Any
) -> tuple[list[str], str | None, dict[str, list[dict[str, Any]]]]:
    """OpenID4VCI 1.0 §5.1.1 ``authorization_details`` and §5.1.3 ``issuer_state``: the configurations to return
    with ``credential_identifiers`` (every credential configuration granted, scopes included, once details are
    used) and the issuance the request is tied to."""
    try:
        details, claims = authorization.parse_request(params.get("authorization_details"))
    except ValueError as exc:  # RFC 9396 §5
        raise fail(InvalidAuthorizationDetails(str(exc))) from None
    by_scope = authorization.configurations_for_scopes(scopes)
    if "issuer_state" not in params:
        return ([*details, *(c for c in by_scope if c not in details)] if details else []), None, claims
    offer = authorization.find_offer(params["issuer_state"])
    if offer is None:  # §5.1.3: not guaranteed to come from this issuer; unknown, spent or expired
        raise fail(InvalidRequest("issuer_state is unknown, already used or expired."))
    wanted = [*details, *(c for c in by_scope if c not in details)]
    if not set(wanted) <= set(offer.configuration_ids):
        raise fail(InvalidRequest("The request asks for a credential the offer does not name."))
    # tied to an issuance, the grant always names its configurations (§6.2 credential_identifiers)
    return (wanted or list(offer.configuration_ids)), offer.issuance_id, claims


def _claims(scopes: list[str], claims_param: dict[str, Any], client: Client) -> dict[str, dict[str, bool]]:
    allowed = set(client.claims) & set(CLAIMS_SUPPORTED)
    userinfo: dict[str, bool] = {}
    for name in scope_claims(scopes):
        if name in allowed:
            userinfo[name] = False  # scope-derived claims are voluntary (OIDC Core §5.4)
    out = {"userinfo": userinfo, "id_token": {}}
    for target in ("userinfo", "id_token"):
        for name, spec in (claims_param.get(target) or {}).items():
            if name in allowed:
                out[target][name] = is_essential(spec)
    return {k: v for k, v in out.items() if v}


def parse(raw: dict[str, list[str]], *, available_acrs: set[str], pushing: bool = False) -> tuple[AuthRequest, Client]:
    """Validate an authorization request; raises PageError or RedirectError. ``pushing``: the request
    arrives at the PAR endpoint (RFC 9126 §2.1: validated as the authorization endpoint would)."""
    try:
        params = _single(raw)
    except ValueError:
        raise PageError("error.bad_request") from None
    if any(len(v) > MAX_PARAM * 4 for v in params.values()):
        raise PageError("error.bad_request")
    client = relying_party(params.get("client_id"))
    dpop_jkt = params.get("dpop_jkt")
    via_par = pushing
    if "request_uri" in params and not pushing:
        params, pushed_jkt = _from_par(client, params["request_uri"])
        dpop_jkt = pushed_jkt or params.get("dpop_jkt")
        via_par = True
    if "request" in params:
        params = _from_jar(client, params["request"])
        dpop_jkt = dpop_jkt or params.get("dpop_jkt")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client.redirect_uris:  # exact string match (RFC 9700 §2.1)
        raise PageError("error.bad_redirect_uri")
    state_value = params.get("state")

    def fail(error: OAuthError) -> RedirectError:
        return RedirectError(error, redirect_uri, state_value)

    policy = client_metadata.policy(client)
    if policy.require_par and not via_par:  # RFC 9126 §5: the client must push its requests
        raise fail(InvalidRequest("This client must use pushed authorization requests."))
    if any(len(params.get(n) or "") > MAX_PARAM for n in ("state", "nonce", "login_hint", "ui_locales")):
        raise fail(InvalidRequest("A parameter is too long."))
    if params.get("response_type") != "code":  # idbb serves the authorization code flow only
        raise fail(UnsupportedResponseType("response_type must be code."))
    if params.get("response_mode", "query") != "query":
        raise fail(InvalidRequest("response_mode must be query."))
    credential_scopes = _credential_scopes()
    scopes = [
        s for s in dict.fromkeys((params.get("scope") or "").split()) if s in OIDC_SCOPES or s in credential_scopes
    ]  # OpenID4VCI 1.0 §5.1.2: a scope per configuration
    details, issuance_id, detail_claims = _credential_request(params, scopes, fail)
    openid = "openid" in scopes
    if not openid:
        if not details and not set(scopes) & credential_scopes:  # OIDC Core §3.1.2.1: scope MUST contain openid
            raise fail(InvalidScope("scope must include openid, or the request must ask for a credential."))
        # a credential-only OAuth request (OpenID4VCI 1.0 §5.1): no ID token, so no OIDC scopes or claims
        scopes = [s for s in scopes if s in credential_scopes]
    try:
        pkce_format.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    except FormatError as exc:
        reason = getattr(exc, "reason", "malformed")
        if reason != "missing" or policy.require_pkce or params.get("code_challenge"):
            raise fail(InvalidRequest("PKCE with code_challenge_method S256 is required.")) from None
    prompt = (params.get("prompt") or "").split()
    if not set(prompt) <= set(PROMPTS) or ("none" in prompt and len(prompt) > 1):
        raise fail(InvalidRequest("Unsupported prompt value or combination."))  # OIDC Core §3.1.2.1
    max_age = None
    if params.get("max_age") not in (None, ""):
        text = params["max_age"]
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise fail(InvalidRequest("max_age must be a non-negative integer."))
        max_age = int(text)
    display = params.get("display")
    if display is not None and display not in DISPLAYS:
        raise fail(InvalidRequest("Unsupported display value."))
    try:
        claims_param = parse_claims_request(params.get("claims"))
    except FormatError:
        raise fail(InvalidRequest("The claims parameter is not valid JSON of the right shape.")) from None
    requested_acrs = (params.get("acr_values") or "").split()
    acr_claim = (claims_param.get("id_token") or {}).get("acr") or {}
    if isinstance(acr_claim, dict) and (acr_claim.get("values") or acr_claim.get("value")):
        requested_acrs = list(acr_claim.get("values") or [acr_claim.get("value")])
    acrs = _acrs(
        [a for a in requested_acrs if isinstance(a, str) and a in ACR_REQUIREMENTS] if requested_acrs else [],
        client,
        available_acrs,
    )
    if requested_acrs and not acrs:
        raise fail(InvalidRequest("None of the requested acr_values is available to this client."))
    if not acrs:
        raise fail(InvalidRequest("The client has no usable authentication context registered."))
    request = AuthRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=scopes,
        state=state_value,
        nonce=params.get("nonce"),
        prompt=prompt,
        max_age=max_age,
        display=display,
        ui_locales=params.get("ui_locales"),
        claims_locales=(params.get("claims_locales") or "").split()[:10],
        acr_values=acrs,
        claims=_claims(scopes, claims_param, client) if openid else {},
        login_hint=params.get("login_hint"),
        code_challenge=params.get("code_challenge"),
        dpop_jkt=dpop_jkt,
        via_par=via_par,
        authorization_details=details,
        authorization_claims=detail_claims,
        issuance_id=issuance_id,
    )
    return request, client
