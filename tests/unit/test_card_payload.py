"""app/formats/card_payload: the card's CWT signed with cryptography, verified by pycose (tests/card_checks.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk

from app.formats import card_payload
from app.formats.errors import CardPayloadError
from tests.card_checks import verify_card_qr

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CARD = card_payload.CardData(
    issuer="https://idbb.example",
    uin="1234567890",
    card_number="C-42",
    given_name="Amina",
    family_name="Okafor",
    birthdate="1990-04-01",
    valid_from=NOW,
    valid_until=NOW + timedelta(days=3650),
    issued_at=NOW,
)


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def jwks_of(private, kid):
    public = jwk.JWK.from_pyca(private.public_key()).export_public(as_dict=True)
    return {"keys": [{**public, "kid": kid}]}


def test_payload_verifies_with_pycose_and_holds_the_printed_fields(key):
    text = card_payload.encode(CARD, key, kid="k1")
    claims = verify_card_qr(text, jwks_of(key, "k1"))
    assert claims[2] == "1234567890" and claims[1] == "https://idbb.example" and claims[7] == b"C-42"
    assert claims["given_name"] == "Amina" and claims["family_name"] == "Okafor" and claims["birthdate"] == "1990-04-01"
    assert claims[4] - claims[5] == 3650 * 86400
    assert card_payload.key_id(text) == "k1"
    assert card_payload.verify(text, key.public_key(), now=NOW)[2] == "1234567890"


def test_tampered_payload_and_wrong_key_are_refused(key):
    text = card_payload.encode(CARD, key, kid="k1")
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CardPayloadError):
        card_payload.verify(text, other.public_key())
    forged = card_payload.encode(CARD, other, kid="k1")  # someone else's key under idbb's kid
    with pytest.raises(CardPayloadError):
        card_payload.verify(forged, key.public_key())
    for bad in ("", "IDC1:", "IDC1:!!!", "XYZ:abc", "IDC1:" + "A" * 5000):
        with pytest.raises(CardPayloadError):
            card_payload.verify(bad, key.public_key())


def test_validity_window_is_enforced(key):
    text = card_payload.encode(CARD, key, kid="k1")
    with pytest.raises(CardPayloadError):
        card_payload.verify(text, key.public_key(), now=NOW + timedelta(days=3651))
    with pytest.raises(CardPayloadError):
        card_payload.verify(text, key.public_key(), now=NOW - timedelta(seconds=1))


def test_status_reference_is_the_cwt_status_claim(key):
    """draft-ietf-oauth-status-list-20 §6.3: claim 65535 holds ``{"status_list": {"idx": uint, "uri": tstr}}``."""
    from dataclasses import replace

    card = replace(CARD, status={"status_list": {"idx": 7, "uri": "https://idbb.example/statuslists/ab"}})
    claims = verify_card_qr(card_payload.encode(card, key, kid="k1"), jwks_of(key, "k1"))
    assert claims[65535] == {"status_list": {"idx": 7, "uri": "https://idbb.example/statuslists/ab"}}
    assert 65535 not in verify_card_qr(card_payload.encode(CARD, key, kid="k1"), jwks_of(key, "k1"))
    for bad in ({"status_list": {"idx": -1, "uri": "https://x/y"}}, {"other": {}}, {"status_list": {"idx": 1}}):
        with pytest.raises(Exception, match="status"):
            card_payload.encode(replace(CARD, status=bad), key, kid="k1")
