"""RFC 8414 metadata: truthful, every advertised endpoint answers, every *_supported is a list of strings."""

import pytest

from tests.conftest import ISSUER


def test_metadata_names_this_issuer_and_only_working_endpoints(client, api_client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == ISSUER
    assert meta["authorization_endpoint"] == ISSUER + "/authorize"
    assert meta["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    ]
    assert meta == client.get("/.well-known/openid-configuration").json()
    for name, value in meta.items():
        if name.endswith("_supported") and not name.endswith(("_parameter_supported", "_access_supported")):
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), name
    assert "introspect" in meta["scopes_supported"] and "add_oidc_client" in meta["scopes_supported"]
    for name in ("token_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint", "registration_endpoint"):
        assert meta[name].startswith(ISSUER + "/")
    assert client.get(meta["jwks_uri"].removeprefix(ISSUER)).status_code == 200
    caller = api_client("introspect")
    for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        path = meta[name].removeprefix(ISSUER)
        form = {
            "grant_type": "client_credentials",
            "token": "x",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": caller.assertion(aud=meta[name]),
        }
        assert client.post(path, data=form).status_code == 200, name
    for alg in meta["token_endpoint_auth_signing_alg_values_supported"]:
        assert alg in {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_every_advertised_assertion_algorithm_works(app, client, alg):
    """private_key_jwt signed by PyJWT with each advertised algorithm gets a token."""
    import time
    import uuid

    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    from app.services import api_clients

    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        public = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    cid = f"alg-{alg.lower()}"
    with app.app.app_context():
        api_clients.register(cid, name=cid, scopes=["introspect"], public_key=public)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    now = int(time.time())
    assertion = pyjwt.encode(
        {"iss": cid, "sub": cid, "aud": ISSUER + "/oauth/token", "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
        pem,
        algorithm=alg,
    )
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )
    assert response.status_code == 200, response.text
