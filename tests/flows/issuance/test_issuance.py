"""Credential issuance end to end (issue 16): a backend starts an issuance, a wallet plays OpenID4VCI 1.0 over
plain HTTP (offer by reference → pre-authorized token → nonce → proof → credential), and every credential is
verified by an independent implementation: the ``sd-jwt`` package (with a key-binding presentation), pymdoccbor
and ``cryptography`` for the mdoc and its chain to the published IACA, PyJWT for the JWT VC; status lists are
decoded by the test's own decoder.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import jwt as pyjwt
import pytest
from jwcrypto import jwk
from pymdoccbor.mdoc.verifier import MdocCbor
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

from app.clock import clock
from tests.conftest import ISSUER, bearer
from tests.flows.issuance_helpers import (
    JWT_VC,
    MDOC_PID,
    PRE_AUTH,
    SD_JWT_PID,
    Backend,
    HolderKey,
    Wallet,
    b64url_decode,
    code_of,
    iaca_roots,
    now,
    published_key,
    status_of_cwt,
    status_of_jwt,
)
from tests.flows.oidc_helpers import enroll_citizen


def start(backend: Backend, citizen: Any, config: str, **extra: Any) -> dict[str, Any]:
    return backend.issued(credentialConfigurationId=config, subject={"uin": citizen.uin}, **extra)


def collect(wallet: Wallet, created: dict[str, Any], *, holders: int = 1, dpop: bool = False) -> tuple[Any, ...]:
    offer = wallet.offer(created["offerUri"])
    token = wallet.token(code_of(offer), created.get("txCode"), dpop=dpop)
    keys = [HolderKey() for _ in range(holders)]
    response = wallet.credential(token, keys)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return token, keys, response.json()


# --- metadata -------------------------------------------------------------------------------------


def test_issuer_metadata_lists_the_three_configurations_in_1_0_shapes(client):
    meta = client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == ISSUER
    assert meta["credential_endpoint"] == ISSUER + "/credential"
    assert meta["nonce_endpoint"] == ISSUER + "/nonce"
    assert meta["deferred_credential_endpoint"] == ISSUER + "/deferred_credential"
    assert meta["notification_endpoint"] == ISSUER + "/notification"
    assert meta["batch_credential_issuance"]["batch_size"] >= 3
    configs = meta["credential_configurations_supported"]
    assert configs[SD_JWT_PID]["format"] == "dc+sd-jwt" and configs[SD_JWT_PID]["vct"] == "urn:eudi:pid:1"
    assert configs[MDOC_PID]["format"] == "mso_mdoc" and configs[MDOC_PID]["doctype"] == "eu.europa.ec.eudi.pid.1"
    assert configs[MDOC_PID]["credential_signing_alg_values_supported"] == [-7]  # COSE integers for mdoc
    assert configs[JWT_VC]["credential_definition"]["type"] == ["VerifiableCredential", "NationalIdCredential"]
    for config in configs.values():
        assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
        claims = config["credential_metadata"]["claims"]
        assert all(isinstance(c["path"], list) for c in claims)
        assert {d["locale"] for d in config["credential_metadata"]["display"]} == {"en", "fr", "ar"}
    iacas = client.get(meta["mdoc_iacas_uri"][len(ISSUER) :])
    assert iacas.status_code == 200 and iacas.json()["iacas"]
    server = client.get("/.well-known/oauth-authorization-server").json()
    assert PRE_AUTH in server["grant_types_supported"]
    assert server["pre-authorized_grant_anonymous_access_supported"] is True


# --- the three formats ----------------------------------------------------------------------------


def test_sd_jwt_vc_with_tx_code_verified_by_the_sd_jwt_package(backend, citizen, wallet, client):
    created = start(backend, citizen, SD_JWT_PID, txCode={"length": 6, "inputMode": "numeric"})
    assert created["qrCode"].startswith("data:image/svg+xml;base64,")
    assert created["statusUri"] == f"{ISSUER}/v1/issuance/{created['issuanceId']}"
    offer = wallet.offer(created["offerUri"])
    assert offer["credential_issuer"] == ISSUER and offer["credential_configuration_ids"] == [SD_JWT_PID]
    assert offer["grants"][PRE_AUTH]["tx_code"] == {
        "input_mode": "numeric",
        "length": 6,
        "description": offer["grants"][PRE_AUTH]["tx_code"]["description"],
    }
    assert len(created["txCode"]) == 6 and created["txCode"].isdigit()
    token = wallet.token(code_of(offer), created["txCode"])
    assert token["token_type"] == "Bearer"
    assert token["authorization_details"][0]["credential_configuration_id"] == SD_JWT_PID
    holder = HolderKey()
    answer = wallet.credential(token, [holder]).json()
    assert answer["notification_id"]
    [entry] = answer["credentials"]
    serialised = entry["credential"]

    issuer_jwt = serialised.split("~")[0]
    header = pyjwt.get_unverified_header(issuer_jwt)
    assert header["typ"] == "dc+sd-jwt" and header["x5c"]
    issuer_key = published_key(client, header["kid"])
    payload = pyjwt.decode(
        issuer_jwt, pyjwt.PyJWK(issuer_key), algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert payload["iss"] == ISSUER and payload["vct"] == "urn:eudi:pid:1"
    assert payload["exp"] > now() + 300 * 86400
    assert payload["cnf"]["jwk"]["x"] == holder.public_jwk["x"]
    assert "given_name" not in payload and payload["_sd_alg"] == "sha-256"  # selectively disclosable
    status = payload["status"]["status_list"]
    assert status_of_jwt(client, status["uri"], status["idx"]) == 0  # VALID
    assert status_of_cwt(client, status["uri"], status["idx"]) == 0

    issuer_public = jwk.JWK(**issuer_key)
    verified = SDJWTVerifier(serialised, lambda iss, hdr: issuer_public).get_verified_payload()
    assert verified["given_name"] == "Amina" and verified["family_name"] == "Diallo"
    assert verified["birthdate"] == "1990-04-12" and verified["age_equal_or_over"] == {"18": True}
    assert verified["personal_administrative_number"] == citizen.uin

    holder_jwk = jwk.JWK.from_pem(holder.pem)
    presenter = SDJWTHolder(serialised)
    presenter.create_presentation(
        {"given_name": True}, nonce="verifier-nonce", aud="https://verifier.example", holder_key=holder_jwk, sign_alg="ES256"
    )
    presented = SDJWTVerifier(
        presenter.sd_jwt_presentation,
        lambda iss, hdr: issuer_public,
        expected_aud="https://verifier.example",
        expected_nonce="verifier-nonce",
    )
    shown = presented.get_verified_payload()
    assert shown["given_name"] == "Amina" and "family_name" not in shown


def test_mdoc_verified_by_pymdoccbor_and_chained_to_the_published_iaca(backend, citizen, wallet, client):
    created = start(backend, citizen, MDOC_PID)
    _, [holder], answer = collect(wallet, created)
    raw = b64url_decode(answer["credentials"][0]["credential"])  # Appendix A.2.4: base64url IssuerSigned
    issuer_signed = cbor2.loads(raw)
    roots = iaca_roots(client)
    mdoc = MdocCbor()
    mdoc.loads(
        cbor2.dumps(
            {
                "version": "1.0",
                "status": 0,
                "documents": [{"docType": "eu.europa.ec.eudi.pid.1", "issuerSigned": issuer_signed}],
            }
        )
    )
    assert mdoc.verify(trusted_root_certs=roots, verify_hashes=True) is True
    elements = mdoc.disclosure_map["eu.europa.ec.eudi.pid.1"]
    assert elements["family_name"] == "Diallo" and elements["birth_date"] == date(1990, 4, 12)
    assert elements["issuing_country"] == "ZZ" and elements["age_over_18"] is True

    from cryptography import x509

    _, unprotected, mso_payload, _ = issuer_signed["issuerAuth"]
    ds = x509.load_der_x509_certificate(unprotected[33])
    ds.verify_directly_issued_by(roots[0])  # the chain to the IACA, checked with cryptography
    assert ds.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)[0].value == "ZZ"
    mso = cbor2.loads(cbor2.loads(mso_payload).value)
    device_key = mso["deviceKeyInfo"]["deviceKey"]
    numbers = holder.private.public_key().public_numbers()
    assert device_key[-2] == numbers.x.to_bytes(32, "big")  # the proof's key became the device key
    status = mso["status"]["status_list"]
    assert status_of_cwt(client, status["uri"], status["idx"]) == 0


def test_jwt_vc_json_verified_by_pyjwt(backend, citizen, wallet, client):
    created = start(backend, citizen, JWT_VC)
    _, [holder], answer = collect(wallet, created)
    token = answer["credentials"][0]["credential"]
    header = pyjwt.get_unverified_header(token)
    claims = pyjwt.decode(
        token,
        pyjwt.PyJWK(published_key(client, header["kid"])),
        algorithms=["ES256"],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["iss"] == ISSUER and claims["jti"].startswith("urn:uuid:")
    assert claims["vc"]["type"] == ["VerifiableCredential", "NationalIdCredential"]
    assert claims["vc"]["credentialSubject"]["given_name"] == "Amina"
    assert claims["cnf"]["jwk"]["x"] == holder.public_jwk["x"]
    assert status_of_jwt(client, claims["status"]["status_list"]["uri"], claims["status"]["status_list"]["idx"]) == 0


def test_explicit_claims_and_dpop_bound_token(backend, wallet):
    created = backend.issued(
        credentialConfigurationId=JWT_VC,
        claims={"given_name": "Kofi", "family_name": "Mensah", "birthdate": "1985-11-30", "national_id_number": "X1"},
    )
    offer = wallet.offer(created["offerUri"])
    token = wallet.token(code_of(offer), dpop=True)
    assert token["token_type"] == "DPoP"
    nonce = wallet.c_nonce()
    body = {
        "credential_identifier": token["authorization_details"][0]["credential_identifiers"][0],
        "proofs": {"jwt": [HolderKey().proof(nonce)]},
    }
    stranger = HolderKey()  # a DPoP proof by another key than the one the token is bound to
    refused = wallet.credential_response(token, body, key=stranger)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_dpop_proof"
    bearer_use = wallet.http.post("/credential", json=body, headers=bearer(token["access_token"]))
    assert bearer_use.status_code == 401 and bearer_use.json()["error"] == "invalid_token"
    ok = wallet.credential_response(token, body)
    assert ok.status_code == 200, ok.text
    payload = pyjwt.decode(ok.json()["credentials"][0]["credential"], options={"verify_signature": False})
    assert payload["vc"]["credentialSubject"]["given_name"] == "Kofi"


# --- batch, history, notification ---------------------------------------------------------------


def test_batch_of_three_proofs_gives_three_credentials_with_distinct_keys_and_indexes(backend, citizen, wallet, client, app):
    created = start(backend, citizen, SD_JWT_PID)
    _, keys, answer = collect(wallet, created, holders=3)
    assert len(answer["credentials"]) == 3
    payloads = [
        pyjwt.decode(c["credential"].split("~")[0], options={"verify_signature": False}) for c in answer["credentials"]
    ]
    assert [p["cnf"]["jwk"]["x"] for p in payloads] == [k.public_jwk["x"] for k in keys]
    indexes = {(p["status"]["status_list"]["uri"], p["status"]["status_list"]["idx"]) for p in payloads}
    assert len(indexes) == 3
    record = backend.read(created["issuanceId"])
    assert len(record["credentials"]) == 3
    assert {(c["status"]["uri"], c["status"]["idx"]) for c in record["credentials"]} == indexes
    assert all(c["revocationId"] and c["format"] == "dc+sd-jwt" for c in record["credentials"])
    assert len({c["revocationId"] for c in record["credentials"]}) == 3
    assert record["state"] == "credential_issued" and record["history"][-1]["count"] == 3
    # the outbox event written with the rows (one statement on PostgreSQL) names exactly these three credentials
    from sqlalchemy import select

    from app.extensions import db
    from app.models.registry import OutboxEvent

    with app.app.app_context():
        issued = [
            e.payload
            for e in db.session.execute(select(OutboxEvent).where(OutboxEvent.topic == "credential.issued")).scalars()
            if e.payload["issuanceId"] == created["issuanceId"]
        ]
    assert len(issued) == 1 and issued[0]["configurationId"] == SD_JWT_PID
    assert sorted(issued[0]["credentialIds"]) == sorted(c["credentialId"] for c in record["credentials"])


def test_history_moves_with_fetch_redeem_issue_and_notification(backend, citizen, wallet, client):
    created = start(backend, citizen, SD_JWT_PID, correlationId="case-42")
    assert backend.states(created["issuanceId"]) == ["offer_sent"]
    token, _, answer = collect(wallet, created)
    assert backend.states(created["issuanceId"]) == ["offer_sent", "offer_received", "credential_issued"]
    wrong = client.post(
        "/notification",
        json={"notification_id": "nope", "event": "credential_accepted"},
        headers=wallet.auth(token, "/notification"),
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_notification_id"
    bad = client.post(
        "/notification",
        json={"notification_id": answer["notification_id"], "event": "kept"},
        headers=wallet.auth(token, "/notification"),
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_notification_request"
    ok = client.post(
        "/notification",
        json={"notification_id": answer["notification_id"], "event": "credential_accepted"},
        headers=wallet.auth(token, "/notification"),
    )
    assert ok.status_code == 204
    record = backend.read(created["issuanceId"])
    assert record["state"] == "credential_accepted" and record["correlationId"] == "case-42"
    assert [s["state"] for s in record["history"]][-2:] == ["credential_acked", "credential_accepted"]
    found = client.get("/v1/issuance", params={"correlationId": "case-42"}, headers=bearer(backend.token)).json()
    assert [i["issuanceId"] for i in found["issuances"]] == [created["issuanceId"]]
    by_state = client.get("/v1/issuance", params={"state": "offer_sent"}, headers=bearer(backend.token)).json()
    assert by_state["issuances"] == []


def test_backend_sees_only_its_own_issuances_and_needs_its_scopes(backend, citizen, api_client, client):
    created = start(backend, citizen, SD_JWT_PID)
    other = api_client("issuance.read", "issuance.write").token()
    assert client.get(f"/v1/issuance/{created['issuanceId']}", headers=bearer(other)).status_code == 404
    reader = api_client("issuance.read").token()
    refused = client.post(
        "/v1/issuance",
        json={"credentialConfigurationId": SD_JWT_PID, "subject": {"uin": citizen.uin}},
        headers=bearer(reader),
    )
    assert refused.status_code == 403
    assert client.get("/v1/issuance", headers={}).status_code == 401
    unknown = backend.issue(credentialConfigurationId="nope", subject={"uin": citizen.uin})
    assert unknown.status_code == 400 and "unknown_credential_configuration" in unknown.json()["message"]
    assert backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": "0000000000"}).status_code == 404
    missing = backend.issue(credentialConfigurationId=JWT_VC, claims={"given_name": "Ama"})
    assert missing.status_code == 400 and "credentialSubject/family_name" in missing.json()["message"]
    assert "Ama" not in missing.text  # never a claim value in an error


# --- the token endpoint's pre-authorized code rules -------------------------------------------------


def test_tx_code_missing_wrong_and_too_many_tries(backend, citizen, wallet):
    created = start(backend, citizen, SD_JWT_PID, txCode={"length": 6})
    code = code_of(wallet.offer(created["offerUri"]))
    missing = wallet.token_response(code)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    for _ in range(3):
        wrong = wallet.token_response(code, "000000" if created["txCode"] != "000000" else "111111")
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        assert created["txCode"] not in wrong.text
    dead = wallet.token_response(code, created["txCode"])  # the right code, too late: the offer is dead
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert backend.read(created["issuanceId"])["state"] == "offer_expired"


def test_pre_authorized_code_is_single_use_and_short_lived(backend, citizen, wallet):
    created = start(backend, citizen, SD_JWT_PID)
    code = code_of(wallet.offer(created["offerUri"]))
    assert wallet.token_response(code).status_code == 200
    replay = wallet.token_response(code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    later = start(backend, citizen, SD_JWT_PID, expiresIn=60)
    late_code = code_of(wallet.offer(later["offerUri"]))
    clock.advance(61)
    expired = wallet.token_response(late_code)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"
    assert (
        wallet.http.get(
            later["offerUri"].split("credential_offer_uri=")[1].replace("%3A", ":").replace("%2F", "/")[len(ISSUER) :]
        ).status_code
        == 404
    )
    unexpected = start(backend, citizen, SD_JWT_PID)
    extra = wallet.token_response(code_of(wallet.offer(unexpected["offerUri"])), "123456")
    assert extra.status_code == 400 and extra.json()["error"] == "invalid_request"
    assert wallet.token_response("made-up").json()["error"] == "invalid_grant"


# --- the credential endpoint's refusals -------------------------------------------------------------


@pytest.fixture
def ready(backend, citizen, wallet) -> tuple[Wallet, dict[str, Any], str]:
    created = start(backend, citizen, SD_JWT_PID)
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    return wallet, token, token["authorization_details"][0]["credential_identifiers"][0]


def _error(response: Any) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return str(response.json()["error"])


def test_proofs_with_wrong_aud_stale_iat_wrong_typ_or_no_nonce_are_invalid_proof(ready):
    wallet, token, ident = ready
    key = HolderKey()
    for proof in (
        key.proof(wallet.c_nonce(), aud="https://other.example"),
        key.proof(wallet.c_nonce(), iat=now() - 3600),
        key.proof(wallet.c_nonce(), typ="JWT"),
        key.proof(None),
        key.proof(wallet.c_nonce(), iss="someone"),  # F.1: no iss after anonymous access
        key.proof(wallet.c_nonce(), header={"kid": "did:example:123"}),
    ):
        body = {"credential_identifier": ident, "proofs": {"jwt": [proof]}}
        assert _error(wallet.credential_response(token, body)) == "invalid_proof"
    assert _error(wallet.credential_response(token, {"credential_identifier": ident})) == "invalid_proof"


def test_replayed_proof_and_c_nonce_are_refused(backend, citizen, wallet):
    first, second = start(backend, citizen, SD_JWT_PID), start(backend, citizen, SD_JWT_PID)
    token_a = wallet.token(code_of(wallet.offer(first["offerUri"])))
    token_b = wallet.token(code_of(wallet.offer(second["offerUri"])))
    nonce = wallet.c_nonce()
    proof = HolderKey().proof(nonce)
    ident = token_a["authorization_details"][0]["credential_identifiers"][0]
    assert (
        wallet.credential_response(token_a, {"credential_identifier": ident, "proofs": {"jwt": [proof]}}).status_code == 200
    )
    body = {"credential_identifier": ident, "proofs": {"jwt": [proof]}}
    assert _error(wallet.credential_response(token_b, body)) == "invalid_proof"  # the same proof again
    body["proofs"] = {"jwt": [HolderKey().proof(nonce)]}  # a new proof with the used c_nonce
    assert _error(wallet.credential_response(token_b, body)) == "invalid_nonce"
    body["proofs"] = {"jwt": [HolderKey().proof("not-a-nonce-idbb-issued")]}
    assert _error(wallet.credential_response(token_b, body)) == "invalid_nonce"


def test_every_credential_request_error_code(ready, client):
    wallet, token, ident = ready
    proof = {"jwt": [HolderKey().proof(wallet.c_nonce())]}
    assert _error(wallet.credential_response(token, {"proofs": proof})) == "invalid_credential_request"
    both = {"credential_identifier": ident, "credential_configuration_id": SD_JWT_PID, "proofs": proof}
    assert _error(wallet.credential_response(token, both)) == "invalid_credential_request"
    assert _error(wallet.credential_response(token, [1, 2])) == "invalid_credential_request"
    assert (
        _error(wallet.credential_response(token, {"credential_configuration_id": "nope", "proofs": proof}))
        == "unknown_credential_configuration"
    )
    assert (
        _error(wallet.credential_response(token, {"credential_identifier": "nope", "proofs": proof}))
        == "unknown_credential_identifier"
    )
    assert (
        _error(
            wallet.credential_response(
                token,
                {
                    "credential_identifier": ident,
                    "proofs": proof,
                    "credential_response_encryption": {"jwk": {}, "enc": "A256GCM"},
                },
            )
        )
        == "invalid_encryption_parameters"
    )
    many = {"jwt": [HolderKey().proof(wallet.c_nonce()) for _ in range(11)]}
    assert (
        _error(wallet.credential_response(token, {"credential_identifier": ident, "proofs": many}))
        == "invalid_credential_request"
    )
    same = HolderKey()
    nonce = wallet.c_nonce()
    twice = {"jwt": [same.proof(nonce), same.proof(nonce, jti="other")]}
    assert _error(wallet.credential_response(token, {"credential_identifier": ident, "proofs": twice})) == "invalid_proof"
    assert wallet.credential(token, [HolderKey()], ident).status_code == 200
    again = wallet.credential(token, [HolderKey()], ident)
    assert _error(again) == "credential_request_denied"
    no_token = client.post("/credential", json={"credential_identifier": ident, "proofs": proof})
    assert no_token.status_code == 401 and no_token.json()["error"] == "invalid_token"


def test_a_revoked_access_token_gets_invalid_token_whatever_the_request(ready, backend, app):
    """The revocation marker is read in the round trip that spends the proofs (and, for a request refused before
    it, on the way out): a revoked token never gets a credential nor an answer about the issuance."""
    from app.services.oidc import access_tokens
    from app.services.transaction import atomic

    wallet, token, ident = ready
    with app.app.app_context(), atomic():
        access_tokens.revoke(pyjwt.decode(token["access_token"], options={"verify_signature": False}))
    for body in (
        {"credential_identifier": ident, "proofs": {"jwt": [HolderKey().proof(wallet.c_nonce())]}},  # a good request
        {"credential_identifier": "nope", "proofs": {"jwt": [HolderKey().proof(wallet.c_nonce())]}},  # refused early
        {"credential_identifier": ident},  # no proofs
    ):
        refused = wallet.credential_response(token, body)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_token"
    issuance = backend.read(backend_id(token))
    assert "credential_issued" not in [step["state"] for step in issuance["history"]]


def backend_id(token: dict[str, Any]) -> str:
    return str(pyjwt.decode(token["access_token"], options={"verify_signature": False})["iid"])


# --- deferred -------------------------------------------------------------------------------------


def test_deferred_pending_then_completed_then_issued(backend, citizen, wallet, client):
    created = backend.issued(credentialConfigurationId=SD_JWT_PID, mode="Deferred")
    assert backend.read(created["issuanceId"])["credentialStatus"] == "pending"
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    holder = HolderKey()
    pending = wallet.credential(token, [holder])
    assert pending.status_code == 202 and pending.json()["interval"] > 0
    transaction_id = pending.json()["transaction_id"]
    again = client.post(
        "/deferred_credential", json={"transaction_id": transaction_id}, headers=wallet.auth(token, "/deferred_credential")
    )
    assert again.status_code == 202 and again.json()["transaction_id"] == transaction_id
    unknown = client.post(
        "/deferred_credential", json={"transaction_id": "nope"}, headers=wallet.auth(token, "/deferred_credential")
    )
    assert _error(unknown) == "invalid_transaction_id"
    done = client.post(
        f"/v1/issuance/{created['issuanceId']}/complete",
        headers=bearer(backend.token),
        json={
            "claims": {
                "family_name": "Diallo",
                "given_name": "Amina",
                "birthdate": "1990-04-12",
                "personal_administrative_number": citizen.uin,
            }
        },
    )
    assert done.status_code == 200 and done.json()["credentialStatus"] == "ready"
    issued = client.post(
        "/deferred_credential", json={"transaction_id": transaction_id}, headers=wallet.auth(token, "/deferred_credential")
    )
    assert issued.status_code == 200, issued.text
    payload = pyjwt.decode(issued.json()["credentials"][0]["credential"].split("~")[0], options={"verify_signature": False})
    assert payload["cnf"]["jwk"]["x"] == holder.public_jwk["x"]  # bound to the key of the first request
    used = client.post(
        "/deferred_credential", json={"transaction_id": transaction_id}, headers=wallet.auth(token, "/deferred_credential")
    )
    assert _error(used) == "invalid_transaction_id"  # §9.1: invalidated once obtained
    assert backend.read(created["issuanceId"])["state"] == "credential_issued"


def test_deferred_denied(backend, wallet, client):
    created = backend.issued(credentialConfigurationId=SD_JWT_PID, mode="Deferred")
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    transaction_id = wallet.credential(token, [HolderKey()]).json()["transaction_id"]
    denied = client.post(
        f"/v1/issuance/{created['issuanceId']}/complete",
        headers=bearer(backend.token),
        json={"deny": {"reason": "documents not verified"}},
    )
    assert denied.status_code == 200 and denied.json()["state"] == "issuance_denied"
    answer = client.post(
        "/deferred_credential", json={"transaction_id": transaction_id}, headers=wallet.auth(token, "/deferred_credential")
    )
    assert _error(answer) == "credential_request_denied"


# --- status lists ---------------------------------------------------------------------------------


def test_status_list_is_cached_with_etag_and_resigned_before_exp(backend, citizen, wallet, client, app):
    created = start(backend, citizen, JWT_VC)
    _, _, answer = collect(wallet, created)
    claims = pyjwt.decode(answer["credentials"][0]["credential"], options={"verify_signature": False})
    path = claims["status"]["status_list"]["uri"][len(ISSUER) :]
    first = client.get(path)
    second = client.get(path)
    assert first.text == second.text  # served from the cache, not re-signed per request
    ttl = int(first.headers["Cache-Control"].split("max-age=")[1])
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    lifetime = app.app.extensions["idbb"].settings.status_list_lifetime
    clock.advance(lifetime - ttl + 1)  # inside the last ttl before exp: a fresh token
    third = client.get(path)
    assert third.text != first.text
    assert pyjwt.decode(third.text, options={"verify_signature": False})["exp"] > clock.timestamp() + ttl
    assert client.get("/statuslists/ffffffffffffffff").status_code == 404
    assert client.get("/statuslists/NOT-HEX").status_code == 400


def test_status_index_allocation_is_random_and_unique(app):
    from app.services.status import allocation
    from app.services.transaction import atomic

    with app.app.app_context():
        with atomic():
            refs = [allocation.allocate() for _ in range(50)]
    idx = [r.idx for r in refs]
    assert len(set(idx)) == 50
    assert idx != sorted(idx)  # not in issuance order


def test_audit_and_errors_carry_no_claim_values_or_codes(backend, citizen, wallet, app):
    created = start(backend, citizen, SD_JWT_PID, txCode={"length": 6})
    token = wallet.token(code_of(wallet.offer(created["offerUri"])), created["txCode"])
    assert wallet.credential(token, [HolderKey()]).status_code == 200
    from sqlalchemy import select

    from app.extensions import db
    from app.models.audit import AuditEvent
    from app.models.issuance import Issuance
    from app.models.registry import OutboxEvent
    from tests.conftest import seal_audit

    with app.app.app_context():
        seal_audit()
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action.like("issuance.%"))).scalars().all()
        text = repr([(e.action, e.details) for e in events])
        outbox = repr(
            [
                (e.topic, e.payload)
                for e in db.session.execute(select(OutboxEvent).where(OutboxEvent.topic.like("credential.%"))).scalars()
            ]
        )
        row = db.session.get(Issuance, created["issuanceId"])
        assert row.claims_sealed is None  # deleted once issued
    assert {"issuance.offer_created", "issuance.token_issued", "issuance.credential_issued"} <= {e.action for e in events}
    for secret in ("Amina", "Diallo", "1990-04-12", created["txCode"], code_of(created["offer"]), citizen.uin):
        assert secret not in text and secret not in outbox
    assert "credential.issued" in outbox


def test_offer_by_value_and_haip_scheme(backend, citizen):
    created = start(
        backend, citizen, SD_JWT_PID, offerByValue=True, offerScheme="haip://", qrCode={"format": "png", "size": 3}
    )
    assert created["offerUri"].startswith("haip://?credential_offer=")
    assert created["qrCode"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("when", [timedelta(seconds=0)])
def test_expired_offers_lose_their_claims(backend, citizen, app, when):
    created = start(backend, citizen, SD_JWT_PID, expiresIn=30)
    clock.advance(31)
    start(backend, citizen, SD_JWT_PID)  # any new issuance purges what expired
    from app.extensions import db
    from app.models.issuance import Issuance

    with app.app.app_context():
        assert db.session.get(Issuance, created["issuanceId"]).claims_sealed is None
    assert datetime.now(UTC) + when


@pytest.mark.parametrize(
    ("language", "phrase"),
    [("en", "Collect your credential"), ("fr", "Récupérer votre attestation"), ("ar", "استلم وثيقتك الرقمية")],
)
def test_offer_page_in_the_login_languages(backend, citizen, client, language, phrase):
    created = start(backend, citizen, SD_JWT_PID, txCode={"length": 6, "delivery": "response"})
    page = client.get(f"/offers/{created['issuanceId']}", headers={"Accept-Language": language})
    assert page.status_code == 200 and phrase in page.text
    assert "<svg" in page.text and 'href="openid-credential-offer://?credential_offer_uri=' in page.text
    assert created["txCode"] not in page.text and "6" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/offers/unknown").status_code == 404


def test_tx_code_by_email_reaches_the_person_not_the_backend(make_app, api_client):
    cx = make_app(profile="development", notifier="outbox")
    http = cx.test_client(base_url=ISSUER)
    backend = Backend(http, api_client("issuance.write", "issuance.read").token())

    person = enroll_citizen(cx, email="ama@example.org")
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID, subject={"uin": person.uin}, txCode={"length": 8, "delivery": "email"}
    )
    assert "txCode" not in created
    sender = cx.app.extensions["idbb"].cache["notifier"]
    [message] = [m for m in sender.messages() if m["address"] == "ama@example.org"]
    code = message["body"].split("is ")[1].split(".")[0]
    assert len(code) == 8
    wallet = Wallet(http)
    assert wallet.token(code_of(wallet.offer(created["offerUri"])), code)["access_token"]
    sms = backend.issue(
        credentialConfigurationId=JWT_VC,
        txCode={"delivery": "sms"},
        claims={"given_name": "A", "family_name": "B", "birthdate": "2000-01-01", "national_id_number": "N"},
    )
    assert sms.status_code == 400 and "invalid_tx_code_delivery" in sms.json()["message"]  # needs a person's contact


def test_authorization_code_variant_through_the_login_pages(client, admin_token, citizen):
    """§5: the wallet, a registered client, asks for the configuration's scope at /authorize, the person logs in
    with the PIN and consents, the code becomes a token, and /credential takes credential_configuration_id."""
    from tests.flows.oidc_helpers import register_rp

    rp = register_rp(client, admin_token)
    tokens = rp.login_and_token(citizen.uin, citizen.pin, scope=f"openid {SD_JWT_PID}")
    assert SD_JWT_PID in tokens["scope"].split()
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    wallet = Wallet(client)
    holder = HolderKey()
    body = {"credential_configuration_id": SD_JWT_PID, "proofs": {"jwt": [holder.proof(wallet.c_nonce(), iss=rp.client_id)]}}
    with_identifier = {"credential_identifier": f"{SD_JWT_PID}:0", "proofs": body["proofs"]}
    assert wallet.credential_response(token, with_identifier).json()["error"] == "invalid_credential_request"
    other = {"credential_configuration_id": MDOC_PID, "proofs": body["proofs"]}
    assert wallet.credential_response(token, other).status_code == 403  # not the scope granted
    answer = wallet.credential_response(token, body)
    assert answer.status_code == 200, answer.text
    serialised = answer.json()["credentials"][0]["credential"]
    header = pyjwt.get_unverified_header(serialised.split("~")[0])
    issuer_public = jwk.JWK(**published_key(client, header["kid"]))
    claims = SDJWTVerifier(serialised, lambda iss, hdr: issuer_public).get_verified_payload()
    assert claims["family_name"] == "Diallo" and claims["personal_administrative_number"] == citizen.uin
    assert claims["cnf"]["jwk"]["x"] == holder.public_jwk["x"]
    ok = client.post(
        "/notification",
        json={"notification_id": answer.json()["notification_id"], "event": "credential_deleted"},
        headers=wallet.auth(token, "/notification"),
    )
    assert ok.status_code == 204


def test_a_response_key_that_cannot_be_encrypted_to_is_refused_before_anything_is_issued(backend, citizen, wallet, client):
    """§8.2/§10: a credential_response_encryption jwk that imports but cannot be encrypted to (an RSA modulus of
    20,000 bits: OpenSSL stops at 16,384) was a 500 after the credential was issued and its c_nonce spent. It is
    invalid_encryption_parameters (400) before anything is written, and the wallet can ask again."""
    import base64
    import json
    import secrets

    from joserfc import jwe
    from joserfc.jwk import ECKey, RSAKey

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    [server_key] = client.get("/.well-known/openid-credential-issuer").json()["credential_request_encryption"]["jwks"][
        "keys"
    ]
    created = start(backend, citizen, SD_JWT_PID)
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    ident = token["authorization_details"][0]["credential_identifiers"][0]

    def send(response_jwk: dict[str, Any]) -> Any:
        request = {
            "credential_identifier": ident,
            "proofs": {"jwt": [HolderKey().proof(wallet.c_nonce())]},
            "credential_response_encryption": {"jwk": response_jwk, "enc": "A256GCM"},
        }
        sealed = jwe.encrypt_compact(
            {"alg": server_key["alg"], "enc": "A256GCM", "kid": server_key["kid"]},
            json.dumps(request).encode(),
            RSAKey.import_key(server_key),
            registry=jwe.JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"]),
        )
        return client.post(
            "/credential", content=sealed, headers={**bearer(token["access_token"]), "Content-Type": "application/jwt"}
        )

    for bits in (20000, 1024):  # beyond what OpenSSL encrypts to; below NIST SP 800-131A's 2048
        n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        refused = send({"kty": "RSA", "n": b64(n), "e": "AQAB", "alg": "RSA-OAEP-256", "kid": "w"})
        assert refused.status_code == 400, refused.text[:300]
        assert refused.json()["error"] == "invalid_encryption_parameters"
    good = {**ECKey.generate_key("P-256", private=True).as_dict(private=False), "alg": "ECDH-ES", "kid": "w2"}
    assert send(good).status_code == 200


def test_encrypted_request_and_response_with_joserfc(backend, citizen, wallet, client):
    """§10: the request as a JWE to idbb's advertised key, the response as a JWE to the wallet's key, both made and
    opened here with joserfc (not idbb's jwcrypto)."""
    import json

    from joserfc import jwe
    from joserfc.jwk import ECKey, RSAKey

    meta = client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_response_encryption"]["encryption_required"] is False
    [server_key] = meta["credential_request_encryption"]["jwks"]["keys"]
    created = start(backend, citizen, SD_JWT_PID)
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    wallet_key = ECKey.generate_key("P-256", private=True)
    public = {**wallet_key.as_dict(private=False), "alg": "ECDH-ES", "kid": "wallet-enc-1"}
    request = {
        "credential_identifier": token["authorization_details"][0]["credential_identifiers"][0],
        "proofs": {"jwt": [HolderKey().proof(wallet.c_nonce())]},
        "credential_response_encryption": {"jwk": public, "enc": "A256GCM"},
    }
    sealed = jwe.encrypt_compact(
        {"alg": server_key["alg"], "enc": "A256GCM", "kid": server_key["kid"]},
        json.dumps(request).encode(),
        RSAKey.import_key(server_key),
        registry=jwe.JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"]),
    )
    response = client.post(
        "/credential", content=sealed, headers={**bearer(token["access_token"]), "Content-Type": "application/jwt"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/jwt")
    opened = jwe.decrypt_compact(response.text, wallet_key, registry=jwe.JWERegistry(algorithms=["ECDH-ES", "A256GCM"]))
    assert opened.protected["kid"] == "wallet-enc-1" and opened.protected["enc"] == "A256GCM"
    answer = json.loads(opened.plaintext)
    assert answer["credentials"][0]["credential"].count("~") >= 1 and answer["notification_id"]
    garbage = client.post(
        "/credential", content="not-a-jwe", headers={**bearer(token["access_token"]), "Content-Type": "application/jwt"}
    )
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_encryption_parameters"
