"""The browser side of the authorization code flow: request → login → consent → code.

Each step is one use case and one transaction. A transaction is bound to the browser that started
it (a cookie whose hash it stores) and every form carries the transaction's CSRF token, so neither
a forged form nor a stolen transaction id can complete someone else's login. The views render
what the outcomes say; they decide nothing.
"""

import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from app.clock import clock
from app.errors import AccessDenied, ConsentRequired, LoginRequired, RateLimited
from app.extensions import db, state
from app.models.clients import Client
from app.models.login import AuthTransaction, LoginSession
from app.services import audit, throttle
from app.services.notifier import DeliveryError
from app.services.oidc import authentication, consents, grants, sso
from app.services.oidc.acr import ACR_REQUIREMENTS, METHOD_FOR_ACR
from app.services.oidc.authorize_request import AuthRequest, PageError, RedirectError, parse, relying_party
from app.services.oidc.client_metadata import policy as client_policy
from app.services.page_outcome import Outcome, csp_source
from app.services.stored_secrets import digest
from app.services.transaction import atomic


def available_acrs() -> set[str]:
    """ACRs idbb can satisfy now: PIN and the wallet (QR login) always, OTP when a notifier can deliver
    codes. Biometrics are not offered: no matcher is configured (never advertise what does not work)."""
    acrs = {"idbb:acr:static-code", "idbb:acr:linked-wallet", "idbb:acr:linked-wallet-static-code"}
    if authentication.otp_channels():
        acrs.add("idbb:acr:generated-code")
    return acrs


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def error_redirect(err: RedirectError) -> Outcome:
    # RFC 9207 §2: iss in every authorization response, errors included
    return Outcome(
        redirect=_with_query(
            err.redirect_uri,
            {"error": err.error, "error_description": err.description, "state": err.state, "iss": state().settings.issuer},
        )
    )


def acr_for(amr: list[str], acrs: list[str]) -> str | None:
    """The first requested ACR that the methods used (``amr``) satisfy, or None (GovStack §7)."""
    used = set(amr)
    for acr in acrs:
        if any(alt <= used for alt in ACR_REQUIREMENTS.get(acr, ())):
            return acr
    return None


def _login_page(
    txn: AuthTransaction,
    request: AuthRequest,
    client: Client,
    error_key: str | None = None,
    status: int = 200,
    identifier: str = "",
) -> Outcome:
    """The login page; after a failed attempt it keeps the ``identifier`` the person typed (a wrong PIN should
    not make them type their UIN again), else the relying party's ``login_hint``."""
    methods = [METHOD_FOR_ACR[a] for a in request.acr_values if a in METHOD_FOR_ACR]
    return Outcome(
        "login.html",
        {
            "txn": txn.transaction_id,
            "csrf": txn.csrf,
            "client_name": client.name,
            "client_logo": client.logo_uri,
            "methods": list(dict.fromkeys(methods)),
            "login_hint": identifier[:256] or request.login_hint or "",
            "error_key": error_key,
            "ui_locales": request.ui_locales,
        },
        status=status,
    )


def _consent_page(txn: AuthTransaction, request: AuthRequest, client: Client) -> Outcome:
    return Outcome(
        "consent.html",
        {
            "txn": txn.transaction_id,
            "csrf": txn.csrf,
            "client_name": client.name,
            "client_logo": client.logo_uri,
            "essential_claims": request.essential_claims(),
            "voluntary_claims": request.voluntary_claims(),
            "scopes": request.extra_scopes(),
            "ui_locales": request.ui_locales,
        },
    )


def _code_redirect(request: AuthRequest, code: str) -> Outcome:
    return Outcome(
        redirect=_with_query(request.redirect_uri, {"code": code, "state": request.state, "iss": state().settings.issuer})
    )  # RFC 9207 §2


def _issue(
    request: AuthRequest,
    identity_id: str,
    amr: list[str],
    acr: str,
    auth_time: int,
    session_id: str | None,
    accepted: list[str],
) -> Outcome:
    scopes = list(request.scope)
    code = grants.issue_code(
        request,
        identity_id=identity_id,
        amr=amr,
        acr=acr,
        auth_time=auth_time,
        session_id=session_id,
        accepted_claims=accepted,
        scopes=scopes,
    )
    return _code_redirect(request, code)


def _after_authentication(txn: AuthTransaction, request: AuthRequest, client: Client) -> Outcome:
    """Consent when needed, else the code (OIDC Core §3.1.2.4)."""
    assert txn.identity_id is not None and txn.acr is not None and txn.auth_time is not None
    if consents.needs_asking(request):
        stored = consents.current(txn.identity_id, request)
        if stored is None or "consent" in request.prompt:
            if "none" in request.prompt:  # OIDC Core §3.1.2.6: no UI may be shown
                raise RedirectError(ConsentRequired(), request.redirect_uri, request.state)
            txn.status = "authenticated"
            return _consent_page(txn, request, client)
        accepted = [c for c in stored.accepted_claims]
    else:
        accepted = []
    txn.status = "done"
    return _issue(request, txn.identity_id, list(txn.amr), txn.acr, txn.auth_time, txn.session_id, accepted)


def _usable_session(session: LoginSession | None, request: AuthRequest) -> str | None:
    """The ACR a live SSO session satisfies for this request, or None (OIDC Core §3.1.2.1 max_age)."""
    if session is None or "login" in request.prompt or "select_account" in request.prompt:
        return None
    # max_age=0 is equivalent to prompt=login (OIDC Core §3.1.2.1, errata set 2), even within the same second
    if request.max_age is not None and (request.max_age == 0 or clock.epoch() - session.auth_time > request.max_age):
        return None
    return acr_for(list(session.amr), request.acr_values)


@atomic()
def begin(raw: dict[str, list[str]], browser: str, session_cookie: str | None) -> Outcome:
    """GET/POST /authorize."""
    try:
        request, client = parse(raw, available_acrs=available_acrs())
        session = sso.find(session_cookie)
        now = clock.now()
        txn = AuthTransaction(
            transaction_id=secrets.token_urlsafe(24),
            client_id=client.client_id,
            browser_hash=digest(browser),
            csrf=secrets.token_urlsafe(24),
            request=request.as_dict(),
            status="pending",
            created_at=now,
            expires_at=now + timedelta(seconds=state().settings.authorize_ttl),
        )
        acr = _usable_session(session, request)
        if session is not None and acr is not None:
            txn.identity_id, txn.amr, txn.acr = session.identity_id, list(session.amr), acr
            txn.auth_time, txn.session_id = session.auth_time, session.session_id
            db.session.add(txn)
            outcome = _after_authentication(txn, request, client)
        elif "none" in request.prompt:  # OIDC Core §3.1.2.6
            raise RedirectError(LoginRequired(), request.redirect_uri, request.state)
        else:
            db.session.add(txn)
            outcome = _login_page(txn, request, client)
        return _forms_lead_to(outcome, request)
    except PageError as err:  # committed all the same by atomic(): a consumed request_uri stays consumed
        # GovStack §8 GET /authorize answers 200 (its only response), with the error page when the client or
        # redirect_uri cannot be trusted, as eSignet's UI does: never a bare 400, and never a redirect
        return Outcome("error.html", {"error_key": err.key}, status=200)
    except RedirectError as err:
        return error_redirect(err)


def _forms_lead_to(outcome: Outcome, request: AuthRequest) -> Outcome:
    """A login, OTP or consent page's forms end in a redirect to the request's redirect URI: CSP
    ``form-action`` allows its origin (and 'self'), not every origin (issue 14, security 5)."""
    if outcome.template is not None:
        outcome.form_action = csp_source(request.redirect_uri)
    return outcome


def _transaction(txn_id: str, csrf: str, browser: str, *, statuses: tuple[str, ...]) -> AuthTransaction:
    row = db.session.get(AuthTransaction, txn_id) if txn_id and len(txn_id) <= 64 else None
    if row is None or row.expires_at <= clock.now() or row.status not in statuses:
        raise PageError("error.expired")
    same_browser = hmac.compare_digest(row.browser_hash, digest(browser or ""))
    if not same_browser or not hmac.compare_digest(row.csrf, csrf or ""):  # CSRF and browser binding
        raise PageError("error.csrf")
    return row


def _run(txn_id: str, csrf: str, browser: str, statuses: tuple[str, ...], step: Any) -> Outcome:
    """One step of a pending login as one transaction: committed when the step answers a page or sends the
    person back to the client (RFC 6749 §4.1.2.1: the transaction is over), rolled back on an error page."""
    try:
        with atomic():
            try:
                txn = _transaction(txn_id, csrf, browser, statuses=statuses)
                request = AuthRequest.from_dict(txn.request)
                client = relying_party(txn.client_id)
                outcome = step(txn, request, client)
            except RedirectError as err:
                return error_redirect(err)
        return _forms_lead_to(outcome, request)
    except PageError as err:
        return Outcome("error.html", {"error_key": err.key}, status=400)


def _logged_in(txn: AuthTransaction, request: AuthRequest, client: Client, result: authentication.Authenticated) -> Outcome:
    acr = acr_for(list(result.amr), request.acr_values)
    if acr is None:
        return _login_page(txn, request, client, "login.failed", status=400)
    auth_time = clock.epoch()
    cookie, session = sso.start(result.identity_id, list(result.amr), acr, auth_time)
    txn.identity_id, txn.amr, txn.acr, txn.auth_time = result.identity_id, list(result.amr), acr, auth_time
    txn.session_id = session.session_id
    audit.record(
        "authentication.succeeded",
        actor=txn.client_id,
        target=result.identity_id,
        details={"amr": " ".join(result.amr), "acr": acr},
    )
    outcome = _after_authentication(txn, request, client)
    outcome.set_session = cookie
    return outcome


def _too_many(limited: RateLimited) -> Outcome:
    """RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3), as a page in the person's language."""
    return Outcome("error.html", {"error_key": "error.too_many_requests"}, status=429, retry_after=limited.retry_after)


def login(
    txn_id: str, csrf: str, browser: str, method: str, identifier: str, secret: str, source: str | None = None
) -> Outcome:
    """POST /authorize/login: PIN/password or OTP. ``source``: the client's address (throttles, lockout).

    Two transactions on purpose: the throttle's count commits first (``throttle.check``, via
    ``transaction.count_now``) so that an attempt that fails is still counted; the attempt itself is one
    transaction (``_run``), whose failure count and audit event commit with the login page it answers."""
    try:  # counted (and committed) before the attempt: one transaction, relying party or address cannot
        throttle.check(throttle.ATTEMPT, source, transaction_id=txn_id)  # try without end (issue 14, #3)
    except RateLimited as limited:
        return _too_many(limited)

    def step(txn: AuthTransaction, request: AuthRequest, client: Client) -> Outcome:
        wanted = {"pin": "idbb:acr:static-code", "otp": "idbb:acr:generated-code"}.get(method)
        if wanted not in request.acr_values or not identifier or not secret or len(identifier) > 256 or len(secret) > 256:
            return _login_page(txn, request, client, "login.failed", status=400, identifier=identifier)
        try:
            if method == "pin":
                result = authentication.with_static_code(identifier, secret, source=source)
            else:
                result = authentication.with_otp(txn.transaction_id, identifier, secret, source=source)
        except authentication.AuthFailed as failed:
            audit.record(
                "authentication.failed",
                actor=txn.client_id,
                outcome="failure",
                details={"method": method, "reason": failed.key},
            )
            # the failure count persists: this step answers a page, and _run commits it
            if method == "otp" and failed.key == "login.failed":
                return Outcome(
                    "otp.html",
                    {
                        "txn": txn.transaction_id,
                        "csrf": txn.csrf,
                        "identifier": identifier,
                        "error_key": "otp.failed",
                        "ui_locales": request.ui_locales,
                    },
                    status=400,
                )
            return _login_page(txn, request, client, failed.key, status=400, identifier=identifier)
        return _logged_in(txn, request, client, result)

    return _run(txn_id, csrf, browser, ("pending",), step)


def request_otp(
    txn_id: str,
    csrf: str,
    browser: str,
    identifier: str,
    message: Callable[[str | None], tuple[str, str]],
    source: str | None = None,
) -> Outcome:
    """POST /authorize/otp: send a code; the page reads the same, byte for byte apart from the transaction's
    own tokens, whether or not the identifier exists or the delivery worked.
    ``message(ui_locales)`` gives the mail's subject and body (``{code}`` placeholder) in the pages' language."""
    try:
        throttle.check(throttle.SEND, source, transaction_id=txn_id)
    except RateLimited as limited:
        return _too_many(limited)

    def step(txn: AuthTransaction, request: AuthRequest, client: Client) -> Outcome:
        if "idbb:acr:generated-code" not in request.acr_values or not identifier or len(identifier) > 256:
            return _login_page(txn, request, client, "login.failed", status=400)
        subject, body = message(request.ui_locales)
        try:
            authentication.send_otp(txn.transaction_id, identifier, subject, body, source=source)
        except authentication.AuthFailed as failed:
            return _login_page(txn, request, client, failed.key, status=400)
        except DeliveryError:
            pass  # logged by the notifier; the page must read as for an unknown identifier (no oracle)
        # No masked destination: before any factor is proved, "a***@example.org" would tell who is enrolled
        # (and leak the first letter and the domain). The page reads the same for everyone (issue 14, #2).
        return Outcome(
            "otp.html",
            {
                "txn": txn.transaction_id,
                "csrf": txn.csrf,
                "identifier": identifier,
                "error_key": None,
                "ui_locales": request.ui_locales,
            },
        )

    return _run(txn_id, csrf, browser, ("pending",), step)


def consent(txn_id: str, csrf: str, browser: str, decision: str, chosen: list[str]) -> Outcome:
    """POST /authorize/consent: accept (with the chosen voluntary claims) or decline."""

    def step(txn: AuthTransaction, request: AuthRequest, client: Client) -> Outcome:
        assert txn.identity_id is not None and txn.acr is not None and txn.auth_time is not None
        txn.status = "done"
        if decision != "accept":  # OIDC Core §3.1.2.6: the person refused
            audit.record("consent.declined", actor=txn.client_id, target=txn.identity_id)
            raise RedirectError(AccessDenied("The person declined."), request.redirect_uri, request.state)
        accepted = request.essential_claims() + [c for c in request.voluntary_claims() if c in set(chosen)]
        consents.save(txn.identity_id, request, accepted, request.scope, client_policy(client).consent_ttl)
        audit.record(
            "consent.given", actor=txn.client_id, target=txn.identity_id, details={"claims": " ".join(sorted(accepted))}
        )
        return _issue(request, txn.identity_id, list(txn.amr), txn.acr, txn.auth_time, txn.session_id, accepted)

    return _run(txn_id, csrf, browser, ("authenticated",), step)


def resume(txn_id: str, browser: str) -> Outcome:
    """GET /authorize/resume: back to the login page of a pending transaction (same browser only)."""
    row = db.session.get(AuthTransaction, txn_id) if txn_id and len(txn_id) <= 64 else None
    if (
        row is None
        or row.expires_at <= clock.now()
        or row.status != "pending"
        or not hmac.compare_digest(row.browser_hash, digest(browser or ""))
    ):
        return Outcome("error.html", {"error_key": "error.expired"}, status=400)
    try:
        client = relying_party(row.client_id)
    except PageError as err:
        return Outcome("error.html", {"error_key": err.key}, status=400)
    request = AuthRequest.from_dict(row.request)
    return _forms_lead_to(_login_page(row, request, client), request)
