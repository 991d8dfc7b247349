"""Encrypted userinfo and ID tokens (JWE), JSON userinfo and the registered signing algorithm."""

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwk as jw_jwk

from tests.conftest import ISSUER, bearer, request_time, server_jwks, verify_with_pyjwt
from tests.flows.oidc.token_helpers import (
    at_hash,
    decrypt,
    enc_key_pair,
    tokens,
    userinfo,
    verify_signed,
)
from tests.flows.oidc_helpers import (
    new_rsa_key,
    register_rp,
)

# --- Encrypted userinfo and ID tokens; JSON userinfo -----------------------------------------------------


def test_encrypted_userinfo(client, admin_token, citizen):
    key, public = enc_key_pair()
    rp = register_rp(
        client,
        admin_token,
        additionalConfig={
            "jwks": {"keys": [public]},
            "userinfo_encrypted_response_alg": "RSA-OAEP-256",
            "userinfo_encrypted_response_enc": "A256GCM",
        },
    )
    body = tokens(rp, citizen)
    jwks = server_jwks(client)
    id_claims = verify_with_pyjwt(body["id_token"], jwks, audience=rp.client_id)  # the ID token stays signed only

    response = userinfo(client, body["access_token"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwt")
    inner = decrypt(response.text, key)
    claims = verify_with_pyjwt(inner, jwks, audience=rp.client_id)
    assert claims["iss"] == ISSUER and claims["sub"] == id_claims["sub"]
    assert claims["name"] == "Amina Diallo"


def test_encrypted_id_token(client, admin_token, citizen):
    key, public = enc_key_pair()
    rp = register_rp(
        client,
        admin_token,
        jwks={"keys": [public]},
        id_token_encrypted_response_alg="RSA-OAEP-256",
        id_token_encrypted_response_enc="A256GCM",
    )
    body = tokens(rp, citizen)
    inner = decrypt(body["id_token"], key)
    claims = verify_with_pyjwt(inner, server_jwks(client), audience=rp.client_id)
    assert claims["nonce"] == rp.last["nonce"]
    assert claims["at_hash"] == at_hash(body["access_token"], "RS256")


def test_encrypted_id_token_default_enc(client, admin_token, citizen):
    """OIDC Registration §2: alg without enc means A128CBC-HS256."""
    key, public = enc_key_pair()
    rp = register_rp(
        client, admin_token, additionalConfig={"jwks": {"keys": [public]}, "id_token_encrypted_response_alg": "RSA-OAEP-256"}
    )
    body = tokens(rp, citizen)
    inner = decrypt(body["id_token"], key, enc="A128CBC-HS256")
    verify_with_pyjwt(inner, server_jwks(client), audience=rp.client_id)


def test_short_rsa_encryption_key_is_refused_at_registration(client, admin_token):
    """A 1024-bit key is refused with the eSignet error, not a server error."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    public = {**jw_jwk.JWK.from_pyca(private).export_public(as_dict=True), "use": "enc"}
    _, signing = new_rsa_key()
    request = {
        "clientId": f"rp-{uuid.uuid4().hex[:8]}",
        "clientName": "Short key",
        "relyingPartyId": "short",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": ["https://rp.example/callback"],
        "authContextRefs": ["idbb:acr:static-code"],
        "publicKey": signing,
        "userClaims": ["name"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
        "additionalConfig": {"jwks": {"keys": [public]}, "userinfo_encrypted_response_alg": "RSA-OAEP-256"},
    }
    response = client.post(
        "/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": request}, headers=bearer(admin_token)
    )
    assert response.status_code == 200, response.text
    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_additional_config"]


def test_json_userinfo(client, admin_token, citizen):
    rp = register_rp(client, admin_token, additionalConfig={"userinfo_response_type": "JSON"})
    body = tokens(rp, citizen)
    response = userinfo(client, body["access_token"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    claims = response.json()
    sub = verify_with_pyjwt(body["id_token"], server_jwks(client), audience=rp.client_id)["sub"]
    assert claims["sub"] == sub and claims["name"] == "Amina Diallo"


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_userinfo_signed_with_the_registered_alg(client, admin_token, citizen, alg):
    rp = register_rp(client, admin_token, additionalConfig={"userinfo_signed_response_alg": alg})
    response = userinfo(client, tokens(rp, citizen)["access_token"])
    assert response.status_code == 200
    assert verify_signed(response.text, server_jwks(client), rp.client_id, alg)["name"] == "Amina Diallo"
