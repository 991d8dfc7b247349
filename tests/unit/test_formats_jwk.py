"""app/formats/jwk.py: importing client public signing keys and RFC 7638 thumbprints.

Both importers take every test: ``parse_public_signing_jwk`` (a jwcrypto JWK, for registered client keys) and
``import_public_signing_jwk`` (``cryptography`` alone, for a wallet's proof key); they accept and refuse alike.

Keys are made with ``cryptography`` and turned into JWKs with PyJWT; thumbprints are computed here
with hashlib + json. Nothing on the expected side goes through jwcrypto, which the code under test
uses, so a bug shared between the two cannot pass.
"""

import base64
import hashlib
import json

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from app.formats import FormatError
from app.formats.jose import PublicJwk
from app.formats.jwk import (
    import_public_signing_jwk,
    parse_public_signing_jwk,
    public_dict,
    supported_algs,
    thumbprint,
)

# RFC 7638 §3.1: the worked example and the thumbprint the RFC publishes for it.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
    "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs"
    "8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G"
    "_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_JWK = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

REQUIRED_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc7638(jwk_dict: dict) -> str:
    """RFC 7638 §3: SHA-256 over the required members, lexicographic order, no whitespace."""
    required = {name: jwk_dict[name] for name in REQUIRED_MEMBERS[jwk_dict["kty"]]}
    text = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b64url(hashlib.sha256(text.encode("utf-8")).digest())


# --- keys, generated once per module (RSA generation is slow) ---------------------------------


@pytest.fixture(scope="module")
def rsa_private():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_private():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ed_private():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def public_jwks(rsa_private, ec_private, ed_private):
    return {
        "RSA": RSAAlgorithm.to_jwk(rsa_private.public_key(), as_dict=True),
        "EC": ECAlgorithm.to_jwk(ec_private.public_key(), as_dict=True),
        "OKP": OKPAlgorithm.to_jwk(ed_private.public_key(), as_dict=True),
    }


@pytest.fixture(scope="module")
def private_jwks(rsa_private, ec_private, ed_private):
    return {
        "RSA": RSAAlgorithm.to_jwk(rsa_private, as_dict=True),
        "EC": ECAlgorithm.to_jwk(ec_private, as_dict=True),
        "OKP": OKPAlgorithm.to_jwk(ed_private, as_dict=True),
    }


KTYS = ["RSA", "EC", "OKP"]


@pytest.fixture(params=[parse_public_signing_jwk, import_public_signing_jwk], ids=["jwcrypto", "pyca"])
def importer(request):
    return request.param


def exported(key) -> dict:
    """The public members of what either importer returned."""
    return dict(key.members) if isinstance(key, PublicJwk) else public_dict(key)


def is_private(key) -> bool:
    return False if isinstance(key, PublicJwk) else key.has_private


def _encoded_with_alphabet_specials(jwk_dict: dict, encoder, specials: str) -> str:
    """base64 of the JSON text that really contains the alphabet's 62/63 characters.

    ASCII text only yields the 6-bit values 62/63 from the bytes '>' and '?' at the last position of a
    3-byte group, so an optional ``kid`` carrying them is added and the text is shifted until they align;
    otherwise base64 and base64url of a JWK are usually the same string and prove nothing.
    """
    for pad in range(3):
        text = " " * pad + json.dumps(dict(jwk_dict, kid="k>?>?>?"))
        encoded = encoder(text.encode("utf-8")).decode("ascii")
        if any(char in encoded for char in specials):
            return encoded
    raise AssertionError(f"could not build an encoded input containing {specials!r}")


def _standard_b64_with_special_chars(jwk_dict: dict) -> str:
    return _encoded_with_alphabet_specials(jwk_dict, base64.b64encode, "+/")


def _b64url_with_special_chars(jwk_dict: dict) -> str:
    return _encoded_with_alphabet_specials(jwk_dict, base64.urlsafe_b64encode, "-_").rstrip("=")


# --- accepted inputs --------------------------------------------------------------------------


@pytest.mark.parametrize("kty", KTYS)
def test_accepts_a_dict(public_jwks, kty, importer):
    given = public_jwks[kty]
    key = importer(given)
    assert not is_private(key)
    members = exported(key)
    for member in REQUIRED_MEMBERS[kty]:
        assert members[member] == given[member]
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & members.keys()


@pytest.mark.parametrize("kty", KTYS)
@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda d: json.dumps(d), id="json-string"),
        pytest.param(lambda d: "  \n" + json.dumps(d, indent=2) + "\n ", id="json-string-whitespace"),
        pytest.param(lambda d: b64url(json.dumps(d).encode()), id="base64url-nopad"),
        pytest.param(lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode(), id="base64url-padded"),
        pytest.param(lambda d: base64.b64encode(json.dumps(d).encode()).decode(), id="base64-standard"),
        pytest.param(_standard_b64_with_special_chars, id="base64-standard-with-plus-slash"),
        pytest.param(_b64url_with_special_chars, id="base64url-with-dash-underscore"),
    ],
)
def test_accepts_encoded_forms(public_jwks, kty, encode, importer):
    given = public_jwks[kty]
    text = encode(given)
    assert isinstance(text, str)
    key = importer(text)
    assert not is_private(key)
    members = exported(key)
    assert {m: members[m] for m in REQUIRED_MEMBERS[kty]} == {m: given[m] for m in REQUIRED_MEMBERS[kty]}
    # every encoding of the same key is the same key
    assert thumbprint(key) == rfc7638(given)


@pytest.mark.parametrize(
    ("kty", "alg"),
    [("RSA", "RS256"), ("RSA", "PS256"), ("RSA", "RS512"), ("EC", "ES256"), ("OKP", "EdDSA")],
)
def test_accepts_matching_alg_and_use_sig(public_jwks, kty, alg, importer):
    key = importer(dict(public_jwks[kty], alg=alg, use="sig", kid="client-key-1"))
    assert alg in supported_algs(key)
    assert key.get("kid") == "client-key-1"


def test_supported_algs_by_key_type(public_jwks, importer):
    assert supported_algs(importer(public_jwks["EC"])) == ("ES256",)
    assert supported_algs(importer(public_jwks["OKP"])) == ("EdDSA",)
    rsa_algs = supported_algs(importer(public_jwks["RSA"]))
    assert "RS256" in rsa_algs and "PS256" in rsa_algs
    assert not {"ES256", "EdDSA", "HS256", "none"} & set(rsa_algs)


def test_accepts_exactly_2048_bit_rsa(public_jwks, importer):
    assert len(b64url_decode(public_jwks["RSA"]["n"])) * 8 == 2048
    importer(public_jwks["RSA"])


@pytest.mark.parametrize(("kty", "alg"), [("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")])
def test_imported_key_verifies_a_pyjwt_signature(rsa_private, ec_private, ed_private, public_jwks, kty, alg, importer):
    """The imported key is the client's key: it verifies what the client's private key signed."""
    from jwcrypto import jws

    private = {"RSA": rsa_private, "EC": ec_private, "OKP": ed_private}[kty]
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = pyjwt.encode({"sub": "client"}, pem, algorithm=alg)
    key = importer(json.dumps(public_jwks[kty]))
    if isinstance(key, PublicJwk):  # the cryptography key itself, checked by PyJWT
        assert pyjwt.decode(token, key.public_key, algorithms=[alg]) == {"sub": "client"}
        return
    obj = jws.JWS()
    obj.deserialize(token)
    obj.verify(key, alg=alg)
    assert json.loads(obj.payload) == {"sub": "client"}


@pytest.mark.parametrize("kty", KTYS)
@pytest.mark.parametrize("ops", [["sign"], ["encrypt", "wrapKey"], "sign"])
def test_refuses_key_ops_without_verify(public_jwks, kty, ops, importer):
    """RFC 7517 §4.3: a key whose key_ops do not include verify must not verify a signature."""
    with pytest.raises(FormatError):
        importer(dict(public_jwks[kty], key_ops=ops))
    assert importer(dict(public_jwks[kty], key_ops=["verify"])) is not None


@pytest.mark.parametrize("member", ["x", "y"])
def test_an_arriving_ec_coordinate_must_be_the_full_size_of_its_curve(public_jwks, member):
    """RFC 7518 §6.2.1.2-3: x and y MUST be the full size of a coordinate for the curve (32 octets for P-256): a
    proof or DPoP key one octet longer (a leading zero) or shorter is refused."""
    raw = b64url_decode(public_jwks["EC"][member])
    for wrong in (raw[1:], b"\x00" + raw):
        with pytest.raises(FormatError):
            import_public_signing_jwk(dict(public_jwks["EC"], **{member: b64url(wrong)}))


def test_a_stored_key_with_a_leading_zero_octet_is_still_read(public_jwks):
    """A key accepted before the full-size check is re-read as it was: registered client keys (checked on every
    use; refusing one now would lock its client out) and a deferred request's kept keys (``full_size=False``)."""
    longer = dict(public_jwks["EC"], x=b64url(b"\x00" + b64url_decode(public_jwks["EC"]["x"])))
    assert parse_public_signing_jwk(longer) is not None
    kept = import_public_signing_jwk(longer, full_size=False)
    assert kept.public_key.public_numbers() == import_public_signing_jwk(public_jwks["EC"]).public_key.public_numbers()


@pytest.mark.parametrize("kty", [[], {}, 3, None])
def test_a_kty_that_is_not_a_string_is_refused(kty, importer):
    with pytest.raises(FormatError):
        importer({"kty": kty, "n": "AQAB", "e": "AQAB"})


@pytest.mark.parametrize("ops", [["verify", "verify"], ["verify", 3], [["verify"]]])
def test_key_ops_must_be_distinct_strings(public_jwks, ops):
    """RFC 7517 §4.3: key_ops values are strings and MUST NOT be duplicated."""
    with pytest.raises(FormatError):
        import_public_signing_jwk(dict(public_jwks["EC"], key_ops=ops))


@pytest.mark.parametrize("value", [None, 7, ["a"], {"a": 1}])
def test_refuses_a_coordinate_that_is_not_a_string(public_jwks, value, importer):
    with pytest.raises(FormatError):
        importer(dict(public_jwks["EC"], x=value))


def test_the_imported_key_keeps_registered_members_and_drops_others(public_jwks):
    """What a credential's cnf carries: the key and its registered parameters (RFC 7517 §4), nothing a wallet
    added beside them, nothing private."""
    given = dict(public_jwks["EC"], kid="w1", alg="ES256", use="sig", note="free text", ext=True)
    key = import_public_signing_jwk(given)
    assert dict(key.members) == {m: given[m] for m in ("kty", "crv", "x", "y", "kid", "alg", "use")}
    expected = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(given["x"]), "big"), int.from_bytes(b64url_decode(given["y"]), "big"), ec.SECP256R1()
    )
    assert key.public_key.public_numbers() == expected


# --- refused inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("kty", KTYS)
def test_refuses_private_keys(private_jwks, kty, importer):
    with pytest.raises(FormatError):
        importer(private_jwks[kty])
    with pytest.raises(FormatError):
        importer(json.dumps(private_jwks[kty]))
    with pytest.raises(FormatError):
        importer(b64url(json.dumps(private_jwks[kty]).encode()))


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_refuses_any_private_member_on_a_public_key(public_jwks, member, importer):
    value = [{"r": "AQAB", "d": "AQAB", "t": "AQAB"}] if member == "oth" else b64url(b"\x01" * 32)
    with pytest.raises(FormatError):
        importer(dict(public_jwks["RSA"], **{member: value}))


@pytest.mark.parametrize("kty", ["EC", "OKP"])
def test_refuses_d_on_ec_and_okp(public_jwks, kty, importer):
    with pytest.raises(FormatError):
        importer(dict(public_jwks[kty], d=b64url(b"\x07" * 32)))


@pytest.mark.parametrize(
    "jwk_dict",
    [
        {"kty": "oct", "k": b64url(b"0123456789abcdef0123456789abcdef")},
        {"kty": "oct", "k": b64url(b"0123456789abcdef0123456789abcdef"), "alg": "HS256", "use": "sig"},
    ],
)
def test_refuses_symmetric_keys(jwk_dict, importer):
    with pytest.raises(FormatError):
        importer(jwk_dict)
    with pytest.raises(FormatError):
        importer(json.dumps(jwk_dict))


@pytest.mark.parametrize("bits", [1024, 2047])
def test_refuses_rsa_under_2048_bits(bits, importer):
    small = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    jwk_dict = RSAAlgorithm.to_jwk(small.public_key(), as_dict=True)
    with pytest.raises(FormatError):
        importer(jwk_dict)


def test_refuses_x25519_okp_key(importer):
    public = x25519.X25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    with pytest.raises(FormatError):
        importer({"kty": "OKP", "crv": "X25519", "x": b64url(raw)})


def test_refuses_unsupported_ec_curve(importer):
    public = ec.generate_private_key(ec.SECP256K1()).public_key()
    jwk_dict = ECAlgorithm.to_jwk(public, as_dict=True)
    assert jwk_dict["crv"] == "secp256k1"
    with pytest.raises(FormatError):
        importer(jwk_dict)


@pytest.mark.parametrize("kty", KTYS)
@pytest.mark.parametrize("use", ["enc", "", "SIG"])
def test_refuses_use_other_than_sig(public_jwks, kty, use, importer):
    with pytest.raises(FormatError):
        importer(dict(public_jwks[kty], use=use))


@pytest.mark.parametrize(
    ("kty", "alg"),
    [
        ("RSA", "ES256"),
        ("RSA", "HS256"),
        ("RSA", "none"),
        ("RSA", "RSA-OAEP"),
        ("EC", "ES384"),
        ("EC", "RS256"),
        ("EC", "EdDSA"),
        ("OKP", "ES256"),
        ("OKP", "RS256"),
    ],
)
def test_refuses_mismatched_alg(public_jwks, kty, alg, importer):
    with pytest.raises(FormatError):
        importer(dict(public_jwks[kty], alg=alg))


def test_refuses_p384_key_labelled_es256(importer):
    public = ec.generate_private_key(ec.SECP384R1()).public_key()
    jwk_dict = ECAlgorithm.to_jwk(public, as_dict=True)
    assert importer(dict(jwk_dict, alg="ES384")) is not None
    with pytest.raises(FormatError):
        importer(dict(jwk_dict, alg="ES256"))


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "not a key",
        "!!!!",
        "{not json",
        '{"kty": "RSA",',
        "null",
        "42",
        '"a string"',
        None,
        42,
        3.5,
        b'{"kty":"EC"}',
        ["kty", "EC"],
    ],
)
def test_refuses_junk(junk, importer):
    with pytest.raises(FormatError):
        importer(junk)


@pytest.mark.parametrize(
    "payload",
    [b"hello world, not json", b"\xff\xfe\xfd binary", b"{this is not json either}", b"kty=RSA&n=abc"],
)
def test_refuses_base64_of_non_json(payload, importer):
    for encoded in (b64url(payload), base64.b64encode(payload).decode("ascii")):
        with pytest.raises(FormatError):
            importer(encoded)


def test_refuses_json_arrays(public_jwks, importer):
    array_text = json.dumps([public_jwks["EC"]])
    for given in (
        array_text,
        b64url(array_text.encode()),
        base64.b64encode(array_text.encode()).decode(),
        "[]",
        json.dumps({"keys": [public_jwks["EC"]]}),
    ):
        with pytest.raises(FormatError):
            importer(given)


@pytest.mark.parametrize(
    "jwk_dict",
    [
        {"kty": "RSA", "e": "AQAB"},
        {"kty": "EC", "crv": "P-256", "x": b64url(b"\x01" * 32)},
        {"kty": "OKP", "crv": "Ed25519"},
        {"n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "n": "!!!", "e": "AQAB"},
    ],
)
def test_refuses_incomplete_or_malformed_keys(jwk_dict, importer):
    with pytest.raises(FormatError):
        importer(jwk_dict)


def test_refuses_ec_point_not_on_curve(public_jwks, importer):
    good = public_jwks["EC"]
    y = bytearray(b64url_decode(good["y"]))
    y[-1] ^= 0x01
    off_curve = dict(good, y=b64url(bytes(y)))
    # Independent check that the point really is off the curve.
    with pytest.raises(ValueError):
        x = int.from_bytes(b64url_decode(off_curve["x"]), "big")
        ec.EllipticCurvePublicNumbers(x, int.from_bytes(bytes(y), "big"), ec.SECP256R1()).public_key()
    with pytest.raises(FormatError):
        importer(off_curve)


# --- thumbprints ------------------------------------------------------------------------------


def test_thumbprint_rfc7638_example(importer):
    assert rfc7638(RFC7638_JWK) == RFC7638_THUMBPRINT  # the helper itself against the RFC's value
    assert thumbprint(importer(RFC7638_JWK)) == RFC7638_THUMBPRINT


@pytest.mark.parametrize("kty", KTYS)
def test_thumbprint_matches_independent_computation(public_jwks, kty, importer):
    given = public_jwks[kty]
    expected = rfc7638(given)
    key = importer(given)
    assert thumbprint(key) == expected
    assert len(expected) == 43 and "=" not in expected
    # optional members (kid, use, alg) do not change the thumbprint (RFC 7638 §3.2)
    alg = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}[kty]
    decorated = importer(dict(given, kid="other", use="sig", alg=alg))
    assert thumbprint(decorated) == expected


def test_thumbprints_differ_between_keys(public_jwks, importer):
    prints = {thumbprint(importer(public_jwks[kty])) for kty in KTYS}
    assert len(prints) == 3
