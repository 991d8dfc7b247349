"""The offers' SVG QR codes (the inline SVG of the offer pages and the ``qrCode`` data URI of ``POST /v1/issuance``
and ``GET /offers/{scope}/{wallet_id}``), made with the fixed data mask, rendered by headless Chromium and read
back with zxing-cpp: exactly the offer URI, over the range of ``tests/unit/test_offer_qr.py``."""

import io
from typing import Any

import pytest
import zxingcpp
from markupsafe import escape
from PIL import Image

from app.services.issuance import offers
from tests.unit.test_offer_qr import URIS

pytestmark = pytest.mark.browser
#: every fourth URI of the unit test's range, its shortest and its longest
SAMPLE = sorted({*URIS[::4], min(URIS, key=len), max(URIS, key=len)}, key=len)


def _read(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png))
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_svg_qr_codes_render_and_decode_in_chromium(chromium: Any) -> None:
    page = chromium.new_page(viewport={"width": 900, "height": 900})
    try:
        for uri in SAMPLE:
            inline = offers.qr_svg(uri)
            data_uri = offers.qr_data_uri(uri, kind="svg", scale=4)
            page.set_content(
                "<!doctype html><body style='margin:0;background:#fff'>"
                f"<div id='inline' style='width:600px;height:600px'>{inline}</div>"
                f"<img id='data' src='{escape(data_uri)}'></body>"
            )
            page.add_style_tag(content=".qr-code{width:600px;height:600px;display:block}")
            assert _read(page.locator("#inline").screenshot()) == [uri], len(uri)
            assert _read(page.locator("#data").screenshot()) == [uri], len(uri)
    finally:
        page.close()
