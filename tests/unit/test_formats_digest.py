"""app/formats/digest: RFC 3230 ``Digest`` and RFC 9530 ``Content-Digest`` values; expected digests from hashlib."""

import base64
import hashlib

import pytest

from app.formats import FormatError
from app.formats.digest import digest_header, parse_digest, verify_digest

BODY = b"\xff\xd8\xff\xe0 fake image bytes \x00\x01" * 10


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


SHA1 = hashlib.sha1(BODY).digest()  # RFC 3230 "SHA" is SHA-1
SHA256 = hashlib.sha256(BODY).digest()
SHA512 = hashlib.sha512(BODY).digest()
MD5 = hashlib.md5(BODY).digest()  # an unsupported algorithm on purpose


def test_rfc9530_example_value():
    # RFC 9530 §2 example: Content-Digest for the body {"hello": "world"}
    header = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert parse_digest(header) == [("sha-256", hashlib.sha256(b'{"hello": "world"}').digest())]
    verify_digest(header, b'{"hello": "world"}')


def test_rfc3230_example_value():
    # RFC 3230 §4.3.2 example: Digest: SHA=thvDyvhfIqlvFe+A9MYgxAfm1q5=, a SHA-1 of an unknown body
    assert parse_digest("SHA=thvDyvhfIqlvFe+A9MYgxAfm1q5=") == [("sha", base64.b64decode("thvDyvhfIqlvFe+A9MYgxAfm1q5="))]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"SHA={b64(SHA1)}", [("sha", SHA1)]),
        (f"SHA-256={b64(SHA256)}", [("sha-256", SHA256)]),
        (f"sha-256={b64(SHA256)}", [("sha-256", SHA256)]),
        (f"SHA-512={b64(SHA512)}", [("sha-512", SHA512)]),
        (f"SHA-256={b64(SHA256)}, SHA-512={b64(SHA512)}", [("sha-256", SHA256), ("sha-512", SHA512)]),
        (f"sha-256=:{b64(SHA256)}:", [("sha-256", SHA256)]),
        (f"sha-512=:{b64(SHA512)}:, sha-256=:{b64(SHA256)}:", [("sha-512", SHA512), ("sha-256", SHA256)]),
        (f"sha-256=:{b64(SHA256)}:;foo=1", [("sha-256", SHA256)]),
        (f"MD5={b64(MD5)}, SHA-256={b64(SHA256)}", [("sha-256", SHA256)]),
        (f"UNIXsum=30637,SHA-256={b64(SHA256)}", [("sha-256", SHA256)]),
        (f"  SHA-256={b64(SHA256)} , ", [("sha-256", SHA256)]),
    ],
)
def test_parse_digest(header, expected):
    assert parse_digest(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        f"SHA-256={b64(SHA256)}",
        f"SHA={b64(SHA1)}",
        f"SHA-512={b64(SHA512)}",
        f"sha-256=:{b64(SHA256)}:",
        f"sha-256=:{b64(SHA256)}:, sha-512=:{b64(SHA512)}:",
        f"MD5=AAAAAAAAAAAAAAAAAAAAAA==, SHA-256={b64(SHA256)}",  # a wrong MD5 is ignored: MD5 is not checked
    ],
)
def test_verify_digest_accepts(header):
    verify_digest(header, BODY)


@pytest.mark.parametrize(
    "header",
    [
        f"SHA-256={b64(SHA256)}",
        f"sha-256=:{b64(SHA256)}:",
        f"SHA={b64(SHA1)}",
        f"SHA-512={b64(SHA512)}",
    ],
)
def test_verify_digest_refuses_another_body(header):
    for other in (BODY + b"\x00", BODY[:-1], b"", bytes([BODY[0] ^ 1]) + BODY[1:]):
        with pytest.raises(FormatError):
            verify_digest(header, other)


def test_every_supported_digest_must_match():
    wrong = hashlib.sha512(b"other").digest()
    with pytest.raises(FormatError):
        verify_digest(f"SHA-256={b64(SHA256)}, SHA-512={b64(wrong)}", BODY)
    with pytest.raises(FormatError):
        verify_digest(f"SHA-512={b64(wrong)}, SHA-256={b64(SHA256)}", BODY)


def test_a_digest_of_the_wrong_algorithm_is_refused():
    # a SHA-512 value labelled SHA-256 is refused (wrong length), and a SHA-256 of the body labelled SHA is too
    with pytest.raises(FormatError):
        verify_digest(f"SHA-256={b64(SHA512)}", BODY)
    with pytest.raises(FormatError):
        verify_digest(f"SHA={b64(SHA256)}", BODY)


@pytest.mark.parametrize(
    "header",
    [
        f"MD5={b64(MD5)}",
        "UNIXsum=30637",
        f"SHA-384={b64(hashlib.sha384(BODY).digest())}",
        f"md5=:{b64(MD5)}:",
    ],
)
def test_no_supported_algorithm(header):
    with pytest.raises(FormatError):
        parse_digest(header)
    with pytest.raises(FormatError):
        verify_digest(header, BODY)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        ",",
        "SHA-256",  # no value
        "SHA-256=",  # empty value
        "=abc",
        "SHA 256=" + b64(SHA256),
        "SHA-256=" + b64(SHA256)[:-2],  # truncated
        "SHA-256=" + b64(SHA256).rstrip("="),  # padding removed
        "SHA-256=" + b64(SHA256).replace("+", "-").replace("/", "_") + "!",
        "SHA-256=" + base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),  # base64url alphabet, not base64
        "SHA-256=" + b64(SHA256)[:10] + " " + b64(SHA256)[10:],
        "sha-256=:" + b64(SHA256),  # unterminated byte sequence
        "sha-256=:" + b64(SHA256) + ":garbage",
        f"SHA-256={b64(SHA256[:31])}",  # wrong length
        f"SHA-256={b64(SHA256)}, SHA-256=%%%",
    ],
)
def test_malformed(header):
    with pytest.raises(FormatError):
        parse_digest(header)
    with pytest.raises(FormatError):
        verify_digest(header, BODY)


def test_non_string_header():
    with pytest.raises(FormatError):
        parse_digest(None)  # type: ignore[arg-type]


def test_digest_header():
    assert digest_header(BODY) == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # SHA-256 of nothing
    verify_digest(digest_header(BODY), BODY)
    with pytest.raises(FormatError):
        verify_digest(digest_header(BODY), BODY + b"!")


def test_error_messages_do_not_echo_the_header():
    with pytest.raises(FormatError) as info:
        parse_digest("SHA-256=secretmarker")
    assert "secretmarker" not in str(info.value)
