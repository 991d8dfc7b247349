"""app/formats: AEAD sealing, envelope time format, canonical JSON, JOSE helpers and X.509.

Expected values are computed here with the standard library, ``cryptography`` and PyJWT, not with the
helpers under test.
"""

import base64
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta, timezone

import jwt as pyjwt
import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID
from jwcrypto import jwk

from app.formats import FormatError
from app.formats.aead import open_sealed, seal
from app.formats.canonical import canonical_json
from app.formats.jose import check_time_claims, peek_header, sign_jwt, verify_jwt
from app.formats.timefmt import format_response_time, parse_request_time
from app.formats.x509 import self_signed_certificate, x5c_entry, x5t_s256


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# === aead =====================================================================================

KEY = bytes(range(32))
AD = b"kid:2026-01-key"


def test_aead_round_trip():
    for plaintext in (b"", b"x", b"private key bytes" * 100):
        assert open_sealed(KEY, seal(KEY, plaintext, AD), AD) == plaintext
    assert b"private key bytes" not in seal(KEY, b"private key bytes" * 100, AD)  # it is encrypted


def test_aead_layout_is_version_nonce_ciphertext_tag():
    sealed = seal(KEY, b"secret", AD)
    assert sealed[:1] == b"\x01"
    assert len(sealed) == 1 + 12 + len(b"secret") + 16


def test_aead_two_seals_of_the_same_plaintext_differ():
    first, second = seal(KEY, b"same", AD), seal(KEY, b"same", AD)
    assert first != second
    assert first[1:13] != second[1:13]  # fresh nonce each time
    assert open_sealed(KEY, first, AD) == open_sealed(KEY, second, AD) == b"same"


def test_aead_wrong_key():
    sealed = seal(KEY, b"secret", AD)
    with pytest.raises(FormatError):
        open_sealed(os.urandom(32), sealed, AD)


def test_aead_wrong_associated_data():
    sealed = seal(KEY, b"secret", AD)
    for other in (b"kid:other", b"", AD + b"\x00"):
        with pytest.raises(FormatError):
            open_sealed(KEY, sealed, other)


def test_aead_any_flipped_byte_is_refused():
    sealed = seal(KEY, b"sixteen byte msg", AD)
    for index in range(len(sealed)):  # version byte, nonce, ciphertext and tag alike
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(FormatError):
            open_sealed(KEY, bytes(tampered), AD)


def test_aead_truncated_input_is_refused():
    sealed = seal(KEY, b"secret", AD)
    for length in (0, 1, 12, 13, 28, len(sealed) - 1):
        with pytest.raises(FormatError):
            open_sealed(KEY, sealed[:length], AD)


@pytest.mark.parametrize("version", [b"\x00", b"\x02", b"\xff"])
def test_aead_wrong_version_byte(version):
    sealed = seal(KEY, b"secret", AD)
    with pytest.raises(FormatError):
        open_sealed(KEY, version + sealed[1:], AD)


@pytest.mark.parametrize("bad_key", [b"", b"k" * 16, b"k" * 31, b"k" * 33])
def test_aead_key_must_be_32_bytes(bad_key):
    with pytest.raises(FormatError):
        seal(bad_key, b"secret", AD)
    with pytest.raises(FormatError):
        open_sealed(bad_key, seal(KEY, b"secret", AD), AD)


# === timefmt ==================================================================================


def test_parse_request_time_accepts_the_envelope_shape():
    assert parse_request_time("2026-01-01T10:00:00.000Z") == datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
    parsed = parse_request_time("2024-02-29T23:59:59.123Z")
    assert parsed == datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T10:00:00Z",  # no millis
        "2026-01-01T10:00:00.000+00:00",  # offset instead of Z
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T10:00:00.000000Z",  # 6-digit fraction
        "2026-01-01T10:00:00.0Z",
        "2026-01-01T10:00:00.000",  # no zone
        "2026-01-01T10:00:00.000z",
        "2026-01-01 10:00:00.000Z",
        " 2026-01-01T10:00:00.000Z",
        "2026-01-01T10:00:00.000Z\n",
        "2026-13-01T10:00:00.000Z",  # month 13
        "2026-00-10T10:00:00.000Z",
        "2026-02-30T10:00:00.000Z",
        "2025-02-29T10:00:00.000Z",  # not a leap year
        "2026-01-32T10:00:00.000Z",
        "2026-01-01T24:00:00.000Z",
        "2026-01-01T10:60:00.000Z",
        "",
        "now",
        "2026-01-01T10:00:00.00xZ",
        "\u0662\u0660\u0662\u0666-01-01T10:00:00.000Z",  # Arabic-Indic digits
        "\uff12\uff10\uff12\uff16-01-01T10:00:00.000Z",  # fullwidth digits
    ],
)
def test_parse_request_time_refuses(value):
    with pytest.raises(FormatError):
        parse_request_time(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        1767261600,
        1767261600.0,
        b"2026-01-01T10:00:00.000Z",
        datetime(2026, 1, 1, tzinfo=UTC),
        ["2026-01-01T10:00:00.000Z"],
    ],
)
def test_parse_request_time_refuses_non_strings(value):
    with pytest.raises(FormatError):
        parse_request_time(value)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC), "2026-01-01T10:00:00.000Z"),
        (datetime(2026, 1, 1, 10, 0, 0, 5000, tzinfo=UTC), "2026-01-01T10:00:00.005Z"),
        (datetime(2026, 1, 1, 10, 0, 0, 123999, tzinfo=UTC), "2026-01-01T10:00:00.123Z"),  # truncates
        (datetime(2026, 1, 1, 10, 0, 0, 999999, tzinfo=UTC), "2026-01-01T10:00:00.999Z"),
        (
            datetime(2026, 1, 1, 12, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-01T10:30:00.250Z",
        ),  # converted to UTC
        (datetime(2026, 1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), "2025-12-31T19:30:00.000Z"),
    ],
)
def test_format_response_time(moment, expected):
    text = format_response_time(moment)
    assert text == expected
    assert text.endswith("Z") and len(text.rsplit(".", 1)[1]) == 4  # 3 digits + Z


def test_format_then_parse_round_trips_to_the_millisecond():
    moment = datetime(2031, 7, 4, 8, 9, 10, 654321, tzinfo=UTC)
    assert parse_request_time(format_response_time(moment)) == moment.replace(microsecond=654000)


# === canonical ================================================================================


def test_canonical_key_order_independence():
    a = {"b": 1, "a": [3, {"z": None, "y": True}], "c": "x"}
    b = {"c": "x", "a": [3, {"y": True, "z": None}], "b": 1}
    assert canonical_json(a) == canonical_json(b) == b'{"a":[3,{"y":true,"z":null}],"b":1,"c":"x"}'


def test_canonical_array_order_is_kept():
    assert canonical_json([3, 1, 2]) == b"[3,1,2]"
    assert canonical_json([1, 2]) != canonical_json([2, 1])


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1.0, b"1"),
        (-0.0, b"0"),
        (4.50, b"4.5"),
        (2e-3, b"0.002"),
        (1e30, b"1e+30"),
        (1e-7, b"1e-7"),
        (1e-27, b"1e-27"),
        (333333333.33333329, b"333333333.3333333"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (0.000001, b"0.000001"),
        (-1.5, b"-1.5"),
        (9007199254740991, b"9007199254740991"),
    ],
)
def test_canonical_number_formatting(number, expected):
    # RFC 8785 §3.2.2.3 and Appendix B (ECMAScript Number.prototype.toString)
    assert canonical_json(number) == expected


def test_canonical_rfc8785_section_3_2_2_example():
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_canonical_sorts_keys_by_utf16_code_units():
    # RFC 8785 §3.2.3: U+1F600 (UTF-16 D83D DE00) sorts before U+FB33, unlike code point order
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    keys = list(json.loads(canonical_json(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), float("-inf"), {"x": [float("nan")]}, {1: "int key"}, object(), 2**60]
)
def test_canonical_refuses_unrepresentable_values(bad):
    with pytest.raises(FormatError):
        canonical_json(bad)


# === jose =====================================================================================


def _jwk_pair(kind: str, kid: str = "k1"):
    if kind == "EC":
        private = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    elif kind == "RSA":
        private = jwk.JWK.generate(kty="RSA", size=2048, kid=kid)
    else:
        private = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)
    public = jwk.JWK(**private.export_public(as_dict=True))
    return private, public


@pytest.fixture(scope="module")
def ec_pair():
    return _jwk_pair("EC")


@pytest.fixture(scope="module")
def rsa_pair():
    return _jwk_pair("RSA")


CLAIMS = {"iss": "https://idbb.test", "sub": "client-1", "exp": 2_000_000_000, "scope": "a b"}


def _split(token: str) -> list[str]:
    parts = token.split(".")
    assert len(parts) == 3
    return parts


@pytest.mark.parametrize(("kind", "alg"), [("EC", "ES256"), ("RSA", "RS256"), ("RSA", "PS256"), ("OKP", "EdDSA")])
def test_sign_then_verify(ec_pair, rsa_pair, kind, alg):
    private, public = {"EC": ec_pair, "RSA": rsa_pair}.get(kind) or _jwk_pair("OKP")
    token = sign_jwt(CLAIMS, private, alg, typ="at+jwt")
    header, claims = verify_jwt(token, {"k1": public}, algorithms=[alg], typ="at+jwt")
    assert claims == CLAIMS
    assert header == {"alg": alg, "kid": "k1", "typ": "at+jwt"}
    # the token is a standard compact JWS: PyJWT (not jwcrypto) verifies it too
    pem = public.export_to_pem()
    assert pyjwt.decode(token, pem, algorithms=[alg], options={"verify_exp": False}) == CLAIMS


def test_peek_header_reads_without_verifying(ec_pair):
    token = sign_jwt(CLAIMS, ec_pair[0], "ES256", typ="at+jwt")
    assert peek_header(token) == {"alg": "ES256", "kid": "k1", "typ": "at+jwt"}
    for junk in ("", "a.b", "not-a-token", "x.y.z"):
        with pytest.raises(FormatError):
            peek_header(junk)


def test_verify_refuses_algorithm_not_in_list(ec_pair):
    token = sign_jwt(CLAIMS, ec_pair[0], "ES256")
    for algorithms in (["RS256"], ["ES384", "PS256"], []):
        with pytest.raises(FormatError):
            verify_jwt(token, {"k1": ec_pair[1]}, algorithms=algorithms)


def test_verify_refuses_alg_none(ec_pair):
    header = b64url(json.dumps({"alg": "none", "kid": "k1"}).encode())
    payload = b64url(json.dumps(CLAIMS).encode())
    token = f"{header}.{payload}."
    with pytest.raises(FormatError):
        verify_jwt(token, {"k1": ec_pair[1]}, algorithms=["ES256"])
    with pytest.raises(FormatError):
        verify_jwt(token, {"k1": ec_pair[1]}, algorithms=["ES256", "none"])


def test_verify_typ(ec_pair):
    private, public = ec_pair
    keys = {"k1": public}
    at = sign_jwt(CLAIMS, private, "ES256", typ="at+jwt")
    with pytest.raises(FormatError):
        verify_jwt(at, keys, algorithms=["ES256"], typ="dpop+jwt")
    untyped = sign_jwt(CLAIMS, private, "ES256")
    with pytest.raises(FormatError):
        verify_jwt(untyped, keys, algorithms=["ES256"], typ="at+jwt")
    jwt_typed = sign_jwt(CLAIMS, private, "ES256", typ="JWT")
    with pytest.raises(FormatError):
        verify_jwt(jwt_typed, keys, algorithms=["ES256"], typ="at+jwt")
    # RFC 7515 §4.1.9: "application/" may be omitted, so both spellings are the same type
    long_form = sign_jwt(CLAIMS, private, "ES256", typ="application/at+jwt")
    assert verify_jwt(long_form, keys, algorithms=["ES256"], typ="at+jwt")[1] == CLAIMS
    # no typ asked for: any typ passes
    assert verify_jwt(jwt_typed, keys, algorithms=["ES256"])[1] == CLAIMS


def test_verify_refuses_unknown_kid(ec_pair):
    token = sign_jwt(CLAIMS, ec_pair[0], "ES256")
    with pytest.raises(FormatError):
        verify_jwt(token, {"other": ec_pair[1]}, algorithms=["ES256"])
    with pytest.raises(FormatError):
        verify_jwt(token, {}, algorithms=["ES256"])


def test_verify_refuses_a_different_key_under_the_same_kid(ec_pair):
    _, impostor_public = _jwk_pair("EC")
    token = sign_jwt(CLAIMS, ec_pair[0], "ES256")
    with pytest.raises(FormatError):
        verify_jwt(token, {"k1": impostor_public}, algorithms=["ES256"])


def test_verify_refuses_tampered_payload(ec_pair):
    token = sign_jwt(CLAIMS, ec_pair[0], "ES256")
    header, _, signature = _split(token)
    forged = b64url(json.dumps(dict(CLAIMS, scope="a b admin")).encode())
    with pytest.raises(FormatError):
        verify_jwt(f"{header}.{forged}.{signature}", {"k1": ec_pair[1]}, algorithms=["ES256"])


def test_verify_refuses_tampered_signature_and_header(ec_pair):
    token = sign_jwt(CLAIMS, ec_pair[0], "ES256")
    header, payload, signature = _split(token)
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    with pytest.raises(FormatError):
        verify_jwt(f"{header}.{payload}.{b64url(bytes(raw))}", {"k1": ec_pair[1]}, algorithms=["ES256"])
    other_header = b64url(json.dumps({"alg": "ES256", "kid": "k1", "typ": "at+jwt"}).encode())
    with pytest.raises(FormatError):
        verify_jwt(f"{other_header}.{payload}.{signature}", {"k1": ec_pair[1]}, algorithms=["ES256"])


def test_verify_refuses_non_object_payload(ec_pair):
    from jwcrypto import jws

    obj = jws.JWS(b"[1, 2, 3]")
    obj.add_signature(ec_pair[0], alg="ES256", protected=json.dumps({"alg": "ES256", "kid": "k1"}))
    with pytest.raises(FormatError):
        verify_jwt(obj.serialize(compact=True), {"k1": ec_pair[1]}, algorithms=["ES256"])


NOW = 1_800_000_000


def test_check_time_claims_accepts_a_valid_token():
    check_time_claims({"exp": NOW + 60, "nbf": NOW, "iat": NOW - 5}, NOW)
    check_time_claims({"exp": NOW + 1}, NOW)
    check_time_claims({"exp": float(NOW + 1)}, NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": NOW},  # RFC 7519 §4.1.4: not on or after exp
        {"exp": NOW - 1},
        {"exp": NOW + 60, "nbf": NOW + 1},
        {"exp": NOW + 60, "iat": NOW + 1},
        {},
        {"iat": NOW},
        {"exp": None},
        {"exp": True},
        {"exp": False},
        {"exp": str(NOW + 60)},
        {"exp": [NOW + 60]},
        {"exp": NOW + 60, "nbf": "0"},
        {"exp": NOW + 60, "iat": "0"},
        {"exp": float("-inf")},
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"exp": NOW + 60, "nbf": True},
        {"exp": NOW + 60, "iat": True},
    ],
)
def test_check_time_claims_refuses(claims):
    with pytest.raises(FormatError):
        check_time_claims(claims, NOW)


def test_check_time_claims_leeway():
    check_time_claims({"exp": NOW - 5}, NOW, leeway=10)
    check_time_claims({"exp": NOW + 60, "nbf": NOW + 5, "iat": NOW + 5}, NOW, leeway=10)
    with pytest.raises(FormatError):
        check_time_claims({"exp": NOW - 10}, NOW, leeway=10)
    with pytest.raises(FormatError):
        check_time_claims({"exp": NOW + 60, "nbf": NOW + 11}, NOW, leeway=10)


# === x509 =====================================================================================

NOT_BEFORE = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
NOT_AFTER = datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rsa_private():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private(kind, rsa_private):
    if kind == "RSA":
        return rsa_private
    if kind == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("kind", ["RSA", "EC", "Ed25519"])
def test_self_signed_certificate(rsa_private, kind):
    private = _private(kind, rsa_private)
    der = self_signed_certificate(private, "idbb signing key 1", NOT_BEFORE, NOT_AFTER)
    assert isinstance(der, bytes)
    cert = cx509.load_der_x509_certificate(der)
    assert cert.public_bytes(serialization.Encoding.DER) == der
    assert cert.not_valid_before_utc == NOT_BEFORE
    assert cert.not_valid_after_utc == NOT_AFTER
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in cn] == ["idbb signing key 1"]
    assert cert.issuer == cert.subject
    assert _spki(cert.public_key()) == _spki(private.public_key())
    cert.verify_directly_issued_by(cert)  # the self-signature verifies with the key's public half
    if kind == "Ed25519":
        assert cert.signature_hash_algorithm is None
    else:
        assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    basic = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    assert basic.critical and basic.value.ca is False
    usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert cert.serial_number > 0


def test_certificate_validity_after_2049_and_distinct_serials(rsa_private):
    # dates from 2050 on are GeneralizedTime (RFC 5280 §4.1.2.5): the window must still be exact
    not_after = datetime(2051, 6, 30, 12, 34, 56, tzinfo=UTC)
    first = cx509.load_der_x509_certificate(self_signed_certificate(rsa_private, "k", NOT_BEFORE, not_after))
    second = cx509.load_der_x509_certificate(self_signed_certificate(rsa_private, "k", NOT_BEFORE, not_after))
    assert first.not_valid_after_utc == not_after
    assert first.serial_number != second.serial_number


@pytest.mark.parametrize("kind", ["RSA", "EC", "Ed25519"])
def test_x5t_s256_and_x5c_entry(rsa_private, kind):
    der = self_signed_certificate(_private(kind, rsa_private), "k", NOT_BEFORE, NOT_AFTER)
    expected_thumb = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")
    assert x5t_s256(der) == expected_thumb
    assert len(expected_thumb) == 43
    entry = x5c_entry(der)
    assert "-" not in entry and "_" not in entry  # standard base64 alphabet, RFC 7517 §4.7
    assert base64.b64decode(entry, validate=True) == der


def test_x5t_s256_and_x5c_entry_known_answers():
    # SHA-256("abc") = ba7816bf...15ad (FIPS 180-2); base64url without padding
    assert x5t_s256(b"abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    assert x5c_entry(b"\xfb\xff") == "+/8="  # standard alphabet with padding, not "-_8"


def test_deeply_nested_jose_header_is_a_format_error_not_a_crash():
    import base64

    from app.formats import FormatError
    from app.formats.jose import decode_header_segment

    segment = base64.urlsafe_b64encode(b"[" * 5000).rstrip(b"=").decode()
    with pytest.raises(FormatError):
        decode_header_segment(segment, "JWS")


# --- app/formats/json_text.py (issue 14) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"\xbf",
        b"[" * 10000 + b"]" * 10000,
        b"[" * 65 + b"]" * 65,
        b'{"a":NaN}',
        b'{"a":-Infinity}',
        b"[1e400]",
        b'{"a":{"b":' * 40 + b"1" + b"}" * 80,
    ],
)
def test_json_text_refuses_what_would_crash_or_not_survive(raw):
    from app.formats.json_text import check_json_text

    with pytest.raises(FormatError):
        check_json_text(raw)


@pytest.mark.parametrize("raw", [b"[" * 64 + b"]" * 64, b'{"a":"NaN","b":"[[[[["}', b"not json", b"1e300"])
def test_json_text_lets_the_rest_through(raw):
    from app.formats.json_text import check_json_text

    assert check_json_text(raw) == raw.decode()


@pytest.mark.parametrize(
    ("value", "printable", "fails"),
    [
        ({"n": 2**53}, False, True),
        ({"n": 2**53 - 1}, False, False),
        ({"s": "\ud800"}, False, True),
        ({"s": "a\x00"}, False, True),
        ({"a\x00": 1}, False, True),
        ({"s": "a\nb"}, False, False),
        ({"s": "a\nb"}, True, True),
        ({"s": "a\x85"}, True, True),
        ({"s": "Zoë Ñ"}, True, False),
        ([float("nan")], False, True),
    ],
)
def test_i_json(value, printable, fails):
    from app.formats.json_text import check_i_json

    if fails:
        with pytest.raises(FormatError):
            check_i_json(value, printable=printable)
    else:
        check_i_json(value, printable=printable)
