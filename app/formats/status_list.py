"""Token Status List (draft-ietf-oauth-status-list-20): the status array, its compressed encoding, and the signed
``statuslist+jwt`` (§5.1) and ``statuslist+cwt`` (§5.2) tokens; plus the ``status`` reference a credential carries
(§6.2 JOSE, §6.3 COSE).

Pure functions over a :class:`StatusArray` (a ``bytearray``); keys come in as arguments (a jwcrypto JWK for the JWT,
a ``cryptography`` private key for the CWT). Allocation of indexes and storage belong to the service layer.
"""

import zlib
from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any

import cbor2
from jwcrypto import jwk
from jwcrypto.common import base64url_encode

from app.formats import cose
from app.formats.errors import FormatError, StatusListError
from app.formats.jose import decode_b64url, sign_jwt

#: §4.1 step 1: the number of bits per Referenced Token MUST be 1, 2, 4 or 8.
ALLOWED_BITS = (1, 2, 4, 8)
JWT_TYP = "statuslist+jwt"  # §5.1
CWT_TYP = "application/statuslist+cwt"  # §5.2, RFC 9596
#: CWT claim keys (RFC 8392 §3.1.2 sub, §3.1.4 exp, §3.1.6 iat; draft-20 §5.2 ttl and status_list).
CWT_SUB, CWT_EXP, CWT_IAT, CWT_TTL, CWT_STATUS_LIST = 2, 4, 6, 65534, 65533
#: Default upper bound on a decompressed list a verifier accepts (§11.1: guard against decompression bombs): 16 MiB.
MAX_DECOMPRESSED = 16 * 1024 * 1024


class Status(IntEnum):
    """Status Type values (§7.1)."""

    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02


class StatusArray:
    """A mutable status list of ``size`` entries of ``bits`` bits each, packed LSB first (§4.1 step 3).

    Index ``i`` lives in byte ``i * bits // 8`` at bit offset ``(i * bits) % 8`` counted from the least
    significant bit. Every entry starts VALID (0).
    """

    __slots__ = ("_bits", "_compressed", "_data", "_mask", "_per_byte", "_size")

    def __init__(self, size: int, bits: int = 2) -> None:
        if bits not in ALLOWED_BITS:  # §4.1 step 1: bits MUST be 1, 2, 4 or 8
            raise StatusListError("bits must be 1, 2, 4 or 8")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise StatusListError("a status list needs at least one entry")
        self._bits = bits
        self._size = size
        self._per_byte = 8 // bits
        self._mask = (1 << bits) - 1
        # §4.1 step 2: a byte array of size = entries * bits / 8 or greater
        self._data = bytearray(-(-size * bits // 8))
        self._compressed: bytes | None = None  # the last compress() result, dropped by every change

    @classmethod
    def from_bytes(cls, data: bytes, bits: int, size: int | None = None) -> "StatusArray":
        """An array over the uncompressed bytes ``data``; ``size`` defaults to every entry the bytes can hold."""
        capacity = len(data) * 8 // bits if bits in ALLOWED_BITS else 0
        array = cls(size if size is not None else capacity, bits)
        if len(array._data) > len(data):
            raise StatusListError("status list bytes are shorter than its size")
        array._data[:] = data[: len(array._data)]
        array._compressed = None
        return array

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    def _check(self, index: int, value: int | None = None) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self._size:
            raise StatusListError("status index is outside the list")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self._mask):
            # §7: the whole value of bits describes one status; it must fit in bits
            raise StatusListError(f"status value does not fit in {self._bits} bits")

    def get(self, index: int) -> int:
        """The status at ``index``."""
        self._check(index)
        byte, slot = divmod(index, self._per_byte)
        return (self._data[byte] >> (slot * self._bits)) & self._mask

    def set(self, index: int, value: int) -> None:
        """Set the status at ``index`` to ``value`` (0 .. 2**bits - 1)."""
        self._check(index, value)
        byte, slot = divmod(index, self._per_byte)
        shift = slot * self._bits
        self._data[byte] = (self._data[byte] & ~(self._mask << shift) & 0xFF) | (value << shift)
        self._compressed = None

    __getitem__ = get
    __setitem__ = set

    def set_many(self, indexes: Iterable[int], value: int) -> None:
        """Set every index in ``indexes`` to ``value``; all are checked before any is written.

        One bounds check over the whole batch (its type, minimum and maximum) instead of one per index: a list
        of 1,048,576 entries with 10,000 set is rebuilt on every publication."""
        wanted = indexes if isinstance(indexes, list) else list(indexes)
        if not wanted:
            return
        self._check(0, value)
        if not all(type(index) is int for index in wanted):  # bool and other int subclasses are not indexes
            raise StatusListError("status index is outside the list")
        if min(wanted) < 0 or max(wanted) >= self._size:
            raise StatusListError("status index is outside the list")
        self._compressed = None
        data = self._data
        if self._bits == 8:
            for index in wanted:
                data[index] = value
            return
        per_byte, bits, mask = self._per_byte, self._bits, self._mask
        for index in wanted:
            byte, slot = divmod(index, per_byte)
            shift = slot * bits
            data[byte] = (data[byte] & ~(mask << shift) & 0xFF) | (value << shift)

    def fill(self, value: int) -> None:
        """Set every entry to ``value`` (whole bytes at once)."""
        self._check(0, value)
        pattern = 0
        for slot in range(self._per_byte):
            pattern |= value << (slot * self._bits)
        self._data[:] = bytes([pattern]) * len(self._data)
        self._compressed = None
        spare = len(self._data) * self._per_byte - self._size
        if spare:  # keep padding entries past the end at 0
            self._data[-1] &= 0xFF >> (spare * self._bits)

    def count(self, value: int) -> int:
        """How many entries hold ``value`` (for tests and metrics)."""
        self._check(0, value)
        bits, mask = self._bits, self._mask
        table = [sum(((byte >> (slot * bits)) & mask) == value for slot in range(self._per_byte)) for byte in range(256)]
        found = sum(table[byte] for byte in self._data)
        spare = len(self._data) * self._per_byte - self._size  # padding entries past the end hold 0
        return found - spare if value == 0 else found

    def to_bytes(self) -> bytes:
        """The uncompressed byte array (§4.1 steps 2-3)."""
        return bytes(self._data)

    def compress(self) -> bytes:
        """DEFLATE in the ZLIB format at the highest level (§4.1 step 4: highest level RECOMMENDED).

        Computed once per content: the JWT (§4.2, base64url) and the CWT (§4.3, bstr) forms of one publication
        carry the same compressed bytes, and level 9 over a 256 KiB list costs ~60 ms, the larger part of
        re-signing it. Every change (``set``, ``set_many``, ``fill``) drops the stored result."""
        if self._compressed is None:
            self._compressed = zlib.compress(self._data, level=9)
        return self._compressed


def decompress(lst: bytes, bits: int, *, max_bytes: int = MAX_DECOMPRESSED) -> StatusArray:
    """A :class:`StatusArray` from a compressed ``lst`` (§4.1 step 4); more than ``max_bytes`` inflated is refused."""
    if bits not in ALLOWED_BITS:  # §4.2, §4.3: bits is 1, 2, 4 or 8
        raise StatusListError("bits must be 1, 2, 4 or 8")
    inflater = zlib.decompressobj()  # wbits 15: the ZLIB format only, not raw DEFLATE or gzip
    try:
        data = inflater.decompress(lst, max_bytes)
    except zlib.error as exc:
        raise StatusListError("status list is not ZLIB-compressed") from exc
    if inflater.unconsumed_tail:
        raise StatusListError("status list inflates past the size limit")
    if not inflater.eof or inflater.unused_data:
        raise StatusListError("status list compressed data is truncated or has trailing bytes")
    if not data:
        raise StatusListError("status list is empty")
    return StatusArray.from_bytes(data, bits)


def status_list_json(array: StatusArray, *, aggregation_uri: str | None = None) -> dict[str, Any]:
    """The JSON ``StatusList`` (§4.2): ``bits`` and ``lst`` (base64url of the compressed bytes, no padding)."""
    value: dict[str, Any] = {"bits": array.bits, "lst": base64url_encode(array.compress())}
    if aggregation_uri is not None:
        value["aggregation_uri"] = aggregation_uri
    return value


def status_list_cbor(array: StatusArray, *, aggregation_uri: str | None = None) -> dict[str, Any]:
    """The CBOR ``StatusList`` map (§4.3): ``bits`` (uint) and ``lst`` (bstr of the compressed bytes)."""
    value: dict[str, Any] = {"bits": array.bits, "lst": array.compress()}
    if aggregation_uri is not None:
        value["aggregation_uri"] = aggregation_uri
    return value


def parse_status_list_json(value: Any, *, max_bytes: int = MAX_DECOMPRESSED) -> StatusArray:
    """Read a JSON ``StatusList`` object (§4.2)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("lst"), str):
        raise StatusListError("status_list must be an object with a string lst")
    try:
        lst = decode_b64url(value["lst"], "status list lst")
    except FormatError as exc:
        raise StatusListError(str(exc)) from exc
    return decompress(lst, _bits(value), max_bytes=max_bytes)


def parse_status_list_cbor(value: Any, *, max_bytes: int = MAX_DECOMPRESSED) -> StatusArray:
    """Read a CBOR ``StatusList`` map (§4.3)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("lst"), bytes):
        raise StatusListError("status_list must be a map with a byte-string lst")
    return decompress(value["lst"], _bits(value), max_bytes=max_bytes)


def _bits(value: Mapping[str, Any]) -> int:
    bits = value.get("bits")
    if isinstance(bits, bool) or bits not in ALLOWED_BITS:
        raise StatusListError("status_list bits must be 1, 2, 4 or 8")
    return int(bits)


def _check_times(iat: int, exp: int | None, ttl: int | None) -> None:
    for name, value in (("iat", iat), ("exp", exp), ("ttl", ttl)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise StatusListError(f"{name} must be a non-negative integer")
    if ttl is not None and ttl <= 0:  # §5.1, §5.2: ttl MUST be a positive number
        raise StatusListError("ttl must be positive")
    if exp is not None and exp <= iat:
        raise StatusListError("exp must be after iat")


def sign_status_list_jwt(
    array: StatusArray,
    *,
    uri: str,
    key: jwk.JWK,
    alg: str,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    x5c: list[str] | None = None,
    aggregation_uri: str | None = None,
) -> str:
    """A Status List Token in JWT format (§5.1), signed with ``key`` (its ``kid`` in the header, ``x5c`` if given)."""
    if not isinstance(uri, str) or not uri:
        raise StatusListError("a status list needs its URI")
    _check_times(iat, exp, ttl)
    claims: dict[str, Any] = {
        "sub": uri,  # §5.1: sub MUST be the URI of the Status List Token
        "iat": iat,  # §5.1: iat REQUIRED
        "status_list": status_list_json(array, aggregation_uri=aggregation_uri),
    }
    if exp is not None:
        claims["exp"] = exp
    if ttl is not None:
        claims["ttl"] = ttl
    # §5.1: the JWT type MUST be statuslist+jwt
    return sign_jwt(claims, key, alg, typ=JWT_TYP, extra_header={"x5c": list(x5c)} if x5c else None)


def sign_status_list_cwt(
    array: StatusArray,
    *,
    uri: str,
    key: cose.SigningKey,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    kid: bytes | None = None,
    x5chain: list[bytes] | None = None,
    aggregation_uri: str | None = None,
) -> bytes:
    """A Status List Token in CWT format (§5.2): COSE_Sign1_Tagged (18), not CWT-tagged, typ in the protected header.

    ``kid`` and ``x5chain`` (DER certificates, leaf first) go into the unprotected header (RFC 9052 §3.1, RFC 9360 §2).
    """
    if not isinstance(uri, str) or not uri:
        raise StatusListError("a status list needs its URI")
    _check_times(iat, exp, ttl)
    claims: dict[int, Any] = {
        CWT_SUB: uri,  # §5.2: subject MUST be the URI of the Status List Token
        CWT_IAT: iat,
        CWT_STATUS_LIST: status_list_cbor(array, aggregation_uri=aggregation_uri),
    }
    if exp is not None:
        claims[CWT_EXP] = exp
    if ttl is not None:
        claims[CWT_TTL] = ttl
    unprotected: dict[int, Any] = {}
    if kid is not None:
        unprotected[cose.HEADER_KID] = kid
    if x5chain:
        unprotected[cose.HEADER_X5CHAIN] = x5chain[0] if len(x5chain) == 1 else list(x5chain)  # RFC 9360 §2
    # §5.2: protected header 16 (typ) REQUIRED, application/statuslist+cwt; the message MUST be COSE_Sign1_Tagged
    # and MUST NOT carry the CWT tag (61): cose.sign1 emits tag 18 alone
    return cose.sign1(cbor2.dumps(claims), key, protected={cose.HEADER_TYP: CWT_TYP}, unprotected=unprotected)


def status_reference(idx: int, uri: str) -> dict[str, Any]:
    """The ``status`` claim of a Referenced Token (§6.2 JOSE; the same map is the COSE ``Status`` of §6.3)."""
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:  # §6.2: idx MUST be a non-negative integer
        raise StatusListError("status idx must be a non-negative integer")
    if not isinstance(uri, str) or ":" not in uri:  # §6.2: uri MUST be a URI (RFC 3986)
        raise StatusListError("status uri must be a URI")
    return {"status_list": {"idx": idx, "uri": uri}}


def checked_reference(status: Any) -> dict[str, Any]:
    """A copy of a ``status`` map as a Referenced Token carries it (§6.2, §6.3), refusing anything but
    ``{"status_list": {"idx": uint, "uri": URI}}``; other status mechanisms are not carried."""
    link = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(link, Mapping):
        raise StatusListError("status must be {status_list: {idx, uri}}")
    return status_reference(link.get("idx"), link.get("uri"))  # type: ignore[arg-type]  # status_reference checks idx and uri at runtime
