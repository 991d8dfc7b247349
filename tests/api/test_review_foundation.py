"""Review findings on the foundation (issue 2): token endpoint, revocation, keys, audit, client management.

Each test demonstrated one defect found in review (all fixed since)
and turns the suite red (XPASS) once the defect is fixed, so the marker can then be removed.
Tests marked ``postgres`` only run with ``IDBB_TEST_DATABASE_URL`` set to PostgreSQL (as in ``.ci/run``).
"""

import hashlib
import threading
import uuid

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import insert, select, text

from app.clock import clock
from app.config import ConfigError, Settings
from tests.conftest import ASSERTION_TYPE, ISSUER, bearer, new_ec_key, request_time, seal_audit

PROTECTED = "/client-mgmt/oidc-client/anything"  # any operation guarded by read_oidc_client


def endpoint_call(client, path, caller, **form):
    data = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": caller.assertion(aud=ISSUER + path), **form}
    return client.post(path, data=data)


def rp_request(client_id, public_jwk, **changes):
    request = {"clientId": client_id, "clientName": "Health RP", "relyingPartyId": "health",
               "logoUri": "https://rp.example/logo.png", "redirectUris": ["https://rp.example/cb"],
               "authContextRefs": ["idbb:acr:static-code"], "publicKey": public_jwk, "userClaims": ["name"],
               "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"]}
    request.update(changes)
    return request


# --- R1: revocation with token_type_hint=refresh_token answers 200 but leaves the access token valid ---------------

def test_r1_revocation_with_a_wrong_hint_still_revokes_the_access_token(client, api_client):
    caller = api_client("read_oidc_client")
    token = caller.token()
    revoked = endpoint_call(client, "/oauth/revoke", caller, token=token, token_type_hint="refresh_token")
    assert revoked.status_code == 200  # the client is told the token is gone ...
    # RFC 7009 §2.1: if the token is not found under the hint the server MUST search all token types
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 401  # ... today: still 200


# --- R2: after an emergency (--now) rotation the compromised key still mints accepted tokens ------------------------

def test_r2_key_retired_by_immediate_rotation_cannot_sign_new_tokens(app, client):
    from app.services import keys

    with app.app.app_context():
        old = keys.signing_key("RSA")
        keys.rotate("RSA", immediate=True, actor="test")  # README/docstring: "at once, for a compromised key"
    stolen_pem = old.jwk.export_to_pem(private_key=True, password=None)
    now = clock.epoch()  # issued after the key was retired
    forged = pyjwt.encode(
        {"iss": ISSUER, "sub": "attacker", "aud": ISSUER, "client_id": "attacker", "iat": now, "nbf": now,
         "exp": now + 600, "jti": uuid.uuid4().hex, "scope": "add_oidc_client update_oidc_client read_oidc_client"},
        stolen_pem, algorithm="RS256", headers={"kid": old.kid, "typ": "at+jwt"})
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
        {"iss": ISSUER, "sub": "attacker", "aud": ISSUER, "client_id": "attacker", "iat": then, "nbf": then,
         "exp": then + 600, "jti": uuid.uuid4().hex, "scope": "read_oidc_client"},
        stolen_pem, algorithm="RS256", headers={"kid": old.kid, "typ": "at+jwt"})
    assert client.get(PROTECTED, headers=bearer(forged)).status_code == 401


# --- R3: deleting the newest audit events is not detected -----------------------------------------------------------

def test_r3_audit_verify_detects_a_truncated_tail(app, api_client):
    from app.extensions import db
    from app.models.audit import AuditEvent
    from app.services import audit

    api_client("read_oidc_client").token()  # appends api_client.created and token.issued
    with app.app.app_context():
        seal_audit()
        last = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert last.action == "token.issued"
        db.session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last.seq})
        db.session.commit()
        report = audit.verify()
    assert not report.ok  # today: ok=True, the issued token has vanished from the trail


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
        conn.execute(insert(Client.__table__).values(
            client_id="race-1", kind="oidc", name="Health RP", status="active", rp_id="health",
            logo_uri=request["logoUri"], redirect_uris=request["redirectUris"], acr_values=request["authContextRefs"],
            claims=["name"], grant_types=["authorization_code"], auth_methods=["private_key_jwt"], scopes=[],
            public_jwk=public, client_metadata={}, created_at=now, updated_at=now,
            create_request_hash=hashlib.sha256(canonical_json(request)).hexdigest()))
        threading.Timer(1.0, tx.commit).start()
        response = client.post("/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": request},
                               headers=bearer(admin_token))
        conn.close()
    assert response.status_code == 200
    assert response.json()["errors"] == []  # today: HTTP 500 server_error


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
    settings = Settings(profile="production", issuer=ISSUER, kek=kek, key_publish_ahead=publish_ahead,
                        jwks_max_age=300)
    with pytest.raises(ConfigError):
        settings.validate()


# --- R7: update errors do not follow the GovStack `required` order the module promises ------------------------------

def test_r7_update_reports_user_claims_before_auth_context_refs(client, admin_token):
    _, public = new_ec_key()
    created = client.post("/client-mgmt/oidc-client", json={"requestTime": request_time(),
                          "request": rp_request("order-1", public)}, headers=bearer(admin_token))
    assert created.json()["errors"] == []
    update = {"clientName": "RP", "status": "active", "logoUri": "https://rp.example/logo.png",
              "redirectUris": ["https://rp.example/cb"], "userClaims": ["not_a_claim"],
              "authContextRefs": ["not-an-acr"], "grantTypes": ["authorization_code"],
              "clientAuthMethods": ["private_key_jwt"]}
    response = client.put("/client-mgmt/oidc-client/order-1", json={"requestTime": request_time(), "request": update},
                          headers=bearer(admin_token))
    # GovStack PUT required: clientName, status, logoUri, redirectUris, userClaims, authContextRefs, ...
    assert [e["errorCode"] for e in response.json()["errors"]] == ["invalid_claim"]  # today: invalid_acr


# --- R8: keys accepted at registration (P-384, RS384...) can never authenticate --------------------------------------

def test_r8_p384_key_accepted_at_registration_can_authenticate(app, client):
    from app.services import api_clients

    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    with app.app.app_context():
        api_clients.register("p384-client", name="p384", scopes=["read_oidc_client"],
                             public_key=ECAlgorithm.to_jwk(private.public_key(), as_dict=True))
    now = clock.epoch()
    assertion = pyjwt.encode({"iss": "p384-client", "sub": "p384-client", "aud": ISSUER + "/oauth/token",
                              "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}, pem, algorithm="ES384")
    response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                 "client_assertion_type": ASSERTION_TYPE,
                                                 "client_assertion": assertion})
    assert response.status_code == 200  # today: 400 invalid_client (ES384 not in ASSERTION_ALGS)


# --- R9: a long jti from a valid client is a 500 on PostgreSQL ---------------------------------------------------------

@pytest.mark.postgres
def test_r9_long_assertion_jti_is_an_oauth_error_not_a_500(api_client):
    response = api_client("read_oidc_client").token_response(jti="x" * 300)
    assert response.status_code in (200, 400, 401)  # today: 500 (replay key overflows VARCHAR(255))


# --- R10: a client_id parameter naming another client is ignored --------------------------------------------------------

def test_r10_client_id_parameter_must_match_the_assertion(client, api_client):
    caller = api_client("read_oidc_client")
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "someone-else",
                                                 "client_assertion_type": ASSERTION_TYPE,
                                                 "client_assertion": caller.assertion()})
    # RFC 7521 §4.2 / RFC 6749 §3.2.1: client_id, if present, MUST identify the authenticated client
    assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"  # today: 200


# --- R11: a 500 logs the SQL parameters of the failing statement (row values, personal data on enrollment paths) -----

def test_r11_database_errors_do_not_carry_bound_parameters_into_logs(app):
    from app.extensions import db

    with app.app.app_context():
        # error_formats.handle logs exc_info for every 5xx; SQLAlchemy puts "[parameters: {...}]" in str(exc)
        assert db.engine.hide_parameters  # today: False
