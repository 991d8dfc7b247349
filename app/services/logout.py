"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

With a valid ``id_token_hint`` the session it names ends at once; without one the person confirms
on a page (§2: the OP SHOULD ask). ``post_logout_redirect_uri`` is followed only when it is
registered for the client (§3: exact match), with ``state`` passed back.
"""

import hmac
from typing import Any
from urllib.parse import urlencode

from app.extensions import db, state
from app.formats import FormatError
from app.formats.jose import peek_header, verify_jwt
from app.models.clients import Client
from app.services import audit, client_metadata, keys, sso
from app.services.page_outcome import Outcome
from app.services.stored_secrets import mac

ID_TOKEN_ALGS = ("RS256", "PS256", "ES256", "EdDSA")


def csrf_for(browser: str) -> str:
    return mac("logout csrf", browser)


def _hint_claims(hint: str) -> dict[str, Any] | None:
    """Claims of an ID token idbb issued; expired ones are fine (§2: the OP SHOULD accept them)."""
    try:
        kid = peek_header(hint).get("kid")
        published = keys.public_jwks_by_kid(want=kid if isinstance(kid, str) else None)
        _, claims = verify_jwt(hint, published, algorithms=ID_TOKEN_ALGS)
    except (FormatError, TypeError, ValueError):
        return None
    if claims.get("iss") != state().settings.issuer:
        return None
    return claims


def _redirect_target(params: dict[str, str], client_id: str | None) -> str | None:
    uri = params.get("post_logout_redirect_uri")
    if not uri or not client_id:
        return None
    client = db.session.get(Client, client_id)
    if client is None:
        return None
    registered = client_metadata.policy(client).post_logout_redirect_uris
    if uri not in registered:
        return None
    query = urlencode({"state": params["state"]}) if params.get("state") else ""
    return f"{uri}{'&' if '?' in uri else '?'}{query}" if query else uri


def _end(session_cookie: str | None, claims: dict[str, Any] | None) -> None:
    session = sso.find(session_cookie)
    if claims is not None and claims.get("sid"):
        hinted = sso.by_id(str(claims["sid"]))
        if hinted is not None and hinted.ended_at is None:
            session = hinted
    if session is not None:
        sso.end(session)
        audit.record("session.ended", actor=str(claims.get("aud")) if claims else "person", target=session.session_id)


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
    if claims is None:
        hidden = {k: params[k] for k in ("client_id", "post_logout_redirect_uri", "state") if params.get(k)}
        return Outcome("logout.html", {"done": False, "hidden": hidden, "csrf": csrf_for(browser)})
    _end(session_cookie, claims)
    db.session.commit()
    if target:
        return Outcome(redirect=target, clear_session=True)
    return Outcome("logout.html", {"done": True, "hidden": {}}, clear_session=True)


def confirm(params: dict[str, str], session_cookie: str | None, browser: str) -> Outcome:
    """POST /logout from the confirmation page."""
    if not hmac.compare_digest(params.get("csrf", ""), csrf_for(browser)):
        return Outcome("error.html", {"error_key": "error.csrf"}, status=400)
    target = _redirect_target(params, params.get("client_id"))
    if params.get("decision") == "logout":
        _end(session_cookie, None)
        db.session.commit()
        if target:
            return Outcome(redirect=target, clear_session=True)
        return Outcome("logout.html", {"done": True, "hidden": {}}, clear_session=True)
    if target:
        return Outcome(redirect=target)
    return Outcome("logout.html", {"done": False, "hidden": {}, "csrf": csrf_for(browser)})


