"""ES256/384/512 verification through ``cryptography`` (app.formats.jose): tokens signed by PyJWT verify, and
every refusal jwcrypto's JWSCore made still holds (RFC 7518 §3.4, RFC 7515 §7.1)."""

import base64

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk
from jwt.algorithms import ECAlgorithm

from app.formats import FormatError
from app.formats.jose import verify_jwt

CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


def _signed(alg: str, **header: str) -> tuple[str, jwk.JWK]:
    private = ec.generate_private_key(CURVES[alg])
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = pyjwt.encode({"sub": "s", "n": 1}, pem, algorithm=alg, headers={"kid": "k", **header})
    public = jwk.JWK(**ECAlgorithm.to_jwk(private.public_key(), as_dict=True))
    return token, public


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("alg", sorted(CURVES))
def test_pyjwt_tokens_verify(alg: str) -> None:
    token, key = _signed(alg, typ="x+jwt")
    header, claims = verify_jwt(token, {"k": key}, algorithms=[alg], typ="x+jwt")
    assert claims == {"sub": "s", "n": 1} and header["alg"] == alg


def test_a_changed_payload_or_signature_fails() -> None:
    token, key = _signed("ES256")
    head, payload, signature = token.split(".")
    other = _b64(b'{"sub":"t","n":1}')
    with pytest.raises(FormatError):
        verify_jwt(f"{head}.{other}.{signature}", {"k": key}, algorithms=["ES256"])
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 1
    with pytest.raises(FormatError):
        verify_jwt(f"{head}.{payload}.{_b64(bytes(raw))}", {"k": key}, algorithms=["ES256"])


def test_a_signature_of_the_wrong_length_fails() -> None:
    """RFC 7518 §3.4: R and S are each exactly 32 octets for ES256 (jwcrypto split any length in half)."""
    token, key = _signed("ES256")
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    padded = b"\x00" + raw[:32] + b"\x00" + raw[32:]  # the same R and S, 33 octets each
    with pytest.raises(FormatError):
        verify_jwt(f"{head}.{payload}.{_b64(padded)}", {"k": key}, algorithms=["ES256"])


def test_a_key_of_another_curve_fails_even_once_cached() -> None:
    token, _ = _signed("ES256")
    _, p384 = _signed("ES384")
    p384.get_op_key("verify")  # jwcrypto caches the key object; the curve check must not depend on that
    with pytest.raises(FormatError):
        verify_jwt(token, {"k": p384}, algorithms=["ES256"])


def test_a_key_not_for_signatures_fails() -> None:
    token, key = _signed("ES256")
    enc = jwk.JWK(**{**key.export_public(as_dict=True), "use": "enc"})
    with pytest.raises(FormatError):
        verify_jwt(token, {"k": enc}, algorithms=["ES256"])


def test_a_non_canonical_header_encoding_fails() -> None:
    """The last base64url character of a segment carries unused bits: another spelling of the same header."""
    token, key = _signed("ES256")
    head, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if len(head) % 4 == 0:
        pytest.skip("this header has no unused bits")
    variant = head[:-1] + alphabet[alphabet.index(head[-1]) ^ 1]
    assert base64.urlsafe_b64decode(variant + "==") == base64.urlsafe_b64decode(head + "==")
    with pytest.raises(FormatError):
        verify_jwt(f"{variant}.{payload}.{signature}", {"k": key}, algorithms=["ES256"])
