"""OpenID4VCI 1.0 endpoints (``openapi/oid4vci.yaml``): metadata, offers, nonce, credential, deferred, notification."""

from typing import Any

from flask import Response, request

from app.services.issuance import metadata, nonces, offers, wallet

NO_STORE = {"Cache-Control": "no-store"}


def credential_issuer_metadata() -> tuple[dict[str, Any], int, dict[str, str]]:
    return metadata.credential_issuer(), 200, {"Cache-Control": "public, max-age=300"}


def jwt_vc_issuer_metadata() -> tuple[dict[str, Any], int, dict[str, str]]:
    return metadata.jwt_vc_issuer(), 200, {"Cache-Control": "public, max-age=300"}


def mdoc_iacas() -> tuple[dict[str, Any], int, dict[str, str]]:
    return metadata.iacas(), 200, {"Cache-Control": "public, max-age=3600"}


def credential_offer(offerId: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    return offers.fetch(offerId), 200, NO_STORE  # §4.1.3: the offer holds a pre-authorized code


def nonce() -> tuple[dict[str, Any], int, dict[str, str]]:
    return {"c_nonce": nonces.issue()}, 200, NO_STORE  # §7.2: Cache-Control no-store


def _answer(result: wallet.Answer) -> Any:
    if result.jwe is not None:  # OpenID4VCI 1.0 §10: an encrypted response is application/jwt
        return Response(result.jwe, status=result.status, headers=result.headers, content_type="application/jwt")
    if result.body is None:  # 204 (§11.2): no body; the media type keeps Connexion's response check content
        return Response(status=result.status, headers=result.headers, content_type="application/json")
    return result.body, result.status, {**result.headers, "Content-Type": "application/json"}


def _encrypted_body() -> str | None:
    """The compact JWE of an encrypted request (§10: media type application/jwt), else None."""
    if request.mimetype != "application/jwt":
        return None
    return request.get_data(as_text=True)


def credential(body: Any = None) -> Any:
    return _answer(wallet.credential(body, dict(request.headers), encrypted_request=_encrypted_body()))


def deferred_credential(body: Any = None) -> Any:
    return _answer(wallet.deferred(body, dict(request.headers), encrypted_request=_encrypted_body()))


def notification(body: Any = None) -> Any:
    return _answer(wallet.notification(body, dict(request.headers)))
