"""Independent checks of a printed card: the PDF's text with pypdf, its page rendered with pypdfium2, the QR read by
zxing-cpp, and the CWT's signature verified by pycose against a JWKS (idbb signs with ``cryptography``)."""

import base64

import cbor2
import pypdfium2
import zxingcpp
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message
from pypdf import PdfReader


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pdf_text(pdf: bytes) -> str:
    import io

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def qr_texts(pdf: bytes, scale: float = 4.0) -> list[str]:
    """Every QR code on the first page, read from a rendering of it (not from the PDF's objects)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=scale).to_pil()
    finally:
        document.close()
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def verify_card_qr(text: str, jwks: dict) -> dict:
    """The CWT claims of ``IDC1:…`` after pycose verified its COSE_Sign1 with the JWKS key its ``kid`` names."""
    assert text.startswith("IDC1:")
    item = cbor2.loads(b64url(text[5:]))
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18
    protected, unprotected, payload, signature = item.value
    message = Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)
    kid = cbor2.loads(protected)[4].decode()
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    message.key = EC2Key(crv=P256, x=b64url(jwk["x"]), y=b64url(jwk["y"]))
    assert message.verify_signature(), "the card's QR signature does not verify"
    return dict(cbor2.loads(payload))
