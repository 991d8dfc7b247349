"""app/formats/oidc.py: at_hash/c_hash (OIDC Core Appendix A examples), pairwise subjects, the claims parameter."""

import base64
import hashlib
import hmac
import json

import pytest

from app.formats import FormatError
from app.formats.oidc import is_essential, pairwise_subject, parse_claims_request, token_hash

KEY = b"p" * 32


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- at_hash / c_hash ---------------------------------------------------------------------------


def test_oidc_core_appendix_a_examples():
    # OIDC Core Appendix A.3 (at_hash) and A.4 (c_hash), both RS256.
    assert token_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"
    assert token_hash("Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk", "RS256") == "LDktKdoQak3Pk0cnXxCltA"


@pytest.mark.parametrize(
    ("alg", "hash_name"),
    [
        ("RS256", "sha256"),
        ("PS256", "sha256"),
        ("ES256", "sha256"),
        ("HS256", "sha256"),
        ("RS384", "sha384"),
        ("PS384", "sha384"),
        ("ES384", "sha384"),
        ("RS512", "sha512"),
        ("PS512", "sha512"),
        ("ES512", "sha512"),
        ("EdDSA", "sha512"),
    ],
)
def test_token_hash_per_algorithm(alg, hash_name):
    value = "SlAV32hkKG.access-token"
    digest = hashlib.new(hash_name, value.encode("ascii")).digest()
    expected = b64url(digest[: len(digest) // 2])
    assert token_hash(value, alg) == expected
    assert len(token_hash(value, alg)) == {"sha256": 22, "sha384": 32, "sha512": 43}[hash_name]


@pytest.mark.parametrize("alg", ["none", "", "rs256", "ES256K", "RSA-OAEP", "Ed448"])
def test_token_hash_unknown_algorithm(alg):
    with pytest.raises(FormatError):
        token_hash("abc", alg)


def test_token_hash_non_ascii_value():
    with pytest.raises(FormatError):
        token_hash("cödé", "RS256")


# --- pairwise subjects --------------------------------------------------------------------------


def test_pairwise_subject_stable_and_independent():
    sub = pairwise_subject(KEY, "client.example.org", "user-1")
    expected = b64url(hmac.new(KEY, b"client.example.org\x00user-1", hashlib.sha256).digest())
    assert sub == expected
    assert pairwise_subject(KEY, "client.example.org", "user-1") == sub
    assert len(sub) == 43 and "=" not in sub


def test_pairwise_subject_differs_per_sector_account_and_key():
    base = pairwise_subject(KEY, "a.example.org", "user-1")
    assert pairwise_subject(KEY, "b.example.org", "user-1") != base
    assert pairwise_subject(KEY, "a.example.org", "user-2") != base
    assert pairwise_subject(b"q" * 32, "a.example.org", "user-1") != base
    # The separator keeps "ab" + "c" and "a" + "bc" apart.
    assert pairwise_subject(KEY, "ab", "c") != pairwise_subject(KEY, "a", "bc")


def test_pairwise_subject_refusals():
    with pytest.raises(FormatError):
        pairwise_subject(KEY, "", "user")
    with pytest.raises(FormatError):
        pairwise_subject(KEY, "a\x00b", "user")
    with pytest.raises(FormatError):
        pairwise_subject(KEY, "sector", "")
    with pytest.raises(ValueError):
        pairwise_subject(b"short", "sector", "user")


# --- claims request parameter -------------------------------------------------------------------

# OIDC Core §5.5, the example request (with "purpose" added from OIDC4IDA §6.1).
CORE_EXAMPLE = {
    "userinfo": {
        "given_name": {"essential": True},
        "nickname": None,
        "email": {"essential": True},
        "email_verified": {"essential": True},
        "picture": None,
        "http://example.info/claims/groups": None,
    },
    "id_token": {
        "auth_time": {"essential": True},
        "acr": {"values": ["urn:mace:incommon:iap:silver"]},
        "sub": {"value": "248289761001"},
        "birthdate": {"essential": False, "purpose": "To check your age"},
    },
}


def test_core_example_parses():
    parsed = parse_claims_request(json.dumps(CORE_EXAMPLE))
    assert parsed == CORE_EXAMPLE
    assert is_essential(parsed["userinfo"]["given_name"])
    assert not is_essential(parsed["userinfo"]["nickname"])
    assert not is_essential(parsed["id_token"]["birthdate"])
    assert not is_essential(parsed["id_token"]["acr"])


@pytest.mark.parametrize("text", [None, ""])
def test_empty(text):
    assert parse_claims_request(text) == {}


def test_other_members_ignored():
    text = json.dumps({"userinfo": {"email": None}, "verified_claims": {"x": 1}, "extra": [1, 2]})
    assert parse_claims_request(text) == {"userinfo": {"email": None}}
    spec = {"essential": True, "verification": {"trust_framework": None}, "unknown": 5}
    assert parse_claims_request(json.dumps({"id_token": {"verified_claims": spec}})) == {
        "id_token": {"verified_claims": spec}
    }


def test_is_essential_strict():
    assert is_essential({"essential": True})
    assert not is_essential(None)
    assert not is_essential({})
    assert not is_essential({"essential": 1})
    assert not is_essential({"essential": "true"})


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "null",
        '"claims"',
        "{",
        '{"userinfo": []}',
        '{"userinfo": null}',
        '{"id_token": "email"}',
        '{"userinfo": {"email": true}}',
        '{"userinfo": {"email": "essential"}}',
        '{"userinfo": {"email": []}}',
        '{"userinfo": {"": null}}',
        '{"userinfo": {"email": {"essential": "true"}}}',
        '{"userinfo": {"email": {"essential": 1}}}',
        '{"userinfo": {"email": {"values": "a"}}}',
        '{"userinfo": {"email": {"purpose": "ab"}}}',
        '{"userinfo": {"email": {"purpose": 12345}}}',
        '{"userinfo": {"email": {"purpose": "' + "x" * 301 + '"}}}',
        '{"userinfo": {"email": null, "email": null}}',
        '{"userinfo": {"email": {"value": NaN}}}',
        '{"userinfo": {"email": {"value": Infinity}}}',
    ],
)
def test_refused(text):
    with pytest.raises(FormatError):
        parse_claims_request(text)


def test_purpose_length_bounds():
    for length in (3, 300):
        text = json.dumps({"userinfo": {"email": {"purpose": "x" * length}}})
        assert parse_claims_request(text)["userinfo"]["email"]["purpose"] == "x" * length


def test_size_limit():
    padded = json.dumps({"userinfo": {"email": {"value": "x" * (8192 - 40)}}})
    assert len(padded.encode()) <= 8192
    parse_claims_request(padded)
    with pytest.raises(FormatError, match="long"):
        parse_claims_request(json.dumps({"userinfo": {"email": {"value": "x" * 8192}}}))
    with pytest.raises(FormatError, match="long"):
        parse_claims_request(json.dumps({"userinfo": {"email": {"value": "é" * 4100}}}, ensure_ascii=False))


def test_claim_count_limit():
    names = [f"c{i}" for i in range(100)]
    ok = {"userinfo": dict.fromkeys(names[:60]), "id_token": dict.fromkeys(names[60:])}
    assert len(parse_claims_request(json.dumps(ok))["id_token"]) == 40
    too_many = {"userinfo": dict.fromkeys(names[:60]), "id_token": dict.fromkeys([*names[60:], "c100"])}
    with pytest.raises(FormatError, match="many"):
        parse_claims_request(json.dumps(too_many))


def test_deep_nesting_refused_cleanly():
    with pytest.raises(FormatError):
        parse_claims_request("[" * 4000 + "]" * 4000)
    with pytest.raises(FormatError):
        parse_claims_request('{"userinfo": {"email": {"value": ' + "[" * 3000 + "]" * 3000 + "}}}")


def test_lone_surrogate_refused():
    with pytest.raises(FormatError):
        parse_claims_request('{"userinfo": {"\ud800": null}}')
