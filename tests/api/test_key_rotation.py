"""Signing-key rotation: a retired or compromised key signs nothing more, a token verifies for its whole lifetime,
and production refuses a publish-ahead shorter than the JWKS cache (review findings R2, R5, R6 of issue 2)."""

import uuid

import jwt as pyjwt
import pytest

from app.clock import clock
from app.config import ConfigError, Settings
from tests.api.client_calls import (
    PROTECTED,
)
from tests.conftest import ISSUER, bearer

# --- R2: after an emergency (--now) rotation the compromised key still mints accepted tokens ------------------------


def test_r2_key_retired_by_immediate_rotation_cannot_sign_new_tokens(app, client):
    from app.services import keys

    with app.app.app_context():
        old = keys.signing_key("RSA")
        keys.rotate("RSA", immediate=True, actor="test")  # README/docstring: "at once, for a compromised key"
    stolen_pem = old.jwk.export_to_pem(private_key=True, password=None)
    now = clock.epoch()  # issued after the key was retired
    forged = pyjwt.encode(
        {
            "iss": ISSUER,
            "sub": "attacker",
            "aud": ISSUER,
            "client_id": "attacker",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "scope": "add_oidc_client update_oidc_client read_oidc_client",
        },
        stolen_pem,
        algorithm="RS256",
        headers={"kid": old.kid, "typ": "at+jwt"},
    )
    assert client.get(PROTECTED, headers=bearer(forged)).status_code == 401  # today: 200 for 24 h


def test_r2_a_compromised_key_is_withdrawn_even_for_backdated_tokens(app, client):
    from app.services import keys

    with app.app.app_context():
        old = keys.signing_key("RSA")
        keys.rotate("RSA", actor="test", compromised=True)
    published = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert old.kid not in published
    stolen_pem = old.jwk.export_to_pem(private_key=True, password=None)
    then = clock.epoch() - 300  # the attacker backdates iat to before the rotation
    forged = pyjwt.encode(
        {
            "iss": ISSUER,
            "sub": "attacker",
            "aud": ISSUER,
            "client_id": "attacker",
            "iat": then,
            "nbf": then,
            "exp": then + 600,
            "jti": uuid.uuid4().hex,
            "scope": "read_oidc_client",
        },
        stolen_pem,
        algorithm="RS256",
        headers={"kid": old.kid, "typ": "at+jwt"},
    )
    assert client.get(PROTECTED, headers=bearer(forged)).status_code == 401


# --- R5: a token signed shortly before its key's expiry stops verifying at once; then no key signs (500) -----------


def test_r5_token_signed_near_key_expiry_verifies_for_its_whole_lifetime(app, client, api_client):
    from app.services import keys

    caller = api_client("read_oidc_client")
    with app.app.app_context():
        rsa = next(r for r in keys._records() if r.kty == "RSA" and r.use == "sig")
    clock.advance((rsa.expires_at - clock.now()).total_seconds() - 10)
    token = caller.token()  # exp = now + 600
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200
    clock.advance(20)
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200  # today: 401 (key left the JWKS)
    assert caller.token_response().status_code == 200  # today: 500 "No signing key is available."


# --- R6: production accepts a publish-ahead that lets a key sign before caches can know it ---------------------------


@pytest.mark.parametrize("publish_ahead", [-1000, 0, 10])
def test_r6_production_refuses_publish_ahead_shorter_than_the_jwks_cache(kek, publish_ahead):
    settings = Settings(profile="production", issuer=ISSUER, kek=kek, key_publish_ahead=publish_ahead, jwks_max_age=300)
    with pytest.raises(ConfigError):
        settings.validate()
