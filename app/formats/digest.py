"""HTTP body digests for the OSIA buffer API: RFC 3230 ``Digest`` and RFC 9530 ``Content-Digest``.

OSIA ``createBuffer`` takes an optional ``Digest`` header (RFC 3230 ``algorithm=base64``) and ``readBuffer`` returns
one (osia-notes.md §4.3). RFC 9530 obsoletes RFC 3230 with ``Content-Digest: sha-256=:<base64>:`` (a Structured Field
dictionary of byte sequences, RFC 8941 §3.2 and §3.3.5); both syntaxes are read. Algorithms: ``SHA`` (SHA-1,
RFC 3230 §4.1), ``SHA-256`` and ``SHA-512`` (RFC 5843; RFC 9530 §5). Others (MD5, UNIXsum, ...) are skipped.
"""

import base64
import binascii
import hashlib
import hmac
import re

from app.formats.errors import FormatError

#: Supported digest algorithm tokens (lower case; RFC 3230 §4.1.1 and RFC 9530 §2: case-insensitive) -> hashlib.
SUPPORTED_ALGORITHMS: dict[str, str] = {"sha": "sha1", "sha-256": "sha256", "sha-512": "sha512"}

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def parse_digest(header_value: str) -> list[tuple[str, bytes]]:
    """The supported ``(algorithm, digest)`` pairs of a ``Digest`` or ``Content-Digest`` header value.

    Algorithms come back lower case; unsupported ones are skipped. A malformed member or digest, or a header with
    no supported algorithm left, raises FormatError.
    """
    if not isinstance(header_value, str) or not header_value.strip():
        raise FormatError("digest header is empty")
    found: list[tuple[str, bytes]] = []
    for member in header_value.split(","):  # RFC 3230 §4.3.2: Digest = "Digest" ":" #(instance-digest)
        member = member.strip()
        if not member:
            continue
        name, sep, value = member.partition("=")
        name = name.strip()
        if not sep or not _TOKEN.fullmatch(name):
            raise FormatError("digest header member is malformed")
        algorithm = name.lower()
        if algorithm not in SUPPORTED_ALGORITHMS:
            continue  # RFC 9530 §2: a recipient MAY ignore any or all digests
        found.append((algorithm, _decode(algorithm, value)))
    if not found:
        raise FormatError("digest header has no supported algorithm")
    return found


def _decode(algorithm: str, value: str) -> bytes:
    value = value.strip()
    if value.startswith(":"):  # RFC 8941 §3.3.5 byte sequence, possibly followed by ;parameters (§3.1.2)
        end = value.find(":", 1)
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].lstrip().startswith(";")):
            raise FormatError("digest byte sequence is malformed")
        value = value[1:end]
    if not value or not _BASE64.fullmatch(value) or len(value) % 4:
        raise FormatError("digest value is not base64")
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError("digest value is not base64") from exc
    if len(digest) != hashlib.new(SUPPORTED_ALGORITHMS[algorithm]).digest_size:
        raise FormatError("digest value has the wrong length for its algorithm")
    return digest


def verify_digest(header_value: str, body: bytes) -> None:
    """Raise FormatError unless every supported digest in ``header_value`` matches ``body``."""
    for algorithm, expected in parse_digest(header_value):
        actual = hashlib.new(SUPPORTED_ALGORITHMS[algorithm], body).digest()
        if not hmac.compare_digest(actual, expected):  # every digest given must match, compared in constant time
            raise FormatError("body does not match its digest")


def digest_header(body: bytes) -> str:
    """An RFC 3230 ``Digest`` header value for ``body``: ``SHA-256=<base64>`` (RFC 5843 §2)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
