"""app/formats/status_list: Token Status List draft 20, decoded here by a decoder written from the draft.

The decoder below (``draft_decode``) follows §4.1 literally: inflate ZLIB, then entry ``i`` is bits
``[i*bits, (i+1)*bits)`` of the byte array counted from the least significant bit of byte 0. It shares no
code with the encoder under test. JWTs are verified with PyJWT, CWTs with cbor2 + cryptography from RFC 9052.
"""

import base64
import random
import zlib

import cbor2
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk

from app.formats.errors import FormatError, StatusListError
from app.formats.status_list import (
    Status,
    StatusArray,
    decompress,
    parse_status_list_cbor,
    parse_status_list_json,
    sign_status_list_cwt,
    sign_status_list_jwt,
    status_list_cbor,
    status_list_json,
    status_reference,
)

URI = "https://idbb.test/statuslists/1"
EC_PRIVATE = ec.generate_private_key(ec.SECP256R1())
EC_JWK = jwk.JWK(**dict(jwk.JWK.from_pyca(EC_PRIVATE).export(as_dict=True), kid="sl-1"))


def draft_decode(compressed: bytes, bits: int, count: int) -> list[int]:
    """§4.1: inflate (ZLIB format), then read ``count`` entries of ``bits`` bits, LSB first."""
    raw = zlib.decompress(compressed)
    out = []
    for i in range(count):
        bit = i * bits
        byte, offset = bit // 8, bit % 8
        out.append((raw[byte] >> offset) & ((1 << bits) - 1))
    return out


def b64url_decode(text: str) -> bytes:
    assert "=" not in text
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# §4.1 examples: 16 entries at 1 bit -> b9 a3, 12 entries at 2 bits -> c9 44 f9
EXAMPLE_1 = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
EXAMPLE_2 = [0b01, 0b10, 0b00, 0b11, 0b00, 0b01, 0b00, 0b01, 0b01, 0b10, 0b11, 0b11]


@pytest.mark.parametrize(
    ("statuses", "bits", "raw", "compressed_hex"),
    [
        (EXAMPLE_1, 1, bytes([0xB9, 0xA3]), "78dadbb918000217015d"),
        (EXAMPLE_2, 2, bytes([0xC9, 0x44, 0xF9]), "78da3be9f2130003df0207"),
    ],
)
def test_draft_examples(statuses, bits, raw, compressed_hex):
    array = StatusArray(len(statuses), bits)
    for index, value in enumerate(statuses):
        array.set(index, value)
    assert array.to_bytes() == raw
    compressed = array.compress()
    # the draft's compressed bytes are zlib level 9 of the same array: byte for byte here
    assert compressed.hex() == compressed_hex
    assert draft_decode(compressed, bits, len(statuses)) == statuses
    assert draft_decode(bytes.fromhex(compressed_hex), bits, len(statuses)) == statuses
    back = decompress(bytes.fromhex(compressed_hex), bits)
    assert [back.get(i) for i in range(len(statuses))] == statuses


# §"Test vectors": 2^20 entries, the listed indexes set (the draft's encodings are not in the text we have, so the
# statuses are checked through the draft decoder)
VECTORS = {
    1: {0: 1, 1993: 1, 25460: 1, 159495: 1, 495669: 1, 554353: 1, 645645: 1, 723232: 1, 854545: 1, 934534: 1, 1000345: 1},
    2: {0: 1, 1993: 2, 25460: 1, 159495: 3, 495669: 1, 554353: 1, 645645: 2, 723232: 1, 854545: 1, 934534: 2, 1000345: 3},
    4: {
        0: 1,
        1993: 2,
        35460: 3,
        459495: 4,
        595669: 5,
        754353: 6,
        845645: 7,
        923232: 8,
        924445: 9,
        934534: 10,
        1004534: 11,
        1000345: 12,
        1030203: 13,
        1030204: 14,
        1030205: 15,
    },
}


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_draft_test_vectors_round_trip_through_the_draft_decoder(bits):
    size = 2**20
    array = StatusArray(size, bits)
    for index, value in VECTORS[bits].items():
        array.set(index, value)
    encoded = status_list_json(array)
    assert encoded["bits"] == bits
    decoded = draft_decode(b64url_decode(encoded["lst"]), bits, size)
    expected = [0] * size
    for index, value in VECTORS[bits].items():
        expected[index] = value
    assert decoded == expected


def test_eight_bits_and_bulk_set():
    array = StatusArray(1000, 8)
    array.set_many(range(0, 1000, 7), 200)
    array.set(3, 255)
    decoded = draft_decode(array.compress(), 8, 1000)
    assert decoded[3] == 255 and decoded[7] == 200 and decoded[1] == 0
    assert sum(1 for v in decoded if v == 200) == len(range(0, 1000, 7))


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_random_statuses_match_the_draft_decoder(bits):
    rng = random.Random(bits)
    size = 5003  # not a multiple of any entries-per-byte
    values = [rng.randrange(1 << bits) for _ in range(size)]
    array = StatusArray(size, bits)
    for index, value in enumerate(values):
        array[index] = value
    assert draft_decode(array.compress(), bits, size) == values
    assert [array[i] for i in range(size)] == values
    assert [array.count(v) for v in range(1 << bits)] == [values.count(v) for v in range(1 << bits)]
    # set_many overwrites only what it names
    array.set_many([1, 2, 3], 0)
    values[1:4] = [0, 0, 0]
    assert draft_decode(array.compress(), bits, size) == values


def test_fill_keeps_padding_zero():
    array = StatusArray(10, 2)
    array.fill(Status.SUSPENDED)
    raw = zlib.decompress(array.compress())
    assert len(raw) == 3 and raw[2] == 0b1010  # entries 8 and 9; the two padding slots stay 0
    assert draft_decode(array.compress(), 2, 10) == [2] * 10


def test_size_one_million_at_one_percent():
    """Size comparison table (1M entries, 1 % revoked, 1 bit): 13.7 KB; with 2 bits it stays in the same range."""
    rng = random.Random(20)
    revoked = rng.sample(range(2**20), 2**20 // 100)
    one_bit = StatusArray(2**20, 1)
    one_bit.set_many(revoked, 1)
    two_bits = StatusArray(2**20, 2)
    two_bits.set_many(revoked, Status.INVALID)
    size_1 = len(one_bit.compress())
    size_2 = len(two_bits.compress())
    assert 12_500 <= size_1 <= 15_000, size_1
    assert size_2 <= 20_000, size_2
    assert sorted(i for i, v in enumerate(draft_decode(two_bits.compress(), 2, 2**20)) if v) == sorted(revoked)


def test_invalid_input_is_refused():
    with pytest.raises(StatusListError):
        StatusArray(10, 3)
    with pytest.raises(StatusListError):
        StatusArray(0, 2)
    array = StatusArray(10, 2)
    with pytest.raises(StatusListError):
        array.set(10, 1)
    with pytest.raises(StatusListError):
        array.set(-1, 1)
    with pytest.raises(StatusListError):
        array.set(0, 4)  # does not fit in 2 bits
    with pytest.raises(StatusListError):
        array.set_many([1, 99], 1)
    assert array.get(1) == 0  # nothing written when one index is bad
    with pytest.raises(StatusListError):
        decompress(b"not zlib", 2)
    with pytest.raises(StatusListError):
        decompress(zlib.compress(bytes(1000)), 2, max_bytes=100)  # decompression bomb guard
    with pytest.raises(StatusListError):
        decompress(zlib.compress(b"\x01") + b"junk", 2)
    with pytest.raises(StatusListError):
        parse_status_list_json({"bits": 2, "lst": "!!"})
    with pytest.raises(StatusListError):
        parse_status_list_json({"bits": True, "lst": "eNo"})
    with pytest.raises(FormatError):
        status_reference(-1, URI)
    with pytest.raises(FormatError):
        status_reference(1, "not a uri")


def test_json_and_cbor_structures_parse_back():
    array = StatusArray(64, 2)
    array.set(5, Status.SUSPENDED)
    assert parse_status_list_json(status_list_json(array)).get(5) == Status.SUSPENDED
    cbor_value = cbor2.loads(cbor2.dumps(status_list_cbor(array, aggregation_uri="https://idbb.test/agg")))
    assert isinstance(cbor_value["lst"], bytes) and cbor_value["aggregation_uri"] == "https://idbb.test/agg"
    assert parse_status_list_cbor(cbor_value).get(5) == Status.SUSPENDED
    assert status_reference(7, URI) == {"status_list": {"idx": 7, "uri": URI}}


def test_status_list_jwt_verified_with_pyjwt():
    array = StatusArray(2**16, 2)
    array.set(42, Status.INVALID)
    array.set(43, Status.SUSPENDED)
    token = sign_status_list_jwt(
        array, uri=URI, key=EC_JWK, alg="ES256", iat=1_800_000_000, exp=1_800_086_400, ttl=43_200, x5c=["MIIB"]
    )
    header = pyjwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": "sl-1", "typ": "statuslist+jwt", "x5c": ["MIIB"]}
    claims = pyjwt.decode(
        token, EC_PRIVATE.public_key(), algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["sub"] == URI and claims["iat"] == 1_800_000_000
    assert claims["exp"] == 1_800_086_400 and claims["ttl"] == 43_200
    assert claims["status_list"]["bits"] == 2
    decoded = draft_decode(b64url_decode(claims["status_list"]["lst"]), 2, 2**16)
    assert decoded[42] == 1 and decoded[43] == 2 and sum(decoded) == 3


def test_status_list_jwt_refuses_bad_times():
    array = StatusArray(8, 2)
    with pytest.raises(StatusListError):
        sign_status_list_jwt(array, uri=URI, key=EC_JWK, alg="ES256", iat=100, ttl=0)
    with pytest.raises(StatusListError):
        sign_status_list_jwt(array, uri=URI, key=EC_JWK, alg="ES256", iat=100, exp=50)


def verify_cose_sign1_es256(message: bytes, public_key: ec.EllipticCurvePublicKey) -> tuple[dict, dict, bytes]:
    """RFC 9052 §4.4 by hand: tag 18, Sig_structure ["Signature1", protected, h'', payload], r||s ES256."""
    item = cbor2.loads(message)
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18
    protected_bytes, unprotected, payload, signature = item.value
    to_verify = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    assert len(signature) == 64
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public_key.verify(der, to_verify, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    return cbor2.loads(protected_bytes), unprotected, payload


def test_status_list_cwt_verified_with_cbor2_and_cryptography():
    array = StatusArray(2**16, 2)
    array.set(9, Status.INVALID)
    cert = b"\x30\x82fake-der"
    token = sign_status_list_cwt(
        array, uri=URI, key=EC_PRIVATE, iat=1_800_000_000, exp=1_800_086_400, ttl=43_200, kid=b"sl-1", x5chain=[cert]
    )
    protected, unprotected, payload = verify_cose_sign1_es256(token, EC_PRIVATE.public_key())
    assert protected == {1: -7, 16: "application/statuslist+cwt"}
    assert unprotected == {4: b"sl-1", 33: cert}
    claims = cbor2.loads(payload)
    assert not isinstance(claims, cbor2.CBORTag)  # §5.2: MUST NOT carry the CWT tag
    assert claims[2] == URI and claims[6] == 1_800_000_000 and claims[4] == 1_800_086_400 and claims[65534] == 43_200
    status_list = claims[65533]
    assert status_list["bits"] == 2 and isinstance(status_list["lst"], bytes)
    decoded = draft_decode(status_list["lst"], 2, 2**16)
    assert decoded[9] == 1 and sum(decoded) == 1


def test_status_list_cwt_tampered_fails():
    token = bytearray(sign_status_list_cwt(StatusArray(8, 2), uri=URI, key=EC_PRIVATE, iat=1))
    token[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidSignature
        verify_cose_sign1_es256(bytes(token), EC_PRIVATE.public_key())


@pytest.mark.parametrize("change", ["set", "set_many", "fill"])
def test_jwt_and_cwt_carry_the_same_lst_and_a_change_after_compressing_is_published(change):
    """§4.2/§4.3: both forms carry the same ZLIB bytes (compressed once); a change made after a publication must
    reach the next one (no stale compressed bytes)."""
    array = StatusArray(2**14, 2)
    array.set(11, Status.INVALID)

    def both() -> tuple[bytes, bytes]:
        jwt_token = sign_status_list_jwt(array, uri=URI, key=EC_JWK, alg="ES256", iat=1_800_000_000)
        claims = pyjwt.decode(jwt_token, EC_PRIVATE.public_key(), algorithms=["ES256"], options={"verify_iat": False})
        cwt_token = sign_status_list_cwt(array, uri=URI, key=EC_PRIVATE, iat=1_800_000_000)
        _, _, payload = verify_cose_sign1_es256(cwt_token, EC_PRIVATE.public_key())
        return b64url_decode(claims["status_list"]["lst"]), cbor2.loads(payload)[65533]["lst"]

    jwt_lst, cwt_lst = both()
    assert jwt_lst == cwt_lst and draft_decode(jwt_lst, 2, 2**14)[11] == 1
    {
        "set": lambda: array.set(12, Status.SUSPENDED),
        "set_many": lambda: array.set_many([12], 2),
        "fill": lambda: array.fill(2),
    }[change]()
    jwt_lst, cwt_lst = both()
    assert jwt_lst == cwt_lst and draft_decode(jwt_lst, 2, 2**14)[12] == 2


def test_set_many_refuses_bad_indexes_before_writing():
    array = StatusArray(100, 2)
    for bad in ([5, 100], [5, -1], [5, True], [5, "6"]):
        with pytest.raises(StatusListError):
            array.set_many(bad, 1)  # type: ignore[list-item]
    with pytest.raises(StatusListError):
        array.set_many([5], 4)
    assert array.count(0) == 100
    array.set_many(iter([0, 99]), 2)  # any iterable
    assert array.get(0) == 2 and array.get(99) == 2 and array.count(2) == 2
