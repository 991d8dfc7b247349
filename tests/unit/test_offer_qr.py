"""The offers' QR codes with their fixed data mask (``offers.QR_MASK``, ISO/IEC 18004 §7.8: any mask makes a valid
symbol) decode, with zxing-cpp (not segno, which made them), to exactly the offer URI, for the URIs idbb makes:
by reference (issuers of many lengths, both schemes, the wallet chooser's web-wallet links) and by value (one, four or
eight configurations, with and without tx_code), from about 100 to about 1,200 characters."""

import base64
import io
import json
import secrets
import uuid
from urllib.parse import quote, urlencode

import pytest
import segno
import zxingcpp
from PIL import Image

from app.services.issuance import offers


def _by_reference(issuer: str, prefix: str = "openid-credential-offer://") -> str:
    reference = f"{issuer}/credential-offer/{uuid.uuid4()}"
    return f"{prefix}?{urlencode({'credential_offer_uri': reference}, quote_via=quote)}"


def _by_value(issuer: str, configurations: int, tx_code: bool) -> str:
    grant: dict[str, object] = {"pre-authorized_code": secrets.token_urlsafe(32)}
    if tx_code:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": 6,
            "description": "Enter the code sent to you by the issuing authority.",
        }
    offer = {
        "credential_issuer": issuer,
        "credential_configuration_ids": [f"configuration_{n}_{secrets.token_hex(4)}" for n in range(configurations)],
        "grants": {offers.PRE_AUTHORIZED_GRANT: grant},
    }
    return "openid-credential-offer://?" + urlencode(
        {"credential_offer": json.dumps(offer, separators=(",", ":"))}, quote_via=quote
    )


def offer_uris() -> list[str]:
    issuers = ["http://127.0.0.1:8080", "https://id.gov.example"] + [
        "https://" + "issuer-" * n + "x.example/tenant/" + "a" * n for n in range(1, 30, 3)
    ]
    uris = [_by_reference(i) for i in issuers]
    uris += [_by_reference(i, "haip://") for i in issuers[:3]]
    uris += [_by_reference(i, "https://wallet.example/cb") for i in issuers[:5]]
    uris += [_by_value(i, n, tx) for i in issuers for n in (1, 4, 8) for tx in (False, True)]
    return uris


URIS = offer_uris()


def _decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_the_range_is_wide() -> None:
    lengths = sorted(len(u) for u in URIS)
    assert lengths[0] < 120 and lengths[-1] > 1000 and len(URIS) > 40


def test_the_mask_is_the_fixed_one() -> None:
    assert segno.make(URIS[0], error="m", mask=offers.QR_MASK).mask == offers.QR_MASK


@pytest.mark.parametrize("uri", URIS, ids=[f"{len(u)}-chars-{n}" for n, u in enumerate(URIS)])
def test_png_qr_codes_decode_to_the_offer(uri: str) -> None:
    data_uri = offers.qr_data_uri(uri, kind="png", scale=4)
    assert data_uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    assert _decoded(image) == [uri]
