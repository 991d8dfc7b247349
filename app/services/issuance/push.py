"""Pushing a credential offer to a wallet's Credential Offer Endpoint: issuer-initiated issuance to an
organisation wallet (OpenID4VCI 1.0 §4.1; the endpoint is the wallet's ``credential_offer_endpoint``, §12.1).

§4.1 defines the endpoint as one the wallet is invoked at with a single query parameter, ``credential_offer_uri``
or ``credential_offer`` (its example is ``GET /credential_offer?credential_offer=...``), so idbb sends
``GET <walletEndpoint>?credential_offer_uri=...`` (or ``credential_offer=`` for an offer by value), the same query
as the offer URI it returns. Only origins in ``IDBB_WALLET_PUSH_ORIGINS`` are reached (empty: pushing is off), with
``IDBB_WALLET_PUSH_TIMEOUT``, never following a redirect, without proxies from the environment and without
reading the answer's body; the call happens after the issuance's transaction has committed (the wallet may fetch
the offer at once) and its outcome is a history entry (``offer_pushed`` / ``offer_push_failed``) that leaves the
issuance's current state alone. The audit event names the origin, never the full endpoint URL.
"""

from typing import Any
from urllib.parse import urlsplit

import httpx

from app.extensions import state
from app.services.issuance import records
from app.services.issuance.errors import (
    InvalidWalletEndpoint,
    UnsupportedWalletPush,
    WalletEndpointNotAllowed,
)
from app.services.transaction import atomic

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}")


def check_endpoint(url: str) -> str:
    """The wallet endpoint if idbb may push to it (its origin is allow-listed), else the 400 that says why."""
    allowed = {_origin(o) for o in state().settings.wallet_push_origin_list()}
    if not allowed:
        raise UnsupportedWalletPush(
            "Pushing offers to a wallet endpoint is off on this issuer (IDBB_WALLET_PUSH_ORIGINS is empty)."
        )
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidWalletEndpoint("walletEndpoint must be an absolute URL without credentials or fragment.")
    origin = _origin(url)
    if origin is None:
        raise InvalidWalletEndpoint("walletEndpoint must be an absolute http(s) URL.")
    if origin not in allowed:
        raise WalletEndpointNotAllowed(
            "The walletEndpoint's origin is not one this issuer pushes offers to (IDBB_WALLET_PUSH_ORIGINS)."
        )
    return url


def target(endpoint: str, offer_uri: str) -> str:
    """§4.1: the wallet endpoint with the offer's single query parameter added."""
    query = urlsplit(offer_uri).query
    return f"{endpoint}{'&' if urlsplit(endpoint).query else '?'}{query}"


def send(url: str) -> dict[str, Any]:
    """One GET, bounded in time, no redirect followed, body unread; what happened, for the backend."""
    timeout = state().settings.wallet_push_timeout
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as http:
            with http.stream("GET", url, headers={"Accept": "*/*"}) as response:
                status = response.status_code
    except httpx.TimeoutException:
        return {"delivered": False, "error": "timeout"}
    except httpx.HTTPError:
        return {"delivered": False, "error": "unreachable"}
    return {"delivered": 200 <= status < 300, "status": status}  # a redirect (3xx) is not a delivery


def deliver(issuance_id: str, endpoint: str, offer_uri: str, *, actor: str) -> dict[str, Any]:
    """Push the offer (outside any transaction), then record the outcome in the issuance's history."""
    outcome = send(target(endpoint, offer_uri))
    with atomic():
        row = records.locked(issuance_id)
        entry = "offer_pushed" if outcome["delivered"] else "offer_push_failed"
        records.note(row, entry, status=outcome.get("status"), error=outcome.get("error"))
        records.event(
            row,
            entry,
            actor=actor,
            outcome="success" if outcome["delivered"] else "failure",
            origin=_origin(endpoint),
            status=outcome.get("status"),
            error=outcome.get("error"),
        )
    return outcome
