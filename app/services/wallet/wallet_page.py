"""The browser's "sign in with your wallet" page: GovStack §8 "Wallet – QR Code", seen from the browser.

``GET /authorize/wallet`` shows, for a pending transaction of *this* browser (the same check as
``/authorize/resume``), a fresh link code as a QR code of the wallet deep link, as text to type, and as a
same-device link. ``wallet.js`` then long-polls the JSON API (:mod:`app.services.wallet.linked_authorization`),
asks for a new code before this one expires (its QR comes from :func:`qr_svg`) and continues to the
relying party once the wallet has authenticated the person and consented.

The page's XSRF token (double-submit: the ``XSRF-TOKEN`` cookie and the ``X-XSRF-TOKEN`` header) is a
MAC of the browser cookie, so every tab of one browser shares it and no other site can compute it. The
link-code and link-auth-code calls are also bound to that browser cookie itself (issue 14 finding 4).
"""

import hmac
import io
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import segno

from app.clock import clock
from app.errors import InvalidRequest, LinkCodeGenFailed
from app.extensions import db, state
from app.formats import FormatError
from app.formats.timefmt import format_response_time, parse_request_time
from app.models.login import AuthTransaction
from app.services.oidc.acr import METHOD_FOR_ACR
from app.services.oidc.authorize_request import AuthRequest, PageError, relying_party
from app.services.page_outcome import Outcome
from app.services.stored_secrets import digest, mac
from app.services.transaction import discard, end_read
from app.services.wallet import linked_authorization

LINK_CODE = re.compile(f"[{re.escape(linked_authorization.LINK_ALPHABET)}]{{{linked_authorization.LINK_CODE_LENGTH}}}")
GROUP = 5  # the code is shown as 5-5-5 for reading and typing
#: errorCode of new_link_code -> the error page's message
_ERROR_KEYS = {LinkCodeGenFailed.code: "wallet.no_more_codes"}


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def xsrf_token(browser: str) -> str:
    """The double-submit token of this browser's wallet pages (stable per browser, so tabs agree)."""
    return mac("wallet page xsrf", browser)


def deep_link(link_code: str, expire_date_time: str) -> str:
    """The wallet deep link (``IDBB_WALLET_DEEP_LINK``) with its placeholders filled, URL-encoded."""
    template = state().settings.wallet_deep_link
    return template.replace("{linkCode}", quote(link_code, safe="")).replace(
        "{expireDateTime}", quote(expire_date_time, safe="")
    )


def _svg(text: str) -> str:
    """An SVG QR code of ``text``: dark on white with the 4-module quiet zone, sized by its viewBox."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        omitsize=True,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="qr-code",
        lineclass=None,
    )
    return out.getvalue().decode("ascii")


def qr_svg(link_code: str, expire_date_time: str) -> str | None:
    """The QR code (SVG) of the deep link for a code; None when the code or the timestamp is malformed."""
    if not isinstance(link_code, str) or not LINK_CODE.fullmatch(link_code):
        return None
    try:
        expires = parse_request_time(expire_date_time)
    except FormatError:
        return None
    return _svg(deep_link(link_code, format_response_time(expires)))


def _groups(link_code: str) -> list[str]:
    return [link_code[i : i + GROUP] for i in range(0, len(link_code), GROUP)]


def _error(key: str) -> Outcome:
    return Outcome("error.html", {"error_key": key}, status=400)


def open_page(txn_id: str, browser: str) -> Outcome:
    """GET /authorize/wallet: a new link code for this browser's pending transaction, as a page."""
    row = db.session.get(AuthTransaction, txn_id) if txn_id and len(txn_id) <= 64 else None
    if (
        row is None
        or row.expires_at <= clock.now()
        or row.status != "pending"
        or not hmac.compare_digest(row.browser_hash, digest(browser or ""))
    ):
        end_read()
        return _error("error.expired")
    try:
        client = relying_party(row.client_id)
    except PageError as err:
        end_read()
        return _error(err.key)
    request = AuthRequest.from_dict(row.request)
    if not any(METHOD_FOR_ACR.get(acr) == "wallet" for acr in request.acr_values):
        end_read()  # the login page offers the wallet only for these requests
        return _error("error.bad_request")
    txn_expires = _millis(row.expires_at)
    try:
        made = linked_authorization.new_link_code(row.transaction_id, browser=browser)  # commits
    except InvalidRequest as err:
        discard()
        return _error(_ERROR_KEYS.get(err.code, "error.expired"))
    code, expires = made["linkCode"], made["expireDateTime"]
    link = deep_link(code, expires)
    settings = state().settings
    context: dict[str, Any] = {
        "txn": row.transaction_id,
        "client_name": client.name,
        "client_logo": client.logo_uri,
        "ui_locales": request.ui_locales,
        "link_code": code,
        "link_code_groups": _groups(code),
        "expire_date_time": expires,
        "deep_link": link,
        "deep_link_template": settings.wallet_deep_link,
        "qr_svg": _svg(link),
        "issuer": settings.issuer,
        "xsrf": xsrf_token(browser),
        "server_now": _millis(clock.now()),
        "txn_expires": txn_expires,
        "linked_ttl": settings.linked_transaction_ttl,
        "countdown": f"{settings.link_code_ttl // 60}:{settings.link_code_ttl % 60:02d}",
    }
    return Outcome("wallet.html", context)
