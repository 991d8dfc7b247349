"""app/formats/wla.py: wallet JWKs, WLA tokens and detached consent signatures.

Tokens and signatures are produced here with PyJWT (and cryptography), verified by idbb's code
(jwcrypto): no library checks its own output.
"""

import base64
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from app.formats import FormatError, wla

AUD = "esignet-binding"
UIN = "4829135706"
X5T = "q5y0I0N1Ppbt8Zbb5IfKZ0bDOHb3KDXcmpdqbOmUQjY"


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_private() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ed_private() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def public_jwk(private: Any) -> dict[str, Any]:
    if isinstance(private, rsa.RSAPrivateKey):
        return RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)


def our_key(private: Any) -> jwk.JWK:
    return wla.parse_wallet_jwk(public_jwk(private)).key


def wla_token(private: Any, alg: str = "RS256", *, headers: dict[str, Any] | None = None, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": "wallet-app", "sub": UIN, "aud": AUD, "iat": now, "exp": now + 18000}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    head = {"x5t#S256": X5T} if headers is None else headers
    return pyjwt.encode(claims, private, algorithm=alg, headers=head)


def verify(token: str, key: jwk.JWK, **overrides: Any) -> dict[str, Any]:
    args = {"individual_id": UIN, "audience": AUD, "now": time.time(), "max_age": 300, **overrides}
    return wla.verify_wla(token, key, **args)


# --- public keys ----------------------------------------------------------------------------------


def test_parse_accepts_rsa_p256_p384_and_ed25519(rsa_private, ec_private, ed_private):
    for private in (rsa_private, ec_private, ec.generate_private_key(ec.SECP384R1()), ed_private):
        parsed = wla.parse_wallet_jwk(public_jwk(private))
        assert parsed.key is not None and not parsed.key.has_private
        assert parsed.thumbprint == parsed.key.thumbprint()
        assert "d" not in parsed.public


def test_parse_accepts_the_jwk_as_json_text(ec_private):
    assert wla.parse_wallet_jwk(json.dumps(public_jwk(ec_private))).key is not None


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "oct"},
        {"kty": None},
        {"e": None},
        {"n": "AQAB"},
        {"use": "enc"},
        {"alg": "ES256"},
    ],
)
def test_strict_parse_refuses_bad_rsa_keys(rsa_private, change):
    data = {**public_jwk(rsa_private), **change}
    with pytest.raises(FormatError):
        wla.parse_wallet_jwk({k: v for k, v in data.items() if v is not None})


def test_strict_parse_refuses_short_rsa_p521_and_private_keys(rsa_private, ed_private):
    short = RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(), as_dict=True)
    p521 = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP521R1()).public_key(), as_dict=True)
    for bad in (
        short,
        p521,
        RSAAlgorithm.to_jwk(rsa_private, as_dict=True),
        OKPAlgorithm.to_jwk(ed_private, as_dict=True),
        "not json",
        [1, 2],
        {"n": "x"},
    ):
        with pytest.raises(FormatError):
            wla.parse_wallet_jwk(bad)


def test_relaxed_parse_keeps_unloadable_keys_as_sent_but_never_private_ones(rsa_private):
    no_e = {k: v for k, v in public_jwk(rsa_private).items() if k != "e"}
    parsed = wla.parse_wallet_jwk(no_e, relaxed=True)
    assert parsed.key is None and parsed.public == no_e and len(parsed.thumbprint) == 43
    assert wla.parse_wallet_jwk({"kty": "whatever"}, relaxed=True).key is None
    short = RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(), as_dict=True)
    assert wla.parse_wallet_jwk(short, relaxed=True).key is not None  # loads: kept as the key it is
    for bad in ({"no": "kty"}, RSAAlgorithm.to_jwk(rsa_private, as_dict=True)):
        with pytest.raises(FormatError):
            wla.parse_wallet_jwk(bad, relaxed=True)


def test_x5t_s256_is_the_base64url_sha256_of_the_der():
    import hashlib

    der = b"\x30\x03\x02\x01\x01"
    assert wla.x5t_s256(der) == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


# --- WLA tokens -----------------------------------------------------------------------------------


def test_good_tokens_verify_for_each_key_type(rsa_private, ec_private, ed_private):
    for private, alg in ((rsa_private, "RS256"), (rsa_private, "PS256"), (ec_private, "ES256"), (ed_private, "EdDSA")):
        token = wla_token(private, alg)
        assert wla.unverified_x5t_s256(token) == X5T
        claims = verify(token, our_key(private))
        assert claims["sub"] == UIN


def test_audience_may_be_a_list(rsa_private):
    assert verify(wla_token(rsa_private, aud=["other", AUD]), our_key(rsa_private))["aud"] == ["other", AUD]


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "0000000000"},
        {"sub": None},
        {"aud": "someone-else"},
        {"aud": ["a", "b"]},
        {"aud": None},
        {"iat": -301},
        {"iat": +120},
        {"iat": None},
        {"iat": "now"},
        {"exp": -1},
        {"exp": None},
        {"exp": True},
    ],
    ids=[
        "wrong-sub",
        "no-sub",
        "wrong-aud",
        "aud-list-without-us",
        "no-aud",
        "stale-iat",
        "future-iat",
        "no-iat",
        "string-iat",
        "expired",
        "no-exp",
        "bool-exp",
    ],
)
def test_bad_claims_are_refused(rsa_private, changes):
    """Integer iat/exp values are offsets from now (parametrize runs at collection, long before the test)."""
    now = int(time.time())
    changes = {k: now + v if k in ("iat", "exp") and type(v) is int else v for k, v in changes.items()}
    with pytest.raises(FormatError):
        verify(wla_token(rsa_private, **changes), our_key(rsa_private))


def test_iat_freshness_is_measured_against_the_given_now(rsa_private):
    token = wla_token(rsa_private)
    verify(token, our_key(rsa_private), now=time.time() + 299)
    with pytest.raises(FormatError, match="too old"):
        verify(token, our_key(rsa_private), now=time.time() + 302)


def test_missing_x5t_header_is_refused(rsa_private):
    token = wla_token(rsa_private, headers={"kid": "k1"})
    with pytest.raises(FormatError, match="x5t#S256"):
        verify(token, our_key(rsa_private))
    with pytest.raises(FormatError, match="x5t#S256"):
        wla.unverified_x5t_s256(token)


def test_token_of_another_key_is_refused(rsa_private):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(FormatError, match="does not verify"):
        verify(wla_token(other), our_key(rsa_private))


def test_alg_that_does_not_fit_the_key_is_refused(rsa_private, ec_private):
    with pytest.raises(FormatError, match="alg"):
        verify(wla_token(rsa_private, "RS512"), our_key(rsa_private))
    with pytest.raises(FormatError, match="alg"):
        verify(wla_token(ec_private, "ES256"), our_key(rsa_private))
    hmac_token = pyjwt.encode({"sub": UIN}, "secret-secret-secret-secret-32by", algorithm="HS256", headers={"x5t#S256": X5T})
    with pytest.raises(FormatError, match="alg"):
        verify(hmac_token, our_key(rsa_private))
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "x5t#S256": X5T}).encode()).rstrip(b"=").decode()
    none_token = header + "." + wla_token(rsa_private).split(".")[1] + "."
    with pytest.raises(FormatError):
        verify(none_token, our_key(rsa_private))


def test_tampered_payload_and_garbage_are_refused(rsa_private):
    head, _, sig = wla_token(rsa_private).split(".")
    forged = (
        base64.urlsafe_b64encode(
            json.dumps({"sub": UIN, "aud": AUD, "iat": int(time.time()), "exp": int(time.time()) + 60}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    for token in (f"{head}.{forged}.{sig}", "a.b", "", "x" * 20000, None, "!!.??.**"):
        with pytest.raises(FormatError):
            verify(token, our_key(rsa_private))


# --- detached consent signatures ------------------------------------------------------------------


def detached(private: Any, payload: bytes, alg: str = "RS256", headers: dict[str, Any] | None = None) -> str:
    compact = pyjwt.api_jws.PyJWS().encode(
        payload, private, algorithm=alg, headers={"x5t#S256": X5T} if headers is None else headers
    )
    head, _, sig = compact.split(".")
    return f"{head}.{sig}"


def test_consent_payload_matches_esignet_treemap_json():
    payload = wla.consent_payload(["phone_number", "name", "email"], ["sample_ldp_vc", "Manage-VID"])
    assert payload == (
        b'{"accepted_claims":["email","name","phone_number"],"permitted_authorized_scopes":["Manage-VID","sample_ldp_vc"]}'
    )
    assert wla.consent_payload([], None) == b'{"accepted_claims":[],"permitted_authorized_scopes":null}'
    assert wla.consent_payload(["nom_é"], []) == '{"accepted_claims":["nom_é"],"permitted_authorized_scopes":[]}'.encode()


def test_detached_consent_verifies_in_both_forms(rsa_private, ec_private):
    payload = wla.consent_payload(["name", "email"], [])
    signature = detached(rsa_private, payload)
    assert wla.verify_detached_consent(signature, payload, our_key(rsa_private))["x5t#S256"] == X5T
    head, sig = signature.split(".")
    assert wla.verify_detached_consent(f"{head}..{sig}", payload, our_key(rsa_private))["alg"] == "RS256"
    es = detached(ec_private, payload, "ES256")
    assert wla.verify_detached_consent(es, payload, our_key(ec_private))["alg"] == "ES256"


def test_detached_consent_over_another_payload_is_refused(rsa_private):
    signature = detached(rsa_private, wla.consent_payload(["name"], []))
    with pytest.raises(FormatError, match="does not verify"):
        wla.verify_detached_consent(signature, wla.consent_payload(["name", "email"], []), our_key(rsa_private))


def test_detached_consent_shape_header_and_key_are_checked(rsa_private):
    payload = wla.consent_payload(["name"], [])
    good = detached(rsa_private, payload)
    head, sig = good.split(".")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload_b64 = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    for bad in (
        f"{head}.{payload_b64}.{sig}",
        head,
        f"{head}.{sig}.x",
        f".{sig}",
        f"{head}.",
        None,
        detached(rsa_private, payload, headers={"kid": "no-thumbprint"}),
        detached(other, payload),
    ):
        with pytest.raises(FormatError):
            wla.verify_detached_consent(bad, payload, our_key(rsa_private))
