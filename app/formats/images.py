"""Content sniffing of biometric images and supporting documents, checked against what the client declared.

OSIA annex "Data Format": biometric images are "JPEG, JPEG2000, PNG, WSQ, ISO19794"; documents are JPEG (single
page), PNG or PDF (multi-page). ``BiometricData`` declares ``mimeType`` (RFC 6838) and ``compression`` (``NONE, WSQ,
JPEG, JPEG2000, PNG``); ``DocumentPart`` declares ``mimeType`` (osia-notes.md §4.4). The buffer API takes the raw bytes
with their media type (§4.3). A declaration is never trusted: the bytes are sniffed from their magic numbers and must
agree with it, so a script or an HTML page cannot be stored and later served as a "photo".
"""

from collections.abc import Mapping
from types import MappingProxyType

from app.formats.errors import FormatError

PNG = "PNG"
JPEG = "JPEG"
JPEG2000 = "JPEG2000"
WSQ = "WSQ"
ISO19794_2 = "ISO19794-2"  # finger minutiae record
ISO19794_4 = "ISO19794-4"  # finger image record
ISO19794_5 = "ISO19794-5"  # face image record
ISO19794_6 = "ISO19794-6"  # iris image record
PDF = "PDF"

ISO19794_FORMATS = frozenset({ISO19794_2, ISO19794_4, ISO19794_5, ISO19794_6})
ALL_FORMATS = frozenset({PNG, JPEG, JPEG2000, WSQ, PDF}) | ISO19794_FORMATS

#: Declared media type (lower case, parameters removed) -> the format its content must have.
MIME_FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "image/png": PNG,
        "image/jpeg": JPEG,
        "image/jpg": JPEG,  # not registered, but sent by many capture devices
        "image/jp2": JPEG2000,  # RFC 3745
        "image/jpx": JPEG2000,
        "image/j2k": JPEG2000,
        "image/jpeg2000": JPEG2000,
        "image/x-wsq": WSQ,
        "image/wsq": WSQ,
        "application/pdf": PDF,  # RFC 8118
    }
)
#: The media type that says nothing about the content: any recognised format matches it.
OCTET_STREAM = "application/octet-stream"

#: OSIA ``BiometricData.compression`` -> the formats its content may have. ``NONE`` is an uncompressed
#: ISO/IEC 19794 record.
COMPRESSION_FORMATS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "PNG": frozenset({PNG}),
        "JPEG": frozenset({JPEG}),
        "JPEG2000": frozenset({JPEG2000}),
        "WSQ": frozenset({WSQ}),
        "NONE": ISO19794_FORMATS,
    }
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG (ISO/IEC 15948) §5.2
_JPEG_SOI = b"\xff\xd8\xff"  # ITU-T T.81: SOI marker, then the next marker
_JP2_SIGNATURE_BOX = b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # ITU-T T.800 Annex I.5.1: JPEG 2000 signature box
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"  # ITU-T T.800 Annex A: SOC then SIZ marker
_WSQ_SOI = b"\xff\xa0"  # FBI WSQ spec (IAFIS-IC-0110) §3: start of image
# WSQ markers that may follow SOI: SOF (A2), DTT (A4), DQT (A5), DHT (A6), DRT (A7), COM (A8).
_WSQ_AFTER_SOI = frozenset({0xA2, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8})
# ISO/IEC 19794-x:2005/2011 general header: a 3-letter format identifier then a NUL byte.
_ISO19794_MAGIC = (
    (b"FMR\x00", ISO19794_2),
    (b"FIR\x00", ISO19794_4),
    (b"FAC\x00", ISO19794_5),
    (b"IIR\x00", ISO19794_6),
)
_PDF_HEADER = b"%PDF-"  # ISO 32000-1 §7.5.2: the file header line


def sniff(data: bytes) -> str | None:
    """The format named by the magic number at the start of ``data``, or None when none is recognised."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return None
    head = bytes(data[:16])
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head.startswith(_JPEG_SOI):
        return JPEG
    if head.startswith(_JP2_SIGNATURE_BOX) or head.startswith(_J2K_CODESTREAM):
        return JPEG2000
    if head.startswith(_WSQ_SOI) and len(head) >= 4 and head[2] == 0xFF and head[3] in _WSQ_AFTER_SOI:
        return WSQ
    for magic, name in _ISO19794_MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(_PDF_HEADER):
        return PDF
    return None


def _media_type(mime_type: str) -> str:
    """``"Image/JPEG; q=0.9"`` -> ``"image/jpeg"`` (RFC 9110 §8.3.1: type and subtype are case-insensitive)."""
    return mime_type.split(";", 1)[0].strip().lower()


def check_declared(
    data: bytes,
    *,
    mime_type: str | None = None,
    compression: str | None = None,
    allowed: frozenset[str] | None = None,
) -> str:
    """Sniff ``data``, check it against the declared ``mime_type`` and ``compression``, return the format.

    Raises FormatError when the content is empty or unrecognised, when a declaration is unknown or disagrees with
    the content, or when ``allowed`` is given and the detected format is not in it.
    """
    if not data:
        raise FormatError("content is empty")
    detected = sniff(data)
    if detected is None:
        raise FormatError("content is not a recognised image or document format")
    if mime_type is not None:
        if not isinstance(mime_type, str):
            raise FormatError("declared media type is not a string")
        media_type = _media_type(mime_type)
        if media_type != OCTET_STREAM:
            expected = MIME_FORMATS.get(media_type)
            if expected is None:
                raise FormatError("declared media type is not supported")
            if expected != detected:
                raise FormatError(f"content is {detected}, not the declared media type")
    if compression is not None:
        if not isinstance(compression, str):
            raise FormatError("declared compression is not a string")
        formats = COMPRESSION_FORMATS.get(compression.strip().upper())
        if formats is None:
            raise FormatError("declared compression is not supported")
        if detected not in formats:
            raise FormatError(f"content is {detected}, not the declared compression")
    if allowed is not None and detected not in allowed:
        raise FormatError(f"{detected} content is not accepted here")
    return detected
