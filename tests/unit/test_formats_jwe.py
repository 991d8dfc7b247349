"""app/formats/jwe: compact JWE made by the code under test and independently by joserfc, then decrypted."""

import base64
import json
import warnings

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwe as joserfc_jwe
from joserfc.jwk import ECKey, OctKey, RSAKey
from jwcrypto import jwk

from app.formats import FormatError
from app.formats.jwe import decrypt_compact, encrypt_compact

PLAINTEXT = b'{"biometricData":[{"image":"SU1BR0U="}]}' + bytes(range(256))

RSA_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_PRIVATE = ec.generate_private_key(ec.SECP256R1())


def jwcrypto_key(private, kid=None):
    key = jwk.JWK.from_pyca(private)
    if kid:
        key = jwk.JWK(**dict(key.export(as_dict=True), kid=kid))
    return key


RSA_JWK = jwcrypto_key(RSA_PRIVATE, "enc-rsa")
EC_JWK = jwcrypto_key(EC_PRIVATE, "enc-ec")
RSA_PUBLIC = jwk.JWK(**RSA_JWK.export_public(as_dict=True))
EC_PUBLIC = jwk.JWK(**EC_JWK.export_public(as_dict=True))
JOSERFC_RSA = RSAKey.import_key(RSA_PRIVATE)
JOSERFC_EC = ECKey.import_key(EC_PRIVATE)

CASES = [
    ("RSA-OAEP-256", "A256GCM", RSA_PUBLIC, RSA_JWK, JOSERFC_RSA),
    ("RSA-OAEP-256", "A128CBC-HS256", RSA_PUBLIC, RSA_JWK, JOSERFC_RSA),
    ("ECDH-ES", "A256GCM", EC_PUBLIC, EC_JWK, JOSERFC_EC),
    ("ECDH-ES", "A128CBC-HS256", EC_PUBLIC, EC_JWK, JOSERFC_EC),
    ("ECDH-ES+A256KW", "A256GCM", EC_PUBLIC, EC_JWK, JOSERFC_EC),
    ("ECDH-ES+A256KW", "A128CBC-HS256", EC_PUBLIC, EC_JWK, JOSERFC_EC),
]


def header_of(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def joserfc_encrypt(alg: str, enc: str, key, plaintext: bytes = PLAINTEXT) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about deprecated algorithms used on purpose here
        return joserfc_jwe.encrypt_compact({"alg": alg, "enc": enc}, plaintext, key, algorithms=[alg, enc])


@pytest.mark.parametrize(("alg", "enc", "public", "private", "_"), CASES)
def test_encrypt_compact_round_trip(alg, enc, public, private, _):
    token = encrypt_compact(PLAINTEXT, public, alg, enc)
    assert token.count(".") == 4
    assert header_of(token)["alg"] == alg and header_of(token)["enc"] == enc
    assert b"SU1BR0U" not in token.encode() and b64(PLAINTEXT[:12]) not in token
    assert decrypt_compact(token, private) == PLAINTEXT


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(("alg", "enc", "public", "private", "joserfc_key"), CASES)
def test_encrypt_compact_decrypts_with_joserfc(alg, enc, public, private, joserfc_key):
    token = encrypt_compact(PLAINTEXT, public, alg, enc)
    assert joserfc_jwe.decrypt_compact(token, joserfc_key, algorithms=[alg, enc]).plaintext == PLAINTEXT


@pytest.mark.parametrize(("alg", "enc", "public", "private", "joserfc_key"), CASES)
def test_decrypt_tokens_made_by_joserfc(alg, enc, public, private, joserfc_key):
    token = joserfc_encrypt(alg, enc, joserfc_key)
    assert decrypt_compact(token, private) == PLAINTEXT


def test_kid_goes_into_the_header():
    assert header_of(encrypt_compact(b"x", RSA_PUBLIC, "RSA-OAEP-256", "A256GCM"))["kid"] == "enc-rsa"
    no_kid = jwk.JWK(**{k: v for k, v in RSA_PUBLIC.export_public(as_dict=True).items() if k != "kid"})
    assert "kid" not in header_of(encrypt_compact(b"x", no_kid, "RSA-OAEP-256", "A256GCM"))


def test_empty_plaintext_is_refused():
    # jwcrypto 1.6 cannot decrypt an empty plaintext (it reads b"" as "no recipient matched"), so both sides refuse it
    with pytest.raises(FormatError):
        encrypt_compact(b"", EC_PUBLIC, "ECDH-ES", "A256GCM")
    with pytest.raises(FormatError):
        decrypt_compact(joserfc_encrypt("ECDH-ES", "A256GCM", JOSERFC_EC, b""), EC_JWK)
    assert decrypt_compact(encrypt_compact(b"\x00", EC_PUBLIC, "ECDH-ES", "A256GCM"), EC_JWK) == b"\x00"


def test_rsa1_5_is_refused_even_when_listed():
    token = joserfc_encrypt("RSA1_5", "A256GCM", JOSERFC_RSA)
    assert header_of(token)["alg"] == "RSA1_5"
    with pytest.raises(FormatError):
        decrypt_compact(token, RSA_JWK)
    with pytest.raises(FormatError):
        decrypt_compact(token, RSA_JWK, algs=("RSA1_5", "RSA-OAEP-256"))
    with pytest.raises(FormatError):
        encrypt_compact(PLAINTEXT, RSA_PUBLIC, "RSA1_5", "A256GCM")


def test_dir_is_refused():
    secret = OctKey.import_key(bytes(range(32)))
    token = joserfc_encrypt("dir", "A256GCM", secret)
    assert header_of(token)["alg"] == "dir"
    oct_jwk = jwk.JWK(kty="oct", k=b64(bytes(range(32))))
    with pytest.raises(FormatError):
        decrypt_compact(token, oct_jwk)
    with pytest.raises(FormatError):
        decrypt_compact(token, oct_jwk, algs=("dir",), encs=("A256GCM",))
    with pytest.raises(FormatError):
        encrypt_compact(PLAINTEXT, oct_jwk, "dir", "A256GCM")


def test_algorithms_outside_the_allow_lists_are_refused():
    token = joserfc_encrypt("RSA-OAEP", "A256GCM", JOSERFC_RSA)
    with pytest.raises(FormatError):
        decrypt_compact(token, RSA_JWK)  # RSA-OAEP is not in the default list
    assert decrypt_compact(token, RSA_JWK, algs=("RSA-OAEP",)) == PLAINTEXT
    token = joserfc_encrypt("RSA-OAEP-256", "A192GCM", JOSERFC_RSA)
    with pytest.raises(FormatError, match="content encryption algorithm is not accepted"):
        decrypt_compact(token, RSA_JWK)  # A192GCM is not in the default list
    assert decrypt_compact(token, RSA_JWK, encs=("A192GCM",)) == PLAINTEXT
    token = joserfc_encrypt("RSA-OAEP-256", "A256GCM", JOSERFC_RSA)
    with pytest.raises(FormatError):
        decrypt_compact(token, RSA_JWK, algs=("ECDH-ES",))
    with pytest.raises(FormatError, match="content encryption algorithm is not accepted"):
        decrypt_compact(token, RSA_JWK, encs=("A128CBC-HS256",))


def test_compressed_jwe_is_refused():
    token = joserfc_jwe.encrypt_compact(
        {"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF"},
        PLAINTEXT,
        JOSERFC_RSA,
        algorithms=["RSA-OAEP-256", "A256GCM", "DEF"],
    )
    assert header_of(token)["zip"] == "DEF"
    with pytest.raises(FormatError):
        decrypt_compact(token, RSA_JWK)


@pytest.mark.parametrize("part", [1, 2, 3, 4])
def test_tampered_token_is_refused(part):
    token = encrypt_compact(PLAINTEXT, RSA_PUBLIC, "RSA-OAEP-256", "A256GCM")
    parts = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + "=="))
    raw[len(raw) // 2] ^= 0x01
    parts[part] = b64(bytes(raw))
    with pytest.raises(FormatError):
        decrypt_compact(".".join(parts), RSA_JWK)


@pytest.mark.parametrize(("alg", "enc", "public", "private", "joserfc_key"), CASES)
def test_tampered_ciphertext_is_refused_for_every_algorithm(alg, enc, public, private, joserfc_key):
    token = joserfc_encrypt(alg, enc, joserfc_key)
    parts = token.split(".")
    ciphertext = bytearray(base64.urlsafe_b64decode(parts[3] + "=="))
    ciphertext[0] ^= 0x80
    parts[3] = b64(bytes(ciphertext))
    with pytest.raises(FormatError):
        decrypt_compact(".".join(parts), private)


def test_tampered_header_is_refused():
    token = encrypt_compact(PLAINTEXT, EC_PUBLIC, "ECDH-ES", "A256GCM")
    parts = token.split(".")
    header = header_of(token)
    header["kid"] = "other"
    parts[0] = b64(json.dumps(header).encode())  # the header is the AAD: changing it breaks the tag
    with pytest.raises(FormatError):
        decrypt_compact(".".join(parts), EC_JWK)


def test_wrong_key_is_refused():
    other_rsa = jwk.JWK.generate(kty="RSA", size=2048)
    other_ec = jwk.JWK.generate(kty="EC", crv="P-256")
    with pytest.raises(FormatError):
        decrypt_compact(encrypt_compact(PLAINTEXT, RSA_PUBLIC, "RSA-OAEP-256", "A256GCM"), other_rsa)
    with pytest.raises(FormatError):
        decrypt_compact(encrypt_compact(PLAINTEXT, EC_PUBLIC, "ECDH-ES", "A256GCM"), other_ec)
    with pytest.raises(FormatError):
        decrypt_compact(encrypt_compact(PLAINTEXT, EC_PUBLIC, "ECDH-ES", "A256GCM"), RSA_JWK)
    with pytest.raises(FormatError):
        decrypt_compact(encrypt_compact(PLAINTEXT, RSA_PUBLIC, "RSA-OAEP-256", "A256GCM"), RSA_PUBLIC)


@pytest.mark.parametrize(
    "token",
    ["", "a.b.c", "a.b.c.d.e.f", "....", "bm90IGpzb24.a.b.c.d", "WzFd.a.b.c.d", None, b"a.b.c.d.e"],
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(FormatError):
        decrypt_compact(token, RSA_JWK)  # type: ignore[arg-type]


def test_signed_jws_is_not_a_jwe():
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    from jwcrypto import jws

    signed = jws.JWS(b"payload")
    signed.add_signature(key, alg="ES256", protected=json.dumps({"alg": "ES256"}))
    with pytest.raises(FormatError):
        decrypt_compact(signed.serialize(compact=True), RSA_JWK)


@pytest.mark.parametrize(
    ("alg", "enc"),
    [("RSA-OAEP-256", "A999GCM"), ("PBES2-HS256+A128KW", "A256GCM"), ("none", "A256GCM"), ("RSA-OAEP-256", "none")],
)
def test_encrypt_refuses_unsupported_algorithms(alg, enc):
    with pytest.raises(FormatError):
        encrypt_compact(PLAINTEXT, RSA_PUBLIC, alg, enc)


def test_encrypt_refuses_a_key_of_the_wrong_type():
    with pytest.raises(FormatError):
        encrypt_compact(PLAINTEXT, EC_PUBLIC, "RSA-OAEP-256", "A256GCM")
