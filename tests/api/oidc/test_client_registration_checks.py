"""Client management: identical concurrent creates are idempotent, update errors follow GovStack's order, and
every key accepted at registration can authenticate (review findings R4, R7, R8 of issue 2)."""

import hashlib
import threading
import uuid

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import insert

from app.clock import clock
from tests.api.client_calls import (
    rp_request,
)
from tests.conftest import ASSERTION_TYPE, ISSUER, bearer, new_ec_key, request_time

# --- R4: two identical creates at once (two workers, PostgreSQL) give a 500 instead of the idempotent answer --------


@pytest.mark.postgres
def test_r4_concurrent_identical_create_is_idempotent_not_a_500(app, client, admin_token):
    from app.extensions import db
    from app.formats.canonical import canonical_json
    from app.models.clients import Client

    _, public = new_ec_key()
    request = rp_request("race-1", public)
    with app.app.app_context():
        # the other worker's identical create: inserted, not yet committed
        conn = db.engine.connect()
        tx = conn.begin()
        now = clock.now()
        conn.execute(
            insert(Client.__table__).values(
                client_id="race-1",
                kind="oidc",
                name="Health RP",
                status="active",
                rp_id="health",
                logo_uri=request["logoUri"],
                redirect_uris=request["redirectUris"],
                acr_values=request["authContextRefs"],
                claims=["name"],
                grant_types=["authorization_code"],
                auth_methods=["private_key_jwt"],
                scopes=[],
                public_jwk=public,
                client_metadata={},
                created_at=now,
                updated_at=now,
                create_request_hash=hashlib.sha256(canonical_json(request)).hexdigest(),
            )
        )
        threading.Timer(1.0, tx.commit).start()
        response = client.post(
            "/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": request}, headers=bearer(admin_token)
        )
        conn.close()
    assert response.status_code == 200
    assert response.json()["errors"] == []  # today: HTTP 500 server_error


# --- R7: update errors do not follow the GovStack `required` order the module promises ------------------------------


def test_r7_update_reports_user_claims_before_auth_context_refs(client, admin_token):
    _, public = new_ec_key()
    created = client.post(
        "/client-mgmt/oidc-client",
        json={"requestTime": request_time(), "request": rp_request("order-1", public)},
        headers=bearer(admin_token),
    )
    assert created.json()["errors"] == []
    update = {
        "clientName": "RP",
        "status": "active",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": ["https://rp.example/cb"],
        "userClaims": ["not_a_claim"],
        "authContextRefs": ["not-an-acr"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    response = client.put(
        "/client-mgmt/oidc-client/order-1",
        json={"requestTime": request_time(), "request": update},
        headers=bearer(admin_token),
    )
    # GovStack PUT required: clientName, status, logoUri, redirectUris, userClaims, authContextRefs, ...
    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_claim"]  # today: invalid_acr


# --- R8: keys accepted at registration (P-384, RS384...) can never authenticate --------------------------------------


def test_r8_p384_key_accepted_at_registration_can_authenticate(app, client):
    from app.services import api_clients

    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with app.app.app_context():
        api_clients.register(
            "p384-client",
            name="p384",
            scopes=["read_oidc_client"],
            public_key=ECAlgorithm.to_jwk(private.public_key(), as_dict=True),
        )
    now = clock.epoch()
    assertion = pyjwt.encode(
        {
            "iss": "p384-client",
            "sub": "p384-client",
            "aud": ISSUER + "/oauth/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        },
        pem,
        algorithm="ES384",
    )
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
    )
    assert response.status_code == 200  # today: 400 invalid_client (ES384 not in ASSERTION_ALGS)
