"""app/formats/images: magic-number sniffing and checks against the declared media type and compression.

The samples are built here byte by byte from the format specifications (a complete PNG with zlib and CRCs, the
start of a JFIF file, a JP2 signature and file-type box, WSQ and ISO/IEC 19794 record headers, a tiny PDF).
"""

import os
import struct
import zlib

import pytest

from app.formats import FormatError
from app.formats.images import COMPRESSION_FORMATS, MIME_FORMATS, check_declared, sniff


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png(width: int = 2, height: int = 2) -> bytes:
    """A complete, decodable 8-bit greyscale PNG (ISO/IEC 15948)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes((x * 40 + y * 80) % 256 for x in range(width)) for y in range(height))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


PNG = make_png()
# JFIF: SOI, APP0 "JFIF" segment (length 16, version 1.01, no density units, 1x1, no thumbnail), then EOI
JPEG = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xd9"
# JP2: signature box, then the 'ftyp' box with brand 'jp2 ' (ITU-T T.800 Annex I)
JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n" + struct.pack(">I", 20) + b"ftypjp2 " + b"\x00\x00\x00\x00" + b"jp2 "
# Raw JPEG 2000 codestream: SOC, then SIZ with its length
J2K = b"\xff\x4f\xff\x51" + struct.pack(">H", 41) + bytes(39)
# WSQ: SOI, then a COM segment (FF A8) as NIST encoders write first, or a DTT table (FF A4)
WSQ = b"\xff\xa0\xff\xa8" + struct.pack(">H", 10) + b"NIST_COM"
WSQ_DTT = b"\xff\xa0\xff\xa4" + struct.pack(">H", 6) + bytes(4)
# ISO/IEC 19794-x:2005 general record header: format identifier, version "020\0" (or "010\0"), record length
FMR = b"FMR\x00" + b" 20\x00" + struct.pack(">I", 28) + bytes(20)
FIR = b"FIR\x00" + b"010\x00" + struct.pack(">IH", 32, 0) + bytes(20)
FAC = b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14, 1)
IIR = b"IIR\x00" + b"010\x00" + struct.pack(">I", 45) + bytes(33)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

SAMPLES = {
    "PNG": PNG,
    "JPEG": JPEG,
    "JPEG2000": JP2,
    "WSQ": WSQ,
    "ISO19794-2": FMR,
    "ISO19794-4": FIR,
    "ISO19794-5": FAC,
    "ISO19794-6": IIR,
    "PDF": PDF,
}


def test_png_sample_is_a_real_png():
    # the sample decodes: every chunk CRC is right and IDAT inflates to height * (1 + width) bytes
    offset = 8
    kinds = []
    while offset < len(PNG):
        (length,) = struct.unpack(">I", PNG[offset : offset + 4])
        kind, body = PNG[offset + 4 : offset + 8], PNG[offset + 8 : offset + 8 + length]
        assert struct.unpack(">I", PNG[offset + 8 + length : offset + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IDAT":
            assert len(zlib.decompress(body)) == 2 * (1 + 2)
        kinds.append(kind)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize(("name", "data"), SAMPLES.items())
def test_sniff_each_format(name, data):
    assert sniff(data) == name


def test_sniff_more_variants():
    assert sniff(J2K) == "JPEG2000"
    assert sniff(WSQ_DTT) == "WSQ"
    assert sniff(bytearray(PNG)) == "PNG"
    assert sniff(memoryview(JPEG)) == "JPEG"
    assert sniff(make_png(300, 1)) == "PNG"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n",  # truncated signature
        b"\x89PNG\r\n\x1a\x00",  # one byte wrong
        b"\xff\xd8",  # SOI without a following marker
        b"\xff\xd8\x00",
        b"\x00\x00\x00\x0cjP  \r\n\x87\x00",  # broken JP2 signature
        b"\xff\x4f\xff\x52",  # SOC followed by COD, not SIZ
        b"\xff\xa0",  # WSQ SOI alone
        b"\xff\xa0\x00\xa8",  # no marker after SOI
        b"\xff\xa0\xff\xd8",  # a JPEG marker after a WSQ SOI
        b"FMR",  # truncated ISO header
        b"FMR ",
        b"fmr\x00",
        b"XYZ\x00",
        b"%PDF",
        b"%pdf-1.7",
        b" %PDF-1.7",
        b"GIF89a\x01\x00\x01\x00",
        b"<html><script>alert(1)</script>",
        b"<?xml version='1.0'?><svg/>",
        b"\x00" * 64,
    ],
)
def test_sniff_unrecognised(data):
    assert sniff(data) is None


def test_sniff_random_bytes_are_mostly_unrecognised():
    # a 4-byte magic number matches random data with probability ~1e-9; 3-byte JPEG ~6e-8
    assert all(sniff(b"\x01" + os.urandom(63)) is None for _ in range(1_000))


def test_sniff_non_bytes():
    assert sniff("\x89PNG\r\n\x1a\n") is None  # type: ignore[arg-type]
    assert sniff(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mime", "data", "expected"),
    [
        ("image/png", PNG, "PNG"),
        ("image/jpeg", JPEG, "JPEG"),
        ("image/jpg", JPEG, "JPEG"),
        ("IMAGE/JPEG", JPEG, "JPEG"),
        ("image/jpeg; q=0.9", JPEG, "JPEG"),
        (" image/png ;charset=binary", PNG, "PNG"),
        ("image/jp2", JP2, "JPEG2000"),
        ("image/jpx", JP2, "JPEG2000"),
        ("image/j2k", J2K, "JPEG2000"),
        ("image/jpeg2000", JP2, "JPEG2000"),
        ("image/x-wsq", WSQ, "WSQ"),
        ("image/wsq", WSQ_DTT, "WSQ"),
        ("application/pdf", PDF, "PDF"),
    ],
)
def test_check_declared_matching_mime(mime, data, expected):
    assert check_declared(data, mime_type=mime) == expected


@pytest.mark.parametrize(("name", "data"), SAMPLES.items())
def test_octet_stream_accepts_every_known_format(name, data):
    assert check_declared(data, mime_type="application/octet-stream") == name
    assert check_declared(data, mime_type="Application/Octet-Stream; foo=bar") == name
    assert check_declared(data) == name  # nothing declared: only sniffing


@pytest.mark.parametrize(
    ("mime", "data"),
    [
        ("image/jpeg", PNG),  # PNG declared as JPEG
        ("image/png", JPEG),
        ("image/png", PDF),
        ("application/pdf", JPEG),
        ("image/jp2", PNG),
        ("image/x-wsq", JPEG),
        ("image/png", FAC),
    ],
)
def test_check_declared_mismatched_mime(mime, data):
    with pytest.raises(FormatError):
        check_declared(data, mime_type=mime)


@pytest.mark.parametrize("mime", ["image/gif", "text/html", "image/svg+xml", "", "png", "application/vc"])
def test_check_declared_unknown_mime_type(mime):
    with pytest.raises(FormatError):
        check_declared(PNG, mime_type=mime)


@pytest.mark.parametrize(
    ("compression", "data", "expected"),
    [
        ("PNG", PNG, "PNG"),
        ("JPEG", JPEG, "JPEG"),
        ("JPEG2000", JP2, "JPEG2000"),
        ("JPEG2000", J2K, "JPEG2000"),
        ("WSQ", WSQ, "WSQ"),
        ("NONE", FMR, "ISO19794-2"),
        ("NONE", FIR, "ISO19794-4"),
        ("NONE", FAC, "ISO19794-5"),
        ("NONE", IIR, "ISO19794-6"),
    ],
)
def test_check_declared_matching_compression(compression, data, expected):
    assert check_declared(data, compression=compression) == expected


@pytest.mark.parametrize(
    ("compression", "data"),
    [("WSQ", PNG), ("JPEG", PNG), ("PNG", WSQ), ("NONE", PNG), ("NONE", PDF), ("JPEG2000", JPEG), ("WSQ", FIR)],
)
def test_check_declared_mismatched_compression(compression, data):
    with pytest.raises(FormatError):
        check_declared(data, compression=compression)


@pytest.mark.parametrize("compression", ["GIF", "", "LZW"])
def test_check_declared_unknown_compression(compression):
    with pytest.raises(FormatError):
        check_declared(PNG, compression=compression)


def test_check_declared_mime_and_compression_must_both_match():
    assert check_declared(WSQ, mime_type="image/x-wsq", compression="WSQ") == "WSQ"
    with pytest.raises(FormatError):
        check_declared(PNG, mime_type="image/png", compression="WSQ")
    with pytest.raises(FormatError):
        check_declared(PNG, mime_type="image/jpeg", compression="PNG")


def test_check_declared_allowed_formats():
    documents = frozenset({"JPEG", "PNG", "PDF"})
    assert check_declared(PDF, mime_type="application/pdf", allowed=documents) == "PDF"
    assert check_declared(JPEG, allowed=documents) == "JPEG"
    with pytest.raises(FormatError):
        check_declared(WSQ, allowed=documents)
    with pytest.raises(FormatError):
        check_declared(WSQ, mime_type="application/octet-stream", allowed=documents)
    with pytest.raises(FormatError):
        check_declared(PNG, allowed=frozenset())


@pytest.mark.parametrize("data", [b"", bytearray()])
def test_check_declared_refuses_empty(data):
    with pytest.raises(FormatError, match="empty"):
        check_declared(data)
    with pytest.raises(FormatError, match="empty"):
        check_declared(data, mime_type="application/octet-stream")


def test_check_declared_refuses_unrecognised_and_random_bytes():
    for data in (b"\x01" + os.urandom(255), b"<html></html>", b"GIF89a", b"\xff\xa0"):
        for mime in (None, "application/octet-stream", "image/png"):
            with pytest.raises(FormatError):
                check_declared(data, mime_type=mime)


def test_error_messages_do_not_echo_declarations():
    with pytest.raises(FormatError) as info:
        check_declared(PNG, mime_type="image/x-secret-marker")
    assert "secret-marker" not in str(info.value)


def test_tables():
    assert MIME_FORMATS["image/png"] == "PNG"
    assert {MIME_FORMATS[m] for m in ("image/jp2", "image/jpx", "image/j2k", "image/jpeg2000")} == {"JPEG2000"}
    assert MIME_FORMATS["image/x-wsq"] == MIME_FORMATS["image/wsq"] == "WSQ"
    assert MIME_FORMATS["image/jpeg"] == MIME_FORMATS["image/jpg"] == "JPEG"
    assert MIME_FORMATS["application/pdf"] == "PDF"
    assert COMPRESSION_FORMATS["NONE"] == {"ISO19794-2", "ISO19794-4", "ISO19794-5", "ISO19794-6"}
    assert set(COMPRESSION_FORMATS) == {"NONE", "WSQ", "JPEG", "JPEG2000", "PNG"}  # OSIA BiometricData.compression
    with pytest.raises(TypeError):
        MIME_FORMATS["image/gif"] = "GIF"  # type: ignore[index]
