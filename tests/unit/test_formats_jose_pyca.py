"""RS*/PS* verification and ES*/RS*/PS* signing through ``cryptography`` (app.formats.jose), and RFC 7638
thumbprints from the JWK members (app.formats.jwk): what other libraries sign verifies, what idbb signs verifies
elsewhere, and every refusal jwcrypto's JWSCore made still holds (RFC 7515 §7.1, RFC 7518 §3.3-3.5)."""

import base64
import json

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk, jws

from app.formats import FormatError
from app.formats.jose import PublicJwk, sign_jwt, verify_jwt
from app.formats.jwk import import_public_signing_jwk, thumbprint


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _public_jwk(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, **members: str) -> jwk.JWK:
    return jwk.JWK(**{**jwk.JWK.from_pyca(private.public_key()).export_public(as_dict=True), **members})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("alg", ["RS256", "PS256", "RS384", "PS512"])
def test_pyjwt_rsa_tokens_verify(rsa_private: rsa.RSAPrivateKey, alg: str) -> None:
    token = pyjwt.encode({"sub": "s", "n": 1}, _pem(rsa_private), algorithm=alg, headers={"kid": "k", "typ": "at+jwt"})
    header, claims = verify_jwt(token, {"k": _public_jwk(rsa_private)}, algorithms=[alg], typ="at+jwt")
    assert claims == {"sub": "s", "n": 1} and header["alg"] == alg


def test_an_rs256_token_with_a_wrong_signature_fails(rsa_private: rsa.RSAPrivateKey) -> None:
    token = pyjwt.encode({"sub": "s"}, _pem(rsa_private), algorithm="RS256", headers={"kid": "k"})
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 1
    key = {"k": _public_jwk(rsa_private)}
    with pytest.raises(FormatError):
        verify_jwt(f"{head}.{payload}.{_b64(bytes(raw))}", key, algorithms=["RS256"])
    other_payload = _b64(b'{"sub":"t"}')
    with pytest.raises(FormatError):  # another payload under the same signature
        verify_jwt(f"{head}.{other_payload}.{signature}", key, algorithms=["RS256"])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(FormatError):  # another key
        verify_jwt(token, {"k": _public_jwk(other)}, algorithms=["RS256"])


def test_rs256_and_ps256_are_not_interchangeable(rsa_private: rsa.RSAPrivateKey) -> None:
    """The header's alg picks the padding: a PKCS#1 v1.5 signature relabelled PS256 does not verify."""
    token = pyjwt.encode({"sub": "s"}, _pem(rsa_private), algorithm="RS256", headers={"kid": "k"})
    _, payload, signature = token.split(".")
    head = _b64(json.dumps({"alg": "PS256", "kid": "k"}, separators=(",", ":")).encode())
    with pytest.raises(FormatError):
        verify_jwt(f"{head}.{payload}.{signature}", {"k": _public_jwk(rsa_private)}, algorithms=["PS256"])


def test_a_non_canonical_protected_header_fails(rsa_private: rsa.RSAPrivateKey) -> None:
    """RFC 7515 §7.1: the signature covers the header's base64url exactly; non-zero trailing bits decode to the
    same bytes but are not what was signed (jwcrypto's JWSCore refused them too)."""
    signer = jwk.JWK.from_pyca(rsa_private)
    signer["kid"] = "k"
    token = sign_jwt({"sub": "s"}, signer, "RS256")
    head, payload, signature = token.split(".")
    assert len(head) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    tweaked = head[:-1] + alphabet[alphabet.index(head[-1]) + 1]
    assert base64.urlsafe_b64decode(tweaked + "==") == base64.urlsafe_b64decode(head + "==")
    with pytest.raises(FormatError):
        verify_jwt(f"{tweaked}.{payload}.{signature}", {"k": _public_jwk(rsa_private)}, algorithms=["RS256"])


def test_an_ec_key_cannot_verify_an_rsa_algorithm(rsa_private: rsa.RSAPrivateKey) -> None:
    token = pyjwt.encode({"sub": "s"}, _pem(rsa_private), algorithm="RS256", headers={"kid": "k"})
    ec_key = _public_jwk(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(FormatError):
        verify_jwt(token, {"k": ec_key}, algorithms=["RS256"])


def test_key_use_and_key_ops_still_bind(rsa_private: rsa.RSAPrivateKey) -> None:
    token = pyjwt.encode({"sub": "s"}, _pem(rsa_private), algorithm="RS256", headers={"kid": "k"})
    for members in ({"use": "enc"}, {"key_ops": ["encrypt"]}):
        key = jwk.JWK(**{**_public_jwk(rsa_private).export_public(as_dict=True), **members})
        with pytest.raises(FormatError):
            verify_jwt(token, {"k": key}, algorithms=["RS256"])


@pytest.mark.parametrize(("alg", "curve", "size"), [("ES256", ec.SECP256R1(), 32), ("ES384", ec.SECP384R1(), 48)])
def test_es_signatures_are_raw_r_s_and_verify_elsewhere(alg: str, curve: ec.EllipticCurve, size: int) -> None:
    """RFC 7518 §3.4: R || S, each exactly the curve's octet length; PyJWT and jwcrypto accept the token."""
    private = ec.generate_private_key(curve)
    signer = jwk.JWK.from_pyca(private)
    signer["kid"] = "k"
    for _ in range(20):  # some R or S have leading zero octets: they must still be padded to the full length
        token = sign_jwt({"sub": "s", "n": 1}, signer, alg, typ="dc+sd-jwt", extra_header={"x5c": ["AA"]})
        assert len(base64.urlsafe_b64decode(token.split(".")[2] + "==")) == 2 * size
    assert pyjwt.decode(token, private.public_key(), algorithms=[alg]) == {"sub": "s", "n": 1}
    assert pyjwt.get_unverified_header(token) == {"alg": alg, "kid": "k", "typ": "dc+sd-jwt", "x5c": ["AA"]}
    parsed = jws.JWS()
    parsed.deserialize(token)
    parsed.verify(_public_jwk(private))
    _, claims = verify_jwt(token, {"k": _public_jwk(private)}, algorithms=[alg], typ="dc+sd-jwt")
    assert claims == {"sub": "s", "n": 1}


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_rsa_signatures_verify_elsewhere(rsa_private: rsa.RSAPrivateKey, alg: str) -> None:
    signer = jwk.JWK.from_pyca(rsa_private)
    signer["kid"] = "k"
    token = sign_jwt({"sub": "s"}, signer, alg, typ="at+jwt")
    assert pyjwt.decode(token, rsa_private.public_key(), algorithms=[alg]) == {"sub": "s"}
    parsed = jws.JWS()
    parsed.deserialize(token)
    parsed.verify(_public_jwk(rsa_private))


def test_signing_refuses_a_key_that_does_not_fit_the_algorithm(rsa_private: rsa.RSAPrivateKey) -> None:
    p256 = jwk.JWK.from_pyca(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(FormatError):
        sign_jwt({"sub": "s"}, p256, "ES384")  # RFC 7518 §3.4: ES384 is P-384 only
    with pytest.raises(FormatError):
        sign_jwt({"sub": "s"}, p256, "RS256")
    with pytest.raises(FormatError):
        sign_jwt({"sub": "s"}, jwk.JWK.from_pyca(rsa_private), "ES256")


def test_thumbprint_matches_rfc_7638_example() -> None:
    """RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint; members other than kty/n/e are ignored."""
    key = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
        "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
        "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8"
        "awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert thumbprint(jwk.JWK(**key)) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    "params",
    [
        {"kty": "EC", "crv": "P-256"},
        {"kty": "EC", "crv": "P-384"},
        {"kty": "EC", "crv": "P-521"},
        {"kty": "RSA", "size": 2048},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "oct", "size": 256},
    ],
)
def test_thumbprint_equals_jwcrypto(params: dict[str, object]) -> None:
    key = jwk.JWK.generate(**params)
    assert thumbprint(key) == key.thumbprint()
    if params["kty"] != "oct":
        assert thumbprint(key.export_public(as_dict=True)) == key.thumbprint()


def test_thumbprint_refuses_a_key_without_its_required_members() -> None:
    with pytest.raises(FormatError):
        thumbprint({"kty": "EC", "crv": "P-256", "x": "AA"})


# --- an imported key (PublicJwk: a wallet's proof key, no jwcrypto JWK) --------------------------------------------


def _imported(private: object) -> PublicJwk:
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    public = private.public_key()  # type: ignore[attr-defined]
    maker = {rsa.RSAPublicKey: RSAAlgorithm, ec.EllipticCurvePublicKey: ECAlgorithm}.get(
        next((t for t in (rsa.RSAPublicKey, ec.EllipticCurvePublicKey) if isinstance(public, t)), None), OKPAlgorithm
    )
    return import_public_signing_jwk(maker.to_jwk(public, as_dict=True))  # the JWK PyJWT writes


@pytest.mark.parametrize("alg", ["ES256", "ES384", "RS256", "PS256", "EdDSA"])
def test_pyjwt_tokens_verify_with_an_imported_key(rsa_private: rsa.RSAPrivateKey, alg: str) -> None:
    private = {
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }.get(alg, lambda: rsa_private)()
    token = pyjwt.encode({"sub": "s"}, _pem(private), algorithm=alg, headers={"kid": "k", "typ": "openid4vci-proof+jwt"})
    key = _imported(private)
    header, claims = verify_jwt(token, {"k": key}, algorithms=[alg], typ="openid4vci-proof+jwt")
    assert claims == {"sub": "s"} and header["alg"] == alg
    head, _, signature = token.split(".")
    other = _b64(b'{"sub":"t"}')
    with pytest.raises(FormatError):  # another payload under the same signature
        verify_jwt(f"{head}.{other}.{signature}", {"k": key}, algorithms=[alg])


def test_an_imported_key_of_another_type_or_curve_fails(rsa_private: rsa.RSAPrivateKey) -> None:
    es = ec.generate_private_key(ec.SECP256R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    cases = [
        (pyjwt.encode({"a": 1}, _pem(es), algorithm="ES256", headers={"kid": "k"}), "ES256", _imported(rsa_private)),
        (pyjwt.encode({"a": 1}, _pem(es), algorithm="ES256", headers={"kid": "k"}), "ES256", _imported(ed)),
        (pyjwt.encode({"a": 1}, _pem(rsa_private), algorithm="RS256", headers={"kid": "k"}), "RS256", _imported(es)),
        (pyjwt.encode({"a": 1}, _pem(ed), algorithm="EdDSA", headers={"kid": "k"}), "EdDSA", _imported(es)),
    ]
    p384 = ec.generate_private_key(ec.SECP384R1())
    cases.append((pyjwt.encode({"a": 1}, _pem(p384), algorithm="ES384", headers={"kid": "k"}), "ES384", _imported(es)))
    for token, alg, key in cases:
        with pytest.raises(FormatError):
            verify_jwt(token, {"k": key}, algorithms=[alg])
