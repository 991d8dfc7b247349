"""app/formats/pkce.py: RFC 7636 S256 with the RFC's own Appendix B example, and every refusal path."""

import base64
import hashlib

import pytest

from app.formats import FormatError
from app.formats.pkce import VERIFIER_RE, PkceError, check_challenge, s256, verify

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc7636_appendix_b_example():
    assert s256(RFC_VERIFIER) == RFC_CHALLENGE
    assert verify(RFC_VERIFIER, RFC_CHALLENGE) is True
    check_challenge(RFC_CHALLENGE, "S256")


def test_s256_matches_hashlib_for_a_long_verifier():
    verifier = "A-._~" * 25 + "xyz"  # 128 characters, every unreserved symbol
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert s256(verifier) == expected
    assert verify(verifier, expected)


@pytest.mark.parametrize(
    "verifier",
    ["a" * 43, "a" * 128, "0123456789-._~ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"],
)
def test_verifier_re_accepts(verifier):
    assert VERIFIER_RE.fullmatch(verifier)
    assert VERIFIER_RE.match(verifier)


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "/", "a" * 42 + "=", "a" * 43 + "\n", "a" * 42 + "é", "a" * 43 + " "],
)
def test_verifier_re_refuses(verifier):
    assert not VERIFIER_RE.match(verifier)
    assert verify(verifier, s256("a" * 43)) is False
    with pytest.raises(FormatError):
        s256(verifier)


def test_verify_refuses_none_and_wrong_verifier():
    assert verify(None, RFC_CHALLENGE) is False
    assert verify(RFC_VERIFIER[:-1] + "l", RFC_CHALLENGE) is False
    assert verify(RFC_VERIFIER, RFC_CHALLENGE.lower()) is False
    assert verify(RFC_VERIFIER, "é" * 43) is False  # non-ASCII stored challenge: no TypeError from compare_digest


@pytest.mark.parametrize(
    ("challenge", "method", "reason"),
    [
        (None, "S256", "missing"),
        ("", "S256", "missing"),
        (RFC_CHALLENGE, None, "missing"),
        (RFC_CHALLENGE, "", "missing"),
        (RFC_CHALLENGE, "plain", "unsupported_method"),
        (RFC_CHALLENGE, "s256", "unsupported_method"),
        (RFC_CHALLENGE, "S512", "unsupported_method"),
        (RFC_CHALLENGE[:-1], "S256", "malformed"),
        (RFC_CHALLENGE + "A", "S256", "malformed"),
        (RFC_CHALLENGE + "=", "S256", "malformed"),
        (RFC_CHALLENGE[:-1] + "+", "S256", "malformed"),
        (RFC_CHALLENGE[:-1] + "N", "S256", "malformed"),  # non-zero padding bits: not a canonical encoding
        (RFC_VERIFIER[:42] + "~", "S256", "malformed"),
        (RFC_CHALLENGE + "\n", "S256", "malformed"),
    ],
)
def test_check_challenge_reasons(challenge, method, reason):
    with pytest.raises(PkceError) as info:
        check_challenge(challenge, method)
    assert info.value.reason == reason
    assert isinstance(info.value, FormatError)


def test_challenge_messages_differ_by_reason():
    messages = set()
    for challenge, method in [(RFC_CHALLENGE, None), (RFC_CHALLENGE, "plain"), ("x", "S256")]:
        with pytest.raises(PkceError) as info:
            check_challenge(challenge, method)
        messages.add(str(info.value))
    assert len(messages) == 3
