"""GovStack §8 "Wallet – QR Code" / eSignet ``/linked-authorization`` (``openapi/linked-authorization.yaml``).

The two long polls (link-status, link-auth-code) are ``async``: they are served by a Connexion
``AsyncApp`` loaded from the same OpenAPI document (see :mod:`app.long_polls`), wait on a wake-up
without holding a thread, and run each database look in a worker thread inside the Flask app context.
Every other operation is an ordinary thread-pool handler of the Flask app.
"""

import asyncio
import functools
import hmac
import re
from collections.abc import Callable
from typing import Any

import anyio
from flask import Flask
from flask import request as flask_request

from app.api.envelope import ok
from app.api.security import FLASK_APP_KEY
from app.errors import InvalidCsrfToken
from app.extensions import state
from app.services import envelope, throttle
from app.services.wallet import linked_authorization as linked
from app.ui.i18n import negotiate, translate

XSRF_HEADER = "X-XSRF-TOKEN"
XSRF_COOKIE = "XSRF-TOKEN"
#: The login pages' browser cookie (``app.ui.views.BROWSER_COOKIE``): link-code, link-status and link-auth-code answer
#: only the browser that started the transaction (issue 14 finding 4).
BROWSER_COOKIE = "idbb_browser"
#: A cookie value as RFC 6265 §4.1.1 allows it unquoted (cookie-octet), at most 256 characters.
_COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,256}")


def _xsrf_cookies(cookie_headers: list[str]) -> list[str | None]:
    """Every ``XSRF-TOKEN`` the raw ``Cookie`` headers name, None for a value that does not parse.

    Read from the raw header, not the framework's parsed cookies: werkzeug drops a value it cannot parse
    (``XSRF-TOKEN=invalid XSRF-TOKEN cookie``), which would turn a mismatching cookie into no cookie."""
    found: list[str | None] = []
    for header in cookie_headers:
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if name.strip() == XSRF_COOKIE:
                value = value.strip()
                found.append(value if sep and _COOKIE_VALUE.fullmatch(value) else None)
    return found


def _check_xsrf(header: str | None, cookie_headers: list[str]) -> None:
    """Browser-side calls carry X-XSRF-TOKEN; when the request names an XSRF-TOKEN cookie, every such
    cookie must parse and match it (double-submit cookie, as eSignet's oidc-ui does it); otherwise
    HTTP 403. A request with the header and no XSRF-TOKEN cookie at all passes (GovStack's harness)."""
    if (
        not header
        or len(header) > 256
        or any(
            value is None or not hmac.compare_digest(value.encode(), header.encode())
            for value in _xsrf_cookies(cookie_headers)
        )
    ):
        raise InvalidCsrfToken("X-XSRF-TOKEN is missing or does not match the XSRF-TOKEN cookie.")


def _source() -> str | None:
    """The caller's address for the throttles: the ASGI client address (behind a reverse proxy, the one
    uvicorn/gunicorn took from X-Forwarded-For of a peer in ``FORWARDED_ALLOW_IPS``; README)."""
    return flask_request.remote_addr


def link_code(body: Any) -> dict[str, Any]:
    _check_xsrf(flask_request.headers.get(XSRF_HEADER), flask_request.headers.getlist("Cookie"))
    request = envelope.unwrap(body)
    throttle.check(throttle.LINK_CODE, _source(), transaction_id=request.get("transactionId"))  # 429 (RFC 6585)
    return ok(linked.new_link_code(request.get("transactionId"), browser=flask_request.cookies.get(BROWSER_COOKIE)))


def link_transaction(body: Any) -> dict[str, Any]:
    throttle.check(throttle.LINK, _source())  # counted before the code is tried: 429 (RFC 6585 §4)
    return ok(linked.link_transaction(envelope.unwrap(body).get("linkCode")))


def link_transaction_v2(body: Any) -> dict[str, Any]:
    throttle.check(throttle.LINK, _source())
    return ok(linked.link_transaction(envelope.unwrap(body).get("linkCode"), v2=True))


def _authenticate(body: Any, v2: bool) -> dict[str, Any]:
    request = envelope.unwrap(body)
    throttle.check(throttle.ATTEMPT, _source(), linked_transaction_id=request.get("linkedTransactionId"))
    return ok(
        linked.authenticate(
            request.get("linkedTransactionId"),
            request.get("individualId"),
            request.get("challengeList"),
            v2=v2,
            source=_source(),
        )
    )


def authenticate(body: Any) -> dict[str, Any]:
    return _authenticate(body, False)


def authenticate_v2(body: Any) -> dict[str, Any]:
    return _authenticate(body, True)


def _consent(body: Any, v2: bool) -> dict[str, Any]:
    request = envelope.unwrap(body)
    return ok(
        linked.consent(
            request.get("linkedTransactionId"),
            request.get("acceptedClaims"),
            request.get("permittedAuthorizeScopes"),
            signature=request.get("signature"),
            v2=v2,
            declined=request.get("consentAction") == "DECLINE",
        )
    )


def consent(body: Any) -> dict[str, Any]:
    return _consent(body, False)


def consent_v2(body: Any) -> dict[str, Any]:
    return _consent(body, True)


def send_otp(body: Any) -> dict[str, Any]:
    request = envelope.unwrap(body)
    throttle.check(throttle.SEND, _source(), linked_transaction_id=request.get("transactionId"))
    accept_language = flask_request.headers.get("Accept-Language")

    def message(ui_locales: str | None) -> tuple[str, str]:  # the wallet's language, else the relying party's
        locale = negotiate(ui_locales, accept_language, state().settings.ui_locale_list())
        return translate(locale, "otp.mail_subject"), translate(locale, "otp.mail_body", code="{code}")

    return ok(
        linked.send_otp(
            request.get("transactionId"), request.get("individualId"), request.get("otpChannels"), message, source=_source()
        )
    )


# --------------------------------------------------------------------------------- the async long polls


async def _in_app(flask_app: Flask, fn: Callable[..., Any], *args: Any) -> Any:
    def call() -> Any:
        with flask_app.app_context():
            return fn(*args)

    return await anyio.to_thread.run_sync(call)


def _unwrapped_look(look: Callable[[Any, Any], Any], first: str, second: str) -> Callable[[Any], Any]:
    def run(body: Any) -> tuple[dict[str, Any], Any, float]:
        request = envelope.unwrap(body)
        return request, look(request.get(first), request.get(second)), state().settings.long_poll_timeout

    return run


async def _long_poll(
    body: Any,
    look: Callable[..., Any],
    first: str,
    second: str,
    pending: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    bound: bool = False,
) -> dict[str, Any]:
    from connexion import request as cx_request

    _check_xsrf(cx_request.headers.get(XSRF_HEADER), cx_request.headers.getlist("cookie"))
    if bound:  # the look answers only the browser that started the transaction
        look = functools.partial(look, browser=cx_request.cookies.get(BROWSER_COOKIE))
    flask_app: Flask = cx_request.scope[FLASK_APP_KEY]
    wakeups = flask_app.extensions["idbb"].wakeups
    key = str(
        (body.get("request") or {}).get(first) if isinstance(body, dict) and isinstance(body.get("request"), dict) else ""
    )[:64]
    loop = asyncio.get_running_loop()
    waiter = await wakeups.subscribe(key)  # before the first look: a change in between is not missed
    async with waiter:
        request, answer, timeout = await _in_app(flask_app, _unwrapped_look(look, first, second), body)
        deadline = loop.time() + timeout
        while answer is None:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await waiter.wait(remaining):
                return ok(pending(request))  # still waiting: no error, the browser polls again
            answer = await _in_app(flask_app, look, request.get(first), request.get(second))
    return ok(answer)


async def link_status(body: Any) -> dict[str, Any]:
    return await _long_poll(
        body,
        linked.link_status,
        "transactionId",
        "linkCode",
        lambda request: {"transactionId": request.get("transactionId")},
        bound=True,
    )


async def link_auth_code(body: Any) -> dict[str, Any]:
    return await _long_poll(body, linked.link_auth_code, "transactionId", "linkedCode", lambda request: {}, bound=True)
