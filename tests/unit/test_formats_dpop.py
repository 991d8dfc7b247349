"""app/formats/dpop.py: RFC 9449 proofs made with PyJWT + cryptography, verified by the code under test (jwcrypto).

Expected values (thumbprints, ``ath``, nonce MACs) are computed here with hashlib/hmac/json, never with jwcrypto,
so a bug shared between the proof maker and the verifier cannot pass.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from app.formats import FormatError
from app.formats.dpop import DPOP_ALGS, DpopNonceError, DpopProof, ath, check_nonce, issue_nonce, verify_proof

NOW = 1_750_000_000
URL = "https://idp.example.org/oauth/token"
REQUIRED_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
NONCE_KEY = b"k" * 32


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rfc7638(jwk_dict: dict) -> str:
    required = {name: jwk_dict[name] for name in REQUIRED_MEMBERS[jwk_dict["kty"]]}
    text = json.dumps(required, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b64url(hashlib.sha256(text.encode("utf-8")).digest())


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


def ec_jwk(private) -> dict:
    return ECAlgorithm.to_jwk(private.public_key(), as_dict=True)


def make_proof(private, *, alg="ES256", jwk_dict=None, typ="dpop+jwt", claims=None, drop=(), headers=None):
    body = {"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": NOW}
    body.update(claims or {})
    for name in drop:
        body.pop(name, None)
    if jwk_dict is None:
        jwk_dict = ec_jwk(private)
    header = {"typ": typ, "jwk": jwk_dict, **(headers or {})}
    if typ is None:
        header.pop("typ")
    return pyjwt.encode(body, private, algorithm=alg, headers=header)


def check(proof, **kwargs):
    args = {"method": "POST", "url": URL, "now": NOW, "max_age": 60}
    args.update(kwargs)
    return verify_proof(proof, **args)


# --- accepted proofs --------------------------------------------------------------------------


def test_valid_es256_proof(ec_key):
    result = check(make_proof(ec_key))
    assert isinstance(result, DpopProof)
    assert result.jkt == rfc7638(ec_jwk(ec_key))
    assert (result.jti, result.iat, result.htm, result.htu) == ("e1j3V_bKic8-LAEB", NOW, "POST", URL)
    assert result.nonce is None and result.ath is None


def test_valid_rsa_and_eddsa_proofs(rsa_key, ed_key):
    for private, alg, public in [
        (rsa_key, "RS256", RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)),
        (rsa_key, "PS256", RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)),
        (ed_key, "EdDSA", OKPAlgorithm.to_jwk(ed_key.public_key(), as_dict=True)),
    ]:
        assert alg in DPOP_ALGS
        assert check(make_proof(private, alg=alg, jwk_dict=public)).jkt == rfc7638(public)


def test_rfc7638_thumbprint_is_stable_across_proofs(ec_key):
    first = check(make_proof(ec_key, claims={"jti": "a"}))
    second = check(make_proof(ec_key, claims={"jti": "b"}))
    assert first.jkt == second.jkt == rfc7638(ec_jwk(ec_key))


def test_typ_media_type_forms_accepted(ec_key):
    check(make_proof(ec_key, typ="application/dpop+jwt"))
    check(make_proof(ec_key, typ="DPoP+JWT"))


def test_htu_ignores_query_and_fragment(ec_key):
    check(make_proof(ec_key), url=URL + "?a=1#frag")
    check(make_proof(ec_key, claims={"htu": URL + "?x=y#z"}))


@pytest.mark.parametrize(
    ("htu", "url"),
    [
        ("HTTPS://IDP.Example.ORG/oauth/token", URL),
        ("https://idp.example.org:443/oauth/token", URL),
        ("http://idp.example.org:80/x", "http://idp.example.org/x"),
        ("https://idp.example.org", "https://idp.example.org/"),
        ("https://idp.example.org/oauth/./a/../token", URL),
        ("https://idp.example.org/%6Fauth/token", URL),
        ("https://idp.example.org/a%2fb", "https://idp.example.org/a%2Fb"),
        ("https://[2001:DB8::1]:443/t", "https://[2001:db8::1]/t"),
    ],
)
def test_htu_normalisation(ec_key, htu, url):
    check(make_proof(ec_key, claims={"htu": htu}), url=url)


def test_iat_window_edges(ec_key):
    proof = make_proof(ec_key)
    check(proof, now=NOW + 60 + 5)  # oldest accepted: max_age + leeway
    check(proof, now=NOW - 5)  # newest accepted: leeway into the future
    check(make_proof(ec_key, claims={"iat": NOW + 0.5}), leeway=1)


# --- refused proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "dpop", "at+jwt", "application/jwt"])
def test_wrong_typ(ec_key, typ):
    with pytest.raises(FormatError, match="typ"):
        check(make_proof(ec_key, typ=typ))


def test_alg_none_refused(ec_key):
    header = {"typ": "dpop+jwt", "jwk": ec_jwk(ec_key), "alg": "none"}
    body = {"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}
    token = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}."
    with pytest.raises(FormatError):
        check(token)
    with pytest.raises(FormatError, match="algorithm"):
        check(token + "c2ln")


def test_hs256_refused(ec_key):
    secret = b"s" * 32
    with pytest.raises(FormatError, match="algorithm"):
        check(make_proof(secret, alg="HS256", jwk_dict=ec_jwk(ec_key)))
    oct_jwk = {"kty": "oct", "k": b64url(secret)}
    with pytest.raises(FormatError):
        check(make_proof(secret, alg="HS256", jwk_dict=oct_jwk))


def test_algorithms_outside_the_list_refused(ec_key, rsa_key):
    public = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    with pytest.raises(FormatError, match="algorithm"):
        check(make_proof(rsa_key, alg="RS384", jwk_dict=public))


def test_alg_must_fit_the_jwk(ec_key, rsa_key):
    with pytest.raises(FormatError, match="fit"):
        check(make_proof(rsa_key, alg="RS256", jwk_dict=ec_jwk(ec_key)))


def test_private_key_in_header_refused(ec_key, ed_key):
    with pytest.raises(FormatError, match="private"):
        check(make_proof(ec_key, jwk_dict=ECAlgorithm.to_jwk(ec_key, as_dict=True)))
    with pytest.raises(FormatError, match="private"):
        check(make_proof(ed_key, alg="EdDSA", jwk_dict=OKPAlgorithm.to_jwk(ed_key, as_dict=True)))


@pytest.mark.parametrize("members", [{"kty": []}, {"kty": {}}, {"kty": "EC", "crv": [], "x": "AA", "y": "AA"}])
def test_a_jwk_with_members_of_the_wrong_type_is_refused_not_a_crash(ec_key, members):
    """An unhashable kty or crv is a FormatError (invalid_dpop_proof), never a TypeError reaching the endpoint."""
    with pytest.raises(FormatError):
        check(make_proof(ec_key, jwk_dict=members))


def test_a_jwk_whose_coordinate_is_not_full_size_is_refused(ec_key):
    """RFC 7518 §6.2.1.2: x MUST be the full size of a P-256 coordinate (a leading zero octet added is refused)."""
    import base64

    members = ec_jwk(ec_key)
    raw = base64.urlsafe_b64decode(members["x"] + "==")
    longer = base64.urlsafe_b64encode(b"\x00" + raw).rstrip(b"=").decode()
    with pytest.raises(FormatError):
        check(make_proof(ec_key, jwk_dict=dict(members, x=longer)))


def test_missing_or_non_object_jwk_refused(ec_key):
    body = {"jti": "x", "htm": "POST", "htu": URL, "iat": NOW}
    with pytest.raises(FormatError, match="jwk"):
        check(pyjwt.encode(body, ec_key, algorithm="ES256", headers={"typ": "dpop+jwt"}))
    with pytest.raises(FormatError, match="jwk"):
        check(make_proof(ec_key, jwk_dict=json.dumps(ec_jwk(ec_key))))


def test_weak_rsa_key_refused():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(FormatError, match="2048"):
        check(make_proof(weak, alg="RS256", jwk_dict=RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True)))


def test_bad_signature(ec_key):
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(FormatError, match="signature"):
        check(make_proof(other, jwk_dict=ec_jwk(ec_key)))
    head, payload, signature = make_proof(ec_key).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["htm"] = "GET"
    with pytest.raises(FormatError, match="signature"):
        check(f"{head}.{b64url(json.dumps(forged).encode())}.{signature}", method="GET")


def test_crit_header_refused(ec_key):
    with pytest.raises(FormatError, match="extension"):
        check(make_proof(ec_key, headers={"crit": ["exp"], "exp": 1}))


@pytest.mark.parametrize(
    "proof",
    [
        "",
        "a.b",
        "a.b.c.d.e",
        "..",
        "x" * 9000,
        '{"protected":"e30","payload":"e30","signature":"AA"}',
        b64url(b"[" * 3000) + ".e30.AA",
        b64url(b"null") + ".e30.AA",
    ],
)
def test_not_a_compact_jws(proof):
    with pytest.raises(FormatError):
        check(proof)


def test_nested_payload_refused_cleanly(ec_key):
    header = {"typ": "dpop+jwt", "jwk": ec_jwk(ec_key)}
    token = pyjwt.api_jws.encode(b"[" * 3000, ec_key, algorithm="ES256", headers=header)
    with pytest.raises(FormatError):
        check(token)


@pytest.mark.parametrize("missing", ["jti", "htm", "htu", "iat"])
def test_required_claims(ec_key, missing):
    with pytest.raises(FormatError):
        check(make_proof(ec_key, drop=(missing,)))


@pytest.mark.parametrize(
    "claims",
    [
        {"jti": ""},
        {"jti": "j" * 257},
        {"jti": 7},
        {"htm": ["POST"]},
        {"htu": None},
        {"iat": "1750000000"},
        {"iat": True},
        {"ath": 5},
        {"nonce": 5},
    ],
)
def test_malformed_claims(ec_key, claims):
    with pytest.raises(FormatError):
        check(make_proof(ec_key, claims=claims))


def test_jti_length_limit(ec_key):
    assert check(make_proof(ec_key, claims={"jti": "j" * 256})).jti == "j" * 256


def test_htm_mismatch(ec_key):
    with pytest.raises(FormatError, match="htm"):
        check(make_proof(ec_key), method="GET")
    with pytest.raises(FormatError, match="htm"):
        check(make_proof(ec_key, claims={"htm": "post"}))


@pytest.mark.parametrize(
    "htu",
    [
        "https://idp.example.org/oauth/token/",
        "https://idp.example.org/oauth/Token",
        "http://idp.example.org/oauth/token",
        "https://idp.example.org:8443/oauth/token",
        "https://other.example.org/oauth/token",
        "https://user@idp.example.org/oauth/token",
        "https://idp.example.org/oauth/to\nken",
        "/oauth/token",
        "urn:x:y",
        "https://idp.example.org:99999/oauth/token",
        "https://[::1/oauth/token",
    ],
)
def test_htu_mismatch(ec_key, htu):
    with pytest.raises(FormatError, match="htu"):
        check(make_proof(ec_key, claims={"htu": htu}))


def test_iat_too_old_or_in_future(ec_key):
    proof = make_proof(ec_key)
    with pytest.raises(FormatError, match="iat"):
        check(proof, now=NOW + 60 + 5 + 1)
    with pytest.raises(FormatError, match="iat"):
        check(proof, now=NOW - 6)
    with pytest.raises(FormatError, match="iat"):
        check(proof, now=NOW + 10, max_age=5, leeway=0)


def test_ath(ec_key):
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    expected = b64url(hashlib.sha256(token.encode("ascii")).digest())
    assert ath(token) == expected
    assert ath(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"  # RFC 9449 §7.1 example
    result = check(make_proof(ec_key, claims={"ath": expected}), access_token=token)
    assert result.ath == expected
    with pytest.raises(FormatError, match="ath"):
        check(make_proof(ec_key, claims={"ath": ath("other")}), access_token=token)
    with pytest.raises(FormatError, match="ath"):
        check(make_proof(ec_key), access_token=token)
    with pytest.raises(FormatError):
        ath("tökén")


def test_nonce_exact(ec_key):
    assert check(make_proof(ec_key, claims={"nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v"}), nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v")
    with pytest.raises(DpopNonceError, match="missing"):
        check(make_proof(ec_key), nonce="n-1")
    with pytest.raises(DpopNonceError, match="wrong"):
        check(make_proof(ec_key, claims={"nonce": "n-2"}), nonce="n-1")
    with pytest.raises(DpopNonceError):
        check(make_proof(ec_key, claims={"nonce": ""}), nonce="n-1")


def test_nonce_error_only_for_otherwise_valid_proofs(ec_key):
    with pytest.raises(FormatError) as info:
        check(make_proof(ec_key), method="GET", nonce="n-1")
    assert not isinstance(info.value, DpopNonceError)


def test_nonce_not_required_when_not_asked(ec_key):
    assert check(make_proof(ec_key, claims={"nonce": "whatever"})).nonce == "whatever"


def test_nonce_key_in_verify_proof(ec_key):
    nonce = issue_nonce(NONCE_KEY, NOW)
    assert check(make_proof(ec_key, claims={"nonce": nonce}), nonce_key=NONCE_KEY).nonce == nonce
    with pytest.raises(DpopNonceError):
        check(make_proof(ec_key), nonce_key=NONCE_KEY)
    with pytest.raises(DpopNonceError):
        check(make_proof(ec_key, claims={"nonce": issue_nonce(b"o" * 32, NOW)}), nonce_key=NONCE_KEY)
    stale = issue_nonce(NONCE_KEY, NOW - 120)
    with pytest.raises(DpopNonceError):
        check(make_proof(ec_key, claims={"nonce": stale}), nonce_key=NONCE_KEY)


# --- stateless nonces -------------------------------------------------------------------------


def test_nonce_format_matches_independent_computation():
    nonce = issue_nonce(NONCE_KEY, NOW, window=60)
    slot = (NOW // 60).to_bytes(8, "big")
    mac = hmac.new(NONCE_KEY, b"dpop-nonce" + slot, hashlib.sha256).digest()[:16]
    assert nonce == b64url(slot + mac)
    assert len(nonce) == 32


def test_nonce_slot_lifetime():
    window = 60
    start = (NOW // window) * window  # first second of a slot
    nonce = issue_nonce(NONCE_KEY, start, window)
    assert issue_nonce(NONCE_KEY, start + window - 1, window) == nonce  # same slot, same nonce
    assert check_nonce(NONCE_KEY, nonce, start, window)
    assert check_nonce(NONCE_KEY, nonce, start + window, window)  # next slot: still accepted
    assert check_nonce(NONCE_KEY, nonce, start + 2 * window - 1, window)
    assert not check_nonce(NONCE_KEY, nonce, start + 2 * window, window)  # two slots later: expired
    assert not check_nonce(NONCE_KEY, nonce, start - 1, window)  # from the future slot: refused


def test_nonce_refusals():
    nonce = issue_nonce(NONCE_KEY, NOW)
    assert not check_nonce(b"x" * 32, nonce, NOW)
    assert not check_nonce(NONCE_KEY, nonce[:-1], NOW)
    assert not check_nonce(NONCE_KEY, nonce + "A", NOW)
    assert not check_nonce(NONCE_KEY, nonce[:-2] + ("AA" if nonce[-2:] != "AA" else "BB"), NOW)
    assert not check_nonce(NONCE_KEY, "=" * 32, NOW)
    assert not check_nonce(NONCE_KEY, None, NOW)
    assert not check_nonce(NONCE_KEY, "", NOW)
    slot = (NOW // 60).to_bytes(8, "big")
    assert not check_nonce(NONCE_KEY, b64url(slot + b"\x00" * 16), NOW)


def test_nonce_differs_per_key_and_window():
    assert issue_nonce(NONCE_KEY, NOW) != issue_nonce(b"o" * 32, NOW)
    assert issue_nonce(NONCE_KEY, NOW, 60) != issue_nonce(NONCE_KEY, NOW + 60, 60)


def test_nonce_configuration_errors():
    with pytest.raises(ValueError):
        issue_nonce(b"short", NOW)
    with pytest.raises(ValueError):
        issue_nonce(NONCE_KEY, NOW, window=0)
    with pytest.raises(ValueError):
        check_nonce(NONCE_KEY, "x", NOW, window=-1)


def test_real_clock_round_trip(ec_key):
    now = int(time.time())
    nonce = issue_nonce(NONCE_KEY, now)
    proof = make_proof(ec_key, claims={"iat": now, "nonce": nonce})
    assert check(proof, now=now, nonce_key=NONCE_KEY).nonce == nonce


@pytest.mark.parametrize("bits", [1024, 8200])
def test_rsa_dpop_keys_outside_2048_to_8192_bits_are_refused(rsa_key, bits):
    """NIST SP 800-131A: under 2048 bits is too weak; over 8192 bits a proof only costs the server CPU time.
    The proof is signed by a valid key: the size alone must refuse it, before the signature is checked."""
    public = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    public["n"] = b64url(((1 << (bits - 1)) | 1).to_bytes((bits + 7) // 8, "big"))
    with pytest.raises(FormatError, match="bits"):
        check(make_proof(rsa_key, alg="RS256", jwk_dict=public))
