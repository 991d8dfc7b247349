"""GovStack/eSignet wallet binding (``openapi/wallet-binding.yaml``).

The PARTNER-ID and PARTNER-API-KEY headers are read here and checked by the service, so a missing
one answers the envelope's ``invalid_request`` rather than a generic validation problem.
``token_info`` is absent when the GovStack sandbox serves these operations without bearer tokens.
"""

from typing import Any

from flask import request

from app.api.envelope import ok
from app.services import envelope, throttle
from app.services.wallet import wallet_binding as binding


def _client(token_info: dict[str, Any] | None) -> str | None:
    return None if token_info is None else str(token_info.get("client_id") or "")


def _source() -> str | None:
    """The caller's address for the throttles and the per-source lockout (as ``app.api.linked_authorization``)."""
    return request.remote_addr


def _bind(body: Any, token_info: dict[str, Any] | None) -> dict[str, Any]:
    # the PIN/OTP checked here is the login page's factor check: counted like every attempt (issue 14, #3)
    throttle.check(throttle.ATTEMPT, _source(), client_id=_client(token_info))  # 429 (RFC 6585 §4)
    return ok(
        binding.bind(
            envelope.unwrap(body),
            partner_id=request.headers.get("PARTNER-ID"),
            partner_api_key=request.headers.get("PARTNER-API-KEY"),
            client_id=_client(token_info),
            source=_source(),
        )
    )


def wallet_binding(body: Any, token_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """GovStack ``POST /wallet-binding``."""
    return _bind(body, token_info)


def esignet_wallet_binding(body: Any, token_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """eSignet ``POST /binding/wallet-binding`` (same operation)."""
    return _bind(body, token_info)


def binding_otp(body: Any, token_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """eSignet ``POST /binding/binding-otp``."""
    throttle.check(throttle.SEND, _source(), client_id=_client(token_info))
    return ok(binding.binding_otp(envelope.unwrap(body), client_id=_client(token_info), source=_source()))
