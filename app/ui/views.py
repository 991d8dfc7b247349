"""Browser routes: ``/authorize`` (GET and form POST), the login, OTP and consent forms, the wallet (QR) page,
``/logout``.

These are HTML pages, not API operations, so they live in a Flask blueprint beside the OpenAPI
surfaces (ARCHITECTURE.md: "no Flask route outside the specs except the UI pages"). Thin: read the
request, call one service, render or redirect. Cookies are ``Secure``, ``HttpOnly`` and
``SameSite=Lax`` (the wallet page's ``XSRF-TOKEN``: ``Strict``, path ``/linked-authorization``); pages carry a
strict Content-Security-Policy (scripts only from 'self': ``wallet.js``, the one script of the UI) and are never
cached.
"""

import json
import secrets
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as WerkzeugResponse

from app.errors import RateLimited
from app.extensions import state
from app.services.issuance import offer_page, wallet_offers
from app.services.oidc import authorize_flow, logout
from app.services.page_outcome import Outcome
from app.services.wallet import wallet_page
from app.ui import i18n

BROWSER_COOKIE = "idbb_browser"
SESSION_COOKIE = "idbb_session"
#: The double-submit cookie of the wallet page; wallet.js sends the same value as X-XSRF-TOKEN.
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_COOKIE_PATH = "/linked-authorization"
_HERE = Path(__file__).parent

blueprint = Blueprint(
    "ui",
    __name__,
    template_folder=str(_HERE / "templates"),
    static_folder=str(_HERE / "static"),
    static_url_path="/ui/static",
)


def _locale(ui_locales: str | None) -> str:
    return i18n.negotiate(ui_locales, request.headers.get("Accept-Language"), state().settings.ui_locale_list())


def _browser() -> tuple[str, bool]:
    value = request.cookies.get(BROWSER_COOKIE)
    if value and 20 <= len(value) <= 64:
        return value, False
    return secrets.token_urlsafe(24), True


def _source() -> str | None:
    """The client's address for the throttles: the ASGI client address (behind a reverse proxy, the address
    uvicorn/gunicorn took from X-Forwarded-For of a peer listed in ``FORWARDED_ALLOW_IPS``; README)."""
    return request.remote_addr


def _params() -> dict[str, list[str]]:
    source = request.form if request.method == "POST" else request.args
    return {k: source.getlist(k) for k in source}


def _form(name: str) -> str:
    return request.form.get(name, "")


def _page(template: str, context: dict[str, Any], status: int) -> Response:
    locale = _locale(context.get("ui_locales"))
    body = render_template(
        template,
        locale=locale,
        direction=i18n.direction(locale),
        t=lambda key, **values: i18n.translate(locale, key, **values),
        css_url=url_for("ui.static", filename="idbb.css"),
        script_url=url_for("ui.static", filename="wallet.js"),
        **{"csrf": "", "txn": "", **context},
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


_R = TypeVar("_R", bound=WerkzeugResponse)  # flask.Response, or the werkzeug Response that redirect() returns


def _secure_headers(response: _R, form_action: tuple[str, ...] = ()) -> _R:
    """``form-action`` allows 'self' and the origins the page's forms are redirected to (the relying party's
    redirect URI, a logout target): a form injected into a page cannot send its fields anywhere else."""
    response.headers["Cache-Control"] = "no-store"
    targets = " ".join(("'self'", *form_action))
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' https: data:; "
        f"frame-ancestors 'none'; form-action {targets}; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _cookie(response: WerkzeugResponse, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, secure=True, httponly=True, samesite="Lax", path="/")


def _render(outcome: Outcome, browser: str | None = None, new_browser: bool = False) -> WerkzeugResponse:
    if outcome.redirect:
        response = redirect(outcome.redirect, code=303)
    else:
        response = _page(outcome.template or "error.html", outcome.context, outcome.status)
    if browser and new_browser:
        _cookie(response, BROWSER_COOKIE, browser, None)
    settings = state().settings
    if outcome.set_session:
        _cookie(response, SESSION_COOKIE, outcome.set_session, settings.session_ttl)
    if outcome.retry_after is not None:
        response.headers["Retry-After"] = str(outcome.retry_after)  # RFC 9110 §10.2.3, with the 429 page
    if outcome.clear_session:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    return _secure_headers(response, outcome.form_action)


@blueprint.route("/authorize", methods=["GET", "POST"])
def authorize() -> WerkzeugResponse:
    browser, new = _browser()
    outcome = authorize_flow.begin(_params(), browser, request.cookies.get(SESSION_COOKIE))
    return _render(outcome, browser, new)


@blueprint.route("/authorize/login", methods=["POST"])
def login() -> WerkzeugResponse:
    browser, _ = _browser()
    outcome = authorize_flow.login(
        _form("txn"), _form("csrf"), browser, _form("method"), _form("identifier"), _form("secret"), source=_source()
    )
    return _render(outcome)


@blueprint.route("/authorize/otp", methods=["POST"])
def request_otp() -> WerkzeugResponse:
    browser, _ = _browser()

    def message(ui_locales: str | None) -> tuple[str, str]:  # the same language as the pages
        locale = _locale(ui_locales)
        return i18n.translate(locale, "otp.mail_subject"), i18n.translate(locale, "otp.mail_body", code="{code}")

    outcome = authorize_flow.request_otp(
        _form("txn"), _form("csrf"), browser, _form("identifier"), message, source=_source()
    )
    return _render(outcome)


@blueprint.route("/authorize/consent", methods=["POST"])
def consent() -> WerkzeugResponse:
    browser, _ = _browser()
    outcome = authorize_flow.consent(_form("txn"), _form("csrf"), browser, _form("decision"), request.form.getlist("claims"))
    return _render(outcome)


@blueprint.route("/authorize/resume", methods=["GET"])
def resume() -> WerkzeugResponse:
    browser, _ = _browser()
    return _render(authorize_flow.resume(request.args.get("txn", ""), browser))


@blueprint.route("/authorize/wallet", methods=["GET"])
def wallet() -> WerkzeugResponse:
    browser, _ = _browser()
    outcome = wallet_page.open_page(request.args.get("txn", ""), browser)
    if "qr_svg" in outcome.context:
        outcome.context["qr_svg"] = Markup(outcome.context["qr_svg"])  # noqa: S704 - SVG made by segno, no input text
    response = _render(outcome)
    if outcome.context.get("xsrf"):
        response.set_cookie(
            XSRF_COOKIE, outcome.context["xsrf"], secure=True, httponly=True, samesite="Strict", path=XSRF_COOKIE_PATH
        )
    return response


@blueprint.route("/authorize/wallet/qr.svg", methods=["GET"])
def wallet_qr() -> Response:
    """The QR code of the deep link for a link code wallet.js received (new codes replace expiring ones)."""
    svg = wallet_page.qr_svg(request.args.get("code", ""), request.args.get("exp", ""))
    if svg is None:
        response = Response("invalid code or exp", status=400, content_type="text/plain; charset=utf-8")
    else:
        response = Response(svg, content_type="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.route("/logout", methods=["GET", "POST"])
def end_session() -> WerkzeugResponse:
    browser, new = _browser()
    params = {k: v[0] for k, v in _params().items() if v}
    session = request.cookies.get(SESSION_COOKIE)
    if request.method == "POST" and "decision" in params:
        return _render(logout.confirm(params, session, browser), browser, new)
    return _render(logout.request(params, session, browser), browser, new)


@blueprint.route("/offers/<issuance_id>", methods=["GET"])
def credential_offer_page(issuance_id: str) -> WerkzeugResponse:
    """The credential offer page (issue 16) in the login pages' languages."""
    outcome = offer_page.open_page(issuance_id)
    if "qr_svg" in outcome.context:
        outcome.context["qr_svg"] = Markup(outcome.context["qr_svg"])  # noqa: S704 - SVG made by segno, no input text
    return _render(outcome)


def _problem(status: int, title: str, retry_after: int | None = None) -> Response:
    """RFC 9457 problem details for the JSON variant of a page (no request text in it)."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status})
    response = Response(body, status=status, content_type="application/problem+json")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)  # RFC 9110 §10.2.3, with the 429 (RFC 6585 §4)
    return _secure_headers(response)


@blueprint.route("/offers/<scope>/<wallet_id>", methods=["GET"])
def wallet_offer_page(scope: str, wallet_id: str) -> WerkzeugResponse:
    """The wallet chooser (issue 18, seed 000's offer UI): a fresh person-free offer of ``scope`` for the wallet
    ``wallet_id``, as the offer page (HTML) or, with ``Accept: application/json``, as JSON."""
    wants_json = request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    try:
        offer = wallet_offers.create(scope, wallet_id, source=_source())
    except RateLimited as limited:
        if wants_json:
            return _problem(429, "Too many requests", limited.retry_after)
        return _render(
            Outcome("error.html", {"error_key": "error.too_many_requests"}, status=429, retry_after=limited.retry_after)
        )
    if offer is None:
        if wants_json:
            return _problem(404, "No credential or wallet of this name")
        return _render(Outcome("error.html", {"error_key": "error.offer_gone"}, status=404))
    if wants_json:
        body = json.dumps(offer.as_json(qr_code=wallet_offers.qr_code(offer)))
        return _secure_headers(Response(body, content_type="application/json"))
    context = wallet_offers.page_context(offer)
    context["qr_svg"] = Markup(context["qr_svg"])  # noqa: S704 - SVG made by segno, no input text
    return _render(Outcome("offer.html", context))
