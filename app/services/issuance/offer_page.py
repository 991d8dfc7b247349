"""The HTML offer page (``GET /offers/{id}``): what a citizen opens from an e-mail to collect a credential.

It shows the QR code of the offer (by reference), the same-device link and, when the offer has a tx_code, how to
enter it (never the code). The page is as much a bearer capability as the offer URI itself (the issuance id is a
random UUID); opening it does not move the issuance's state: fetching the offer or redeeming its code does.
"""

from app.clock import clock
from app.extensions import db
from app.models.issuance import Issuance
from app.services.issuance import offers
from app.services.page_outcome import Outcome


def open_page(issuance_id: str) -> Outcome:
    row = db.session.get(Issuance, issuance_id) if issuance_id and len(issuance_id) <= 36 else None
    if (
        row is None
        or row.code_used_at is not None
        or clock.now() >= row.expires_at
        or row.state in ("issuance_denied", "offer_expired")
    ):
        return Outcome("error.html", {"error_key": "error.offer_gone"}, status=404)
    uri = offers.offer_uri(row)
    return Outcome(
        "offer.html",
        {
            "qr_svg": offers.qr_svg(uri),
            "offer_uri": uri,
            "tx_code_length": row.tx_code_length,
            "expires": row.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
