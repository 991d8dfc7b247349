"""Credential offers (OpenID4VCI 1.0 §4): the offer object, by value or by reference, its URI and QR code.

The pre-authorized code in an offer is never stored: it is an HMAC of the issuance id and a per-issuance salt
under a KEK-derived key, so ``GET /credential-offer/{id}`` can rebuild the offer while the database holds only
the code's SHA-256 digest (a database read yields no usable code).
"""

import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import segno

from app.clock import clock
from app.errors import NotFound
from app.extensions import db, state
from app.models.issuance import Issuance
from app.services.issuance import records
from app.services.stored_secrets import digest, purpose_key
from app.services.transaction import atomic

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"  # 1.0 §4.1.1
AUTHORIZATION_CODE_GRANT = "authorization_code"  # 1.0 §4.1.1
SCHEMES = ("openid-credential-offer://", "haip://")  # 1.0 §4.1; HAIP's scheme on request
#: ISO/IEC 18004 §7.8: any of the eight data masks makes a valid symbol; choosing by penalty score (segno's default)
#: took about 80 % of an offer's CPU (11 ms against 2 ms a code). tests/unit/test_offer_qr.py decodes the codes
#: made with it (zxing-cpp) for offer URIs of every length idbb makes.
QR_MASK = 2


def _qr(text: str) -> segno.QRCode:
    return segno.make(text, error="m", mask=QR_MASK)


def pre_authorized_code(issuance_id: str, salt: str) -> str:
    mac = hmac.new(purpose_key("pre-authorized code"), f"{issuance_id}:{salt}".encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def offer_secret(issuance_id: str, salt: str, grant_type: str) -> str:
    """The offer's one secret: the pre-authorized code, or the ``issuer_state`` of the authorization code grant.
    Both are HMACs under distinct purpose keys; the database holds the digest in ``code_hash``."""
    if grant_type == AUTHORIZATION_CODE_GRANT:
        from app.services.issuance.authorization import issuer_state

        return issuer_state(issuance_id, salt)
    return pre_authorized_code(issuance_id, salt)


def code_hash_for(grant_type: str) -> Callable[[str, str], str]:
    """What ``records.new_issuance`` stores for an offer of ``grant_type``: the digest of its one secret."""
    return lambda issuance_id, salt: digest(offer_secret(issuance_id, salt, grant_type))


def offer_object(row: Issuance) -> dict[str, Any]:
    """The Credential Offer (§4.1.1): issuer, configuration ids and the grant. ``authorization_server`` is left
    out: §4.1.1 says it MUST NOT be used unless the metadata lists several authorization servers (idbb lists one)."""
    offer: dict[str, Any] = {
        "credential_issuer": state().settings.issuer,
        "credential_configuration_ids": list(row.configuration_ids),
    }
    if row.grant_type == AUTHORIZATION_CODE_GRANT:
        # §4.1.1: the wallet MUST pass issuer_state to the authorization request (§5.1.3)
        offer["grants"] = {
            AUTHORIZATION_CODE_GRANT: {"issuer_state": offer_secret(row.issuance_id, row.code_salt, row.grant_type)}
        }
        return offer
    grant: dict[str, Any] = {"pre-authorized_code": pre_authorized_code(row.issuance_id, row.code_salt)}
    if row.tx_code_hash is not None:  # §4.1.1: tx_code describes what the wallet asks the End-User for
        grant["tx_code"] = {
            "input_mode": row.tx_code_input_mode,
            "length": row.tx_code_length,
            "description": "Enter the code sent to you by the issuing authority.",
        }
    offer["grants"] = {PRE_AUTHORIZED_GRANT: grant}
    return offer


def reference_uri(issuance_id: str) -> str:
    return f"{state().settings.issuer}/credential-offer/{issuance_id}"


def offer_uri(row: Issuance, *, by_value: bool = False) -> str:
    """§4.1.2 / §4.1.3: ``credential_offer`` (by value) or ``credential_offer_uri`` (by reference)."""
    if by_value:
        query = urlencode({"credential_offer": json.dumps(offer_object(row), separators=(",", ":"))}, quote_via=quote)
    else:
        query = urlencode({"credential_offer_uri": reference_uri(row.issuance_id)}, quote_via=quote)
    return f"{row.offer_scheme}?{query}"


def qr_data_uri(text: str, *, kind: str = "svg", scale: int = 4) -> str:
    """A QR code of ``text`` as a data URI (PNG or SVG), made with segno like the wallet login page."""
    qr = _qr(text)
    if kind == "png":
        return str(qr.png_data_uri(scale=scale, border=4))
    out = io.BytesIO()
    qr.save(out, kind="svg", xmldecl=False, svgns=True, border=4, scale=scale, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text`` for the offer page (the wallet login page's style)."""
    out = io.BytesIO()
    _qr(text).save(
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


def fetch(issuance_id: str) -> dict[str, Any]:
    """``GET /credential-offer/{id}`` (§4.1.3): the offer while it can still be redeemed; 404 otherwise."""
    with atomic():
        row = db.session.get(Issuance, issuance_id) if len(issuance_id) <= 36 else None
        if (
            row is None
            or row.code_used_at is not None
            or clock.now() >= row.expires_at
            or row.state in ("issuance_denied", "offer_expired")
        ):
            raise NotFound("No credential offer has this id, or it can no longer be redeemed.")
        records.move(row, "offer_received", once=True, via="offer_fetched")
        return offer_object(row)
