"""The "sign in with your wallet" page (GovStack §8 "Wallet – QR Code"), over HTTP.

``GET /authorize/wallet`` for a pending transaction of this browser shows a fresh link code as an inline SVG
QR code of the wallet deep link, as text and as a same-device link, and sets the XSRF-TOKEN cookie whose
value the page's script sends as X-XSRF-TOKEN. The QR codes are decoded with zxing-cpp (not idbb's code)
from the SVG idbb serves, drawn module by module.
"""

import re
import struct
import zlib
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest

from app.clock import clock
from tests.conftest import ISSUER, request_time
from tests.flows.oidc_helpers import forms, register_rp

WALLET_ACRS = ["idbb:acr:static-code", "idbb:acr:linked-wallet"]
CODE = re.compile(r"[A-HJKMNP-Z2-9]{15}")
DEEP_LINK = re.compile(r"idbb-wallet://wla-auth\?linkCode=([A-Z2-9]{15})&linkExpireDateTime=(.+)")


# --- decoding QR codes (zxing-cpp) ------------------------------------------------------------------


def _zxing() -> Any:
    return pytest.importorskip("zxingcpp", reason="pip install zxing-cpp (test extra) to decode QR codes")


def decode_gray(width: int, height: int, pixels: bytes) -> list[str]:
    """The texts of the QR codes in an 8-bit grayscale image."""
    zxing = _zxing()
    image = memoryview(pixels).cast("B", (height, width))
    return [found.text for found in zxing.read_barcodes(image, formats=zxing.BarcodeFormat.QRCode)]


def decode_svg(svg: str, scale: int = 6) -> list[str]:
    """Draw a segno SVG (a viewBox, then a path of ``M``/``m`` moves and ``h`` runs stroked 1 unit wide) into a
    grayscale image and decode it."""
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert box, svg[:200]
    width, height = int(box.group(1)), int(box.group(2))
    path = re.search(r'<path[^>]*stroke="#000"[^>]*\sd="([^"]+)"', svg)
    assert path, svg[:300]
    pixels = bytearray(b"\xff" * (width * scale * height * scale))
    x = y = 0.0
    for command, numbers in re.findall(r"([MmHhVvZz])([^MmHhVvZz]*)", path.group(1)):
        values = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", numbers)]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        elif command == "h":
            row = int(y)  # a 1-unit stroke centred on y + 0.5 covers module row int(y)
            for dy in range(scale):
                start = ((row * scale + dy) * width + int(x)) * scale
                run = int(values[0]) * scale
                pixels[start : start + run] = bytes(run)
            x += values[0]
        else:
            raise AssertionError(f"unexpected path command {command} in the QR code")
    return decode_gray(width * scale, height * scale, bytes(pixels))


def decode_png(png: bytes) -> list[str]:
    """Decode the QR codes of a PNG (8-bit gray, RGB or RGBA, not interlaced: what Chromium writes)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    position, idat, header = 8, b"", None
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        chunk = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}[color]
    assert depth == 8 and interlace == 0, header
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for r in range(height):
        kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1 : (r + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(line)
        previous = line
    gray = bytearray()
    for line in rows:
        if channels == 1:
            gray += line
        else:
            gray += bytes(sum(line[i : i + 3]) // 3 for i in range(0, stride, channels))
    return decode_gray(width, height, bytes(gray))


# --- reading the page -------------------------------------------------------------------------------


class WalletPage(HTMLParser):
    """Elements by id, the inline <svg>, the code groups and the script tags of a wallet page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.svg_parents: list[str | None] = []
        self.groups: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self._stack: list[str | None] = []
        self.feed(html)
        match = re.search(r'<div id="wallet-qr"[^>]*>\s*(<svg.*?</svg>)\s*</div>', html, re.S)
        self.svg = match.group(1) if match else ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.by_id[str(a["id"])] = a
        if tag == "svg":
            self.svg_parents.append(self._stack[-1] if self._stack else None)
        if tag == "script":
            self.scripts.append(a)
        if tag not in ("path", "img", "input", "meta", "link", "br"):
            self._stack.append(a.get("id") or (self._stack[-1] if self._stack else None))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("path", "img", "input", "meta", "link", "br") and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1] == "wallet-code" and data.strip():
            self.groups.append(data.strip())


def start(rp: Any, client: Any, **authorize: str) -> str:
    """/authorize in ``client``'s browser; the login page's wallet entry (its txn)."""
    page = rp.authorize(**authorize)
    assert page.status_code == 200, page.text[:300]
    link = re.search(r'id="wallet-login"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="wallet-login"', page.text)
    assert link, page.text[:1000]
    href = (link.group(1) or link.group(2)).replace("&amp;", "&")
    assert href.startswith("/authorize/wallet?txn=")
    return unquote(href.split("txn=", 1)[1])


def cookie_attributes(response: Any, name: str) -> tuple[str, set[str]]:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    value, *attrs = [part.strip() for part in headers[0].split(";")]
    return value.split("=", 1)[1], {a.lower() for a in attrs}


def envelope(client: Any, path: str, request: dict[str, Any], xsrf: str | None) -> Any:
    headers = {"X-XSRF-TOKEN": xsrf} if xsrf is not None else {}
    return client.post(path, json={"requestTime": request_time(), "request": request}, headers=headers)


@pytest.fixture
def wallet_rp(client: Any, admin_token: str) -> Any:
    return register_rp(client, admin_token, acrs=WALLET_ACRS)


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_shows_the_qr_code_the_code_and_the_same_device_link(client: Any, wallet_rp: Any) -> None:
    txn = start(wallet_rp, client)
    response = client.get("/authorize/wallet", params={"txn": txn})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "'unsafe-inline'" not in csp
    page = WalletPage(response.text)

    root = page.by_id["wallet"]
    code = root["data-link-code"] or ""
    assert CODE.fullmatch(code), code
    assert root["data-txn"] == txn and root["data-issuer"] == ISSUER
    expires = root["data-expires"] or ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expires)
    assert int(root["data-txn-expires"] or 0) > int(root["data-server-now"] or 0) > 0

    # The code as text, grouped 5-5-5 for reading and typing.
    assert page.groups == [code[:5], code[5:10], code[10:]]
    assert page.by_id["wallet-code"]["dir"] == "ltr"

    # The QR code: inline SVG, and it really carries the deep link with this code and its expiry.
    assert page.svg_parents == ["wallet-qr"] and page.svg.startswith("<svg")
    deep_link = f"idbb-wallet://wla-auth?linkCode={code}&linkExpireDateTime={quote(expires, safe='')}"
    assert decode_svg(page.svg) == [deep_link]
    assert page.by_id["wallet-qr"]["role"] == "img" and page.by_id["wallet-qr"]["aria-label"]

    assert page.by_id["wallet-same-device"]["href"] == deep_link
    assert page.by_id["wallet-back"]["href"] == f"/authorize/resume?txn={quote(txn, safe='')}"
    assert page.by_id["wallet-remaining"] is not None
    assert "hidden" in page.by_id["wallet-linked"] and "hidden" in page.by_id["wallet-error"]
    assert [s.get("src") for s in page.scripts] == ["/ui/static/wallet.js"]  # no inline script
    script = client.get("/ui/static/wallet.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]

    # The XSRF cookie: random, Secure, HttpOnly, SameSite=Strict, only for /linked-authorization.
    value, attrs = cookie_attributes(response, "XSRF-TOKEN")
    assert value == root["data-xsrf"] and len(value) >= 32
    assert {"secure", "httponly", "samesite=strict", "path=/linked-authorization"} <= attrs

    # The double submit works for the page's script (the cookie goes back with the header) ...
    status = envelope(client, "/linked-authorization/link-code", {"transactionId": txn}, value)
    assert status.status_code == 200 and not status.json()["errors"], status.text
    # ... and a header that is not the cookie's value is refused.
    forged = envelope(client, "/linked-authorization/link-code", {"transactionId": txn}, "x" * 64)
    assert forged.status_code == 403


def test_each_visit_shows_a_new_code_and_the_same_xsrf_token_for_this_browser(client: Any, wallet_rp: Any) -> None:
    txn = start(wallet_rp, client)
    first = client.get("/authorize/wallet", params={"txn": txn})
    second = client.get("/authorize/wallet", params={"txn": txn})
    one, two = WalletPage(first.text).by_id["wallet"], WalletPage(second.text).by_id["wallet"]
    assert one["data-link-code"] != two["data-link-code"]
    assert one["data-xsrf"] == two["data-xsrf"]  # two tabs of one browser keep working side by side


def test_the_wallet_links_the_code_shown_and_the_browser_sees_it(client: Any, wallet_rp: Any) -> None:
    txn = start(wallet_rp, client)
    page = client.get("/authorize/wallet", params={"txn": txn})
    root = WalletPage(page.text).by_id["wallet"]
    code, xsrf = root["data-link-code"], root["data-xsrf"]
    linked = envelope(client, "/linked-authorization/v2/link-transaction", {"linkCode": code}, None)
    assert not linked.json()["errors"], linked.text
    status = envelope(client, "/linked-authorization/link-status", {"transactionId": txn, "linkCode": code}, xsrf)
    assert status.json()["response"]["linkStatus"] == "LINKED", status.text
    again = client.get("/authorize/wallet", params={"txn": txn})  # linked: no longer pending
    assert again.status_code == 400 and 'id="error"' in again.text


def test_another_browser_an_unknown_or_expired_transaction_get_the_error_page(app: Any, client: Any, wallet_rp: Any) -> None:
    txn = start(wallet_rp, client)
    other = app.test_client(base_url=ISSUER)
    for who, params in (
        (other, {"txn": txn}),
        (client, {"txn": "no-such-transaction"}),
        (client, {}),
        (client, {"txn": "x" * 200}),
    ):
        response = who.get("/authorize/wallet", params=params)
        assert response.status_code == 400, params
        assert 'id="error"' in response.text and "wallet-qr" not in response.text
        assert "<svg" not in response.text
        assert not any(h.startswith("XSRF-TOKEN=") for h in response.headers.get_list("set-cookie"))
    assert "Your session has expired" in other.get("/authorize/wallet", params={"txn": txn}).text

    clock.advance(app.app.extensions["idbb"].settings.authorize_ttl + 1)
    expired = client.get("/authorize/wallet", params={"txn": txn})
    assert expired.status_code == 400 and "wallet-qr" not in expired.text


def test_a_request_without_a_wallet_acr_gets_no_wallet_page(client: Any, admin_token: str) -> None:
    rp = register_rp(client, admin_token, acrs=["idbb:acr:static-code"])
    page = rp.authorize()
    txn = forms(page.text)["pin-form"]["fields"]["txn"]
    assert "wallet-login" not in page.text
    response = client.get("/authorize/wallet", params={"txn": txn})
    assert response.status_code == 400 and "wallet-qr" not in response.text


def test_too_many_codes_gets_an_explained_error_page(
    app: Any, client: Any, wallet_rp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.app.extensions["idbb"]
    monkeypatch.setattr(state, "settings", state.settings.with_(link_codes_total_max=2))
    txn = start(wallet_rp, client)
    assert client.get("/authorize/wallet", params={"txn": txn}).status_code == 200
    assert client.get("/authorize/wallet", params={"txn": txn}).status_code == 200
    third = client.get("/authorize/wallet", params={"txn": txn})
    assert third.status_code == 400
    assert "Too many codes were requested" in third.text


def test_the_deep_link_follows_the_configured_template(
    app: Any, client: Any, wallet_rp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.app.extensions["idbb"]
    template = "https://wallet.example/open?c={linkCode}&until={expireDateTime}&v=1"
    monkeypatch.setattr(state, "settings", state.settings.with_(wallet_deep_link=template))
    txn = start(wallet_rp, client)
    page = WalletPage(client.get("/authorize/wallet", params={"txn": txn}).text)
    root = page.by_id["wallet"]
    expected = (
        f"https://wallet.example/open?c={root['data-link-code']}&until={quote(root['data-expires'] or '', safe='')}&v=1"
    )
    assert page.by_id["wallet-same-device"]["href"] == expected
    assert decode_svg(page.svg) == [expected]
    assert root["data-deep-link-template"] == template


@pytest.mark.parametrize(
    ("ui_locales", "lang", "direction", "text"),
    [
        ("ar", "ar", "rtl", "امسح رمز الاستجابة السريعة"),
        ("fr", "fr", "ltr", "scannez ce code QR"),
        ("en", "en", "ltr", "scan this QR code"),
    ],
)
def test_the_page_speaks_the_request_language(
    client: Any, wallet_rp: Any, ui_locales: str, lang: str, direction: str, text: str
) -> None:
    txn = start(wallet_rp, client, ui_locales=ui_locales)
    html = client.get("/authorize/wallet", params={"txn": txn}).text
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert text in html


# --- /authorize/wallet/qr.svg -----------------------------------------------------------------------


def test_qr_svg_draws_the_deep_link_of_a_code(client: Any) -> None:
    code, expires = "ABCDEFGHJKMNPQR", "2030-01-02T03:04:05.678Z"
    response = client.get("/authorize/wallet/qr.svg?" + urlencode({"code": code, "exp": expires}))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    svg = response.text
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg and "<script" not in svg
    decoded = decode_svg(svg)
    assert decoded == [f"idbb-wallet://wla-auth?linkCode={code}&linkExpireDateTime=2030-01-02T03%3A04%3A05.678Z"]
    match = DEEP_LINK.fullmatch(decoded[0])
    assert match and match.group(1) == code and unquote(match.group(2)) == expires


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"exp": "2030-01-02T03:04:05.678Z"},
        {"code": "ABCDEFGHJKMNPQR"},
        {"code": "abcdefghjkmnpqr", "exp": "2030-01-02T03:04:05.678Z"},  # lower case
        {"code": "ABCDEFGHJKMNPQ", "exp": "2030-01-02T03:04:05.678Z"},  # 14 characters
        {"code": "ABCDEFGHJKMNPQRS", "exp": "2030-01-02T03:04:05.678Z"},  # 16 characters
        {"code": "ABCDEFGHJKMNPQ0", "exp": "2030-01-02T03:04:05.678Z"},  # 0 is not in the alphabet
        {"code": "ABCDEFGHJKMNPQ<", "exp": "2030-01-02T03:04:05.678Z"},
        {"code": "ABCDEFGHJKMNPQR", "exp": "tomorrow"},
        {"code": "ABCDEFGHJKMNPQR", "exp": "2030-01-02T03:04:05.678+01:00"},  # not UTC
        {"code": "ABCDEFGHJKMNPQR", "exp": "2030-13-02T03:04:05.678Z"},  # no month 13
        {"code": "ABCDEFGHJKMNPQR", "exp": "2030-01-02T03:04:05.678Z\n"},
    ],
)
def test_qr_svg_refuses_malformed_input(client: Any, params: dict[str, str]) -> None:
    response = client.get("/authorize/wallet/qr.svg?" + urlencode(params))
    assert response.status_code == 400
    assert not response.headers["content-type"].startswith("image/")
    assert "<svg" not in response.text
