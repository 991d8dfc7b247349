"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

With a valid ``id_token_hint`` that belongs to this browser's session (its ``sid``, or its pairwise
``sub`` for the client it names) the session ends at once; otherwise the person confirms on a page
(§2: the OP MUST ask when the ID token does not belong to the current session or person), and only
the session this browser presents is ever ended: a leaked ID token logs nobody out elsewhere.
``post_logout_redirect_uri`` is followed only when it is registered for an active client (§3: exact
match), with ``state`` passed back.
"""

import hmac
from typing import Any
from urllib.parse import urlencode

from app.extensions import state
from app.formats import FormatError
from app.formats.jose import peek_header, verify_jwt
from app.models.login import LoginSession
from app.services import audit, keys
from app.services.oidc import client_lookup, client_metadata, sso
from app.services.oidc.id_tokens import subject
from app.services.page_outcome import Outcome, csp_source
from app.services.stored_secrets import mac
from app.services.transaction import atomic

ID_TOKEN_ALGS = ("RS256", "PS256", "ES256", "EdDSA")


def csrf_for(browser: str) -> str:
    return mac("logout csrf", browser)


def _hint_claims(hint: str) -> dict[str, Any] | None:
    """Claims of an ID token idbb issued; expired ones are fine (§2: the OP SHOULD accept them). Other
    tokens idbb signs (access tokens, signed userinfo) are no ID tokens: a relying party's ``aud`` and a
    ``sub`` are required, and an ``at+jwt`` is refused."""
    try:
        kid = peek_header(hint).get("kid")
        published = keys.public_jwks_by_kid(want=kid if isinstance(kid, str) else None)
        header, claims = verify_jwt(hint, published, algorithms=ID_TOKEN_ALGS)
    except (FormatError, TypeError, ValueError):
        return None
    if claims.get("iss") != state().settings.issuer or str(header.get("typ", "JWT")).lower() != "jwt":
        return None
    aud = claims.get("aud")
    if not isinstance(aud, str) or aud == state().settings.issuer or not isinstance(claims.get("sub"), str):
        return None
    return claims


def _belongs_to(claims: dict[str, Any], session: LoginSession) -> bool:
    """Whether an ID token was issued in this session (``sid``), or, without a ``sid``, to its person."""
    if claims.get("sid"):
        return hmac.compare_digest(str(claims["sid"]), session.session_id)
    client = client_lookup.active_client(str(claims["aud"]))
    return client is not None and hmac.compare_digest(str(claims["sub"]), subject(client, session.identity_id))


def _redirect_target(params: dict[str, str], client_id: str | None) -> str | None:
    uri = params.get("post_logout_redirect_uri")
    if not uri or not client_id:
        return None
    client = client_lookup.active_client(client_id)  # a deactivated client's URIs are followed no more
    if client is None:
        return None
    registered = client_metadata.policy(client).post_logout_redirect_uris
    if uri not in registered:
        return None
    query = urlencode({"state": params["state"]}) if params.get("state") else ""
    return f"{uri}{'&' if '?' in uri else '?'}{query}" if query else uri


def _end(session: LoginSession | None, actor: str) -> None:
    if session is not None:
        sso.end(session)
        audit.record("session.ended", actor=actor, target=session.session_id)


@atomic()
def request(params: dict[str, str], session_cookie: str | None, browser: str) -> Outcome:
    """GET/POST /logout from a relying party."""
    hint = params.get("id_token_hint")
    claims = _hint_claims(hint) if hint else None
    if hint and claims is None:
        return Outcome("error.html", {"error_key": "error.bad_request"}, status=400)
    aud = claims.get("aud") if claims else None
    client_id = params.get("client_id") or (aud if isinstance(aud, str) else None)
    if claims is not None and params.get("client_id") and params["client_id"] != aud:
        return Outcome("error.html", {"error_key": "error.bad_request"}, status=400)
    target = _redirect_target(params, client_id)
    if params.get("post_logout_redirect_uri") and target is None:
        return Outcome("error.html", {"error_key": "error.bad_redirect_uri"}, status=400)
    session = sso.find(session_cookie)
    if claims is None or (session is not None and not _belongs_to(claims, session)):
        hidden = {k: params[k] for k in ("client_id", "post_logout_redirect_uri", "state") if params.get(k)}
        if client_id and "client_id" not in hidden:
            hidden["client_id"] = client_id  # so the confirmation can still redirect
        return Outcome(
            "logout.html", {"done": False, "hidden": hidden, "csrf": csrf_for(browser)}, form_action=csp_source(target)
        )  # the confirmation redirects there (CSP form-action)
    _end(session, str(claims["aud"]))
    if target:
        return Outcome(redirect=target, clear_session=True)
    return Outcome("logout.html", {"done": True, "hidden": {}}, clear_session=True)


@atomic()
def confirm(params: dict[str, str], session_cookie: str | None, browser: str) -> Outcome:
    """POST /logout from the confirmation page."""
    if not hmac.compare_digest(params.get("csrf", ""), csrf_for(browser)):
        return Outcome("error.html", {"error_key": "error.csrf"}, status=400)
    target = _redirect_target(params, params.get("client_id"))
    if params.get("decision") == "logout":
        _end(sso.find(session_cookie), "person")
        if target:
            return Outcome(redirect=target, clear_session=True)
        return Outcome("logout.html", {"done": True, "hidden": {}}, clear_session=True)
    if target:
        return Outcome(redirect=target)
    return Outcome("logout.html", {"done": False, "hidden": {}, "csrf": csrf_for(browser)}, form_action=csp_source(target))
