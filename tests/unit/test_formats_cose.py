"""app/formats/cose: COSE_Sign1 and COSE_Key made with cryptography, checked by pycose (an independent COSE
implementation; its ECDSA runs on the pure-Python ecdsa package, which is fine in a test), and the reverse."""

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from pycose.algorithms import EdDSA, Es256, Es384
from pycose.headers import KID, Algorithm
from pycose.keys import CoseKey, EC2Key, OKPKey
from pycose.keys.curves import P256, P384, Ed25519
from pycose.messages import Sign1Message

from app.formats import cose
from app.formats.errors import CoseError


def pycose_key(private):
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return OKPKey(
            crv=Ed25519,
            x=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            d=private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        )
    numbers = private.private_numbers()
    size = (private.curve.key_size + 7) // 8
    return EC2Key(
        crv={256: P256, 384: P384}[private.curve.key_size],
        x=numbers.public_numbers.x.to_bytes(size, "big"),
        y=numbers.public_numbers.y.to_bytes(size, "big"),
        d=numbers.private_value.to_bytes(size, "big"),
    )


def pycose_decode(encoded):
    """pycose 1.1's Sign1Message.decode wants a list, but cbor2 6 decodes a tag's array as a tuple (and maps as
    frozendict): decode with cbor2 and hand pycose the thawed array, as pymdoccbor does."""
    item = cbor2.loads(encoded)
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18
    protected, unprotected, payload, signature = item.value
    return Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)


KEYS = [
    (ec.generate_private_key(ec.SECP256R1()), -7, Es256),
    (ec.generate_private_key(ec.SECP384R1()), -35, Es384),
    (ed25519.Ed25519PrivateKey.generate(), -8, EdDSA),
]


@pytest.mark.parametrize(("private", "alg", "pycose_alg"), KEYS, ids=["ES256", "ES384", "EdDSA"])
def test_our_sign1_verified_by_pycose(private, alg, pycose_alg):
    message = cose.sign1(b"payload", private, protected={16: "application/test"}, unprotected={4: b"kid"})
    decoded = pycose_decode(message)
    decoded.key = pycose_key(private)
    assert decoded.verify_signature()
    assert decoded.phdr[Algorithm] is pycose_alg and decoded.uhdr[KID] == b"kid" and decoded.payload == b"payload"
    tampered = cbor2.loads(message)
    forged = pycose_decode(cbor2.dumps(cbor2.CBORTag(18, [*tampered.value[:2], b"other", tampered.value[3]])))
    forged.key = pycose_key(private)
    assert not forged.verify_signature()


@pytest.mark.parametrize(("private", "alg", "pycose_alg"), KEYS, ids=["ES256", "ES384", "EdDSA"])
def test_pycose_sign1_verified_by_ours(private, alg, pycose_alg):
    message = Sign1Message(phdr={Algorithm: pycose_alg}, uhdr={KID: b"k"}, payload=b"from pycose")
    message.key = pycose_key(private)
    encoded = message.encode()  # tagged COSE_Sign1
    verified = cose.verify_sign1(encoded, private.public_key())
    assert verified.payload == b"from pycose" and verified.protected == {1: alg}
    other = (
        ed25519.Ed25519PrivateKey.generate()
        if isinstance(private, ed25519.Ed25519PrivateKey)
        else ec.generate_private_key(private.curve)
    )
    with pytest.raises(CoseError):
        cose.verify_sign1(encoded, other.public_key())


def test_alg_must_fit_the_key_and_untagged_needs_leave_to_be_read():
    p256, p384 = KEYS[0][0], KEYS[1][0]
    message = cose.sign1(b"x", p256)
    with pytest.raises(CoseError):  # an ES256 message is not checked with a P-384 key (no algorithm confusion)
        cose.verify_sign1(message, p384.public_key())
    with pytest.raises(CoseError):
        cose.sign1(b"x", p256, protected={1: -35})
    untagged = cbor2.dumps(list(cbor2.loads(message).value))
    with pytest.raises(CoseError):
        cose.verify_sign1(untagged, p256.public_key())
    assert cose.verify_sign1(untagged, p256.public_key(), require_tag=False).payload == b"x"
    with pytest.raises(CoseError):  # a label in both buckets
        cose.parse_sign1(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {1: -7}, b"", b""])))


@pytest.mark.parametrize("private", [k for k, _, _ in KEYS], ids=["P-256", "P-384", "Ed25519"])
def test_cose_key_read_by_pycose_and_back(private):
    mapping = cose.cose_key(private.public_key())
    parsed = CoseKey.from_dict(mapping)
    assert parsed.x == mapping[-2]
    assert cose.public_key_from_cose_key(mapping) == private.public_key()
    with pytest.raises(CoseError):
        cose.public_key_from_cose_key({**mapping, -4: b"\x01" * 32})  # private
    with pytest.raises(CoseError):
        cose.public_key_from_cose_key({**mapping, -2: b"\x00"})
