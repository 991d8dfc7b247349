"""The authorization code flow of credential issuance over HTTP through the login pages (OpenID4VCI 1.0 §4.1.1
``issuer_state``, §5.1.1 ``authorization_details``, §5.1.3, §6.2): a registered wallet (a relying party) asks at
``/authorize`` (or PAR) for credentials, a person logs in with the PIN, the code becomes a token whose
``authorization_details`` carry ``credential_identifiers``, and ``/credential`` issues; every credential is
verified by an independent library (``sd-jwt``, pymdoccbor, PyJWT).
"""

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cbor2
import jwt as pyjwt
import pytest
from jwcrypto import jwk
from pymdoccbor.mdoc.verifier import MdocCbor
from sd_jwt.verifier import SDJWTVerifier

from app.clock import clock
from tests.conftest import ISSUER
from tests.flows.issuance_helpers import (
    JWT_VC,
    MDOC_PID,
    PRE_AUTH,
    SD_JWT_PID,
    HolderKey,
    Wallet,
    b64url_decode,
    iaca_roots,
    published_key,
)
from tests.flows.oidc_helpers import RelyingParty, enroll_citizen, query

DETAILS_TYPE = "openid_credential"
JWT_VC_SCOPE = "NationalIdCredential"  # its configuration's scope (not its id)


def details(*config_ids: str, **extra: Any) -> str:
    return json.dumps([{"type": DETAILS_TYPE, "credential_configuration_id": c, **extra} for c in config_ids])


def login_for_code(rp: RelyingParty, who: Any, **authorize: Any) -> Any:
    """/authorize → the PIN login page → the answer after logging in (a redirect, or a consent page)."""
    page = rp.authorize(**authorize)
    assert page.status_code == 200 and "pin-form" in page.text, page.text[:500]
    after = rp.login_pin(page, who.uin, who.pin)
    if after.status_code == 200 and "consent-form" in after.text:
        after = rp.consent(after)
    return after


def token_through_login(rp: RelyingParty, who: Any, **authorize: Any) -> dict[str, Any]:
    response = rp.exchange(rp.code_from(login_for_code(rp, who, **authorize)))
    assert response.status_code == 200, response.text
    return dict(response.json())


def redirect_error(response: Any) -> str:
    assert response.status_code in (302, 303), response.text[:300]
    got = query(response.headers["location"])
    assert got["iss"] == ISSUER and "code" not in got
    return got["error"]


def request_with(wallet: Wallet, token: dict[str, Any], rp: RelyingParty, holder: HolderKey, **selector: str) -> Any:
    proof = holder.proof(wallet.c_nonce(), iss=rp.client_id)
    return wallet.credential_response(token, {**selector, "proofs": {"jwt": [proof]}})


def verified_sd_jwt(client: Any, serialised: str) -> dict[str, Any]:
    header = pyjwt.get_unverified_header(serialised.split("~")[0])
    issuer_public = jwk.JWK(**published_key(client, header["kid"]))
    return dict(SDJWTVerifier(serialised, lambda iss, hdr: issuer_public).get_verified_payload())


# --- item 1: offers with the authorization_code grant and issuer_state (§4.1.1, §5.1.3) ---------------


def test_issuer_state_offer_is_collected_by_its_subject_through_the_login_pages(backend, citizen, rp, client):
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID,
        subject={"uin": citizen.uin},
        grant="authorization_code",
        correlationId="auth-code-1",
    )
    wallet = Wallet(client)
    offer = wallet.offer(created["offerUri"])
    assert offer["credential_configuration_ids"] == [SD_JWT_PID]
    assert set(offer["grants"]) == {"authorization_code"}  # no pre-authorized code, no authorization_server
    issuer_state = offer["grants"]["authorization_code"]["issuer_state"]
    assert created["offer"]["grants"] == offer["grants"]

    # an issuer_state is no pre-authorized code
    assert wallet.token_response(issuer_state).json()["error"] == "invalid_grant"

    # a credential-only request (no openid): the scope from the offer's configuration, and the issuer_state
    tokens = token_through_login(rp, citizen, scope=SD_JWT_PID, issuer_state=issuer_state)
    assert "id_token" not in tokens  # no openid, no ID token
    assert tokens["authorization_details"] == [
        {"type": DETAILS_TYPE, "credential_configuration_id": SD_JWT_PID, "credential_identifiers": [f"{SD_JWT_PID}:0"]}
    ]
    assert backend.states(created["issuanceId"]) == ["offer_sent", "offer_received"]
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    holder = HolderKey()
    by_config = request_with(wallet, token, rp, holder, credential_configuration_id=SD_JWT_PID)
    assert by_config.json()["error"] == "invalid_credential_request"  # §8.2: identifiers were returned
    stranger = request_with(wallet, token, rp, holder, credential_identifier=f"{MDOC_PID}:0")
    assert stranger.json()["error"] == "unknown_credential_identifier"
    answer = request_with(wallet, token, rp, holder, credential_identifier=f"{SD_JWT_PID}:0")
    assert answer.status_code == 200, answer.text
    claims = verified_sd_jwt(client, answer.json()["credentials"][0]["credential"])
    assert claims["personal_administrative_number"] == citizen.uin and claims["family_name"] == "Diallo"
    assert claims["cnf"]["jwk"]["x"] == holder.public_jwk["x"]
    again = request_with(wallet, token, rp, HolderKey(), credential_identifier=f"{SD_JWT_PID}:0")
    assert again.json()["error"] == "credential_request_denied"
    ok = client.post(
        "/notification",
        json={"notification_id": answer.json()["notification_id"], "event": "credential_accepted"},
        headers=wallet.auth(token, "/notification"),
    )
    assert ok.status_code == 204
    record = backend.read(created["issuanceId"])
    assert [s["state"] for s in record["history"]] == [
        "offer_sent",
        "offer_received",
        "credential_issued",
        "credential_acked",
        "credential_accepted",
    ]
    assert len(record["credentials"]) == 1

    # single use: the offer is gone and the issuer_state cannot start another authorization
    assert (
        client.get(urlsplit(parse_qs(urlsplit(created["offerUri"]).query)["credential_offer_uri"][0]).path).status_code
        == 404
    )
    assert redirect_error(rp.authorize(scope=SD_JWT_PID, issuer_state=issuer_state)) == "invalid_request"


def test_issuer_state_refuses_another_person_and_stays_for_the_subject(backend, citizen, rp, client, app):
    other = enroll_citizen(
        app, pin="731902", email="kofi@example.org", firstName="Kofi", lastName="Mensah", dateOfBirth="1985-11-30"
    )
    created = backend.issued(credentialConfigurationId=JWT_VC, subject={"uin": citizen.uin}, grant="authorization_code")
    issuer_state = created["offer"]["grants"]["authorization_code"]["issuer_state"]
    refused = login_for_code(rp, other, scope=f"openid {JWT_VC_SCOPE}", issuer_state=issuer_state)
    assert redirect_error(refused) == "access_denied"
    assert backend.read(created["issuanceId"])["state"] == "offer_sent"  # not spent by the wrong person
    tokens = token_through_login(rp, citizen, scope=f"openid {JWT_VC_SCOPE}", prompt="login", issuer_state=issuer_state)
    assert tokens["id_token"]  # with openid, the ID token as usual
    wallet = Wallet(client)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    answer = request_with(wallet, token, rp, HolderKey(), credential_identifier=f"{JWT_VC}:0")
    assert answer.status_code == 200, answer.text
    vc = answer.json()["credentials"][0]["credential"]
    header = pyjwt.get_unverified_header(vc)
    payload = pyjwt.decode(
        vc,
        pyjwt.PyJWK(published_key(client, header["kid"])),
        algorithms=["ES256"],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert payload["vc"]["credentialSubject"]["given_name"] == "Amina"


def test_issuer_state_errors(backend, citizen, rp):
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin}, grant="authorization_code", expiresIn=60
    )
    issuer_state = created["offer"]["grants"]["authorization_code"]["issuer_state"]
    assert redirect_error(rp.authorize(scope=SD_JWT_PID, issuer_state="forged")) == "invalid_request"
    # the request may only narrow to what the offer names
    assert redirect_error(rp.authorize(scope=MDOC_PID, issuer_state=issuer_state)) == "invalid_request"
    assert (
        redirect_error(rp.authorize(scope="openid", issuer_state=issuer_state, authorization_details=details(JWT_VC)))
        == "invalid_request"
    )
    clock.advance(61)
    assert redirect_error(rp.authorize(scope=SD_JWT_PID, issuer_state=issuer_state)) == "invalid_request"


def test_authorization_code_offers_need_a_subject_and_no_tx_code(backend, citizen):
    explicit = backend.issue(
        credentialConfigurationId=JWT_VC,
        grant="authorization_code",
        claims={"given_name": "Kofi", "family_name": "Mensah", "birthdate": "1985-11-30", "national_id_number": "X1"},
    )
    assert explicit.status_code == 400 and "subject.uin" in explicit.json()["message"]
    with_tx = backend.issue(
        credentialConfigurationId=JWT_VC, grant="authorization_code", subject={"uin": citizen.uin}, txCode={"length": 6}
    )
    assert with_tx.status_code == 400 and "txCode" in with_tx.json()["message"]
    assert backend.issue(credentialConfigurationId=JWT_VC, grant="implicit", subject={"uin": citizen.uin}).status_code == 400


# --- item 2: authorization_details of type openid_credential at /authorize and PAR (§5.1.1, §6.2) ------


def test_authorization_details_through_par_without_openid(citizen, rp, client):
    """A wallet-initiated, credential-only request pushed with PAR: no openid, no ID token; the token response's
    authorization_details give the credential_identifiers /credential takes."""
    params = rp.authorize_params(scope=None, authorization_details=details(MDOC_PID, locations=[ISSUER]))
    rp.last = params
    pushed = client.post("/oauth/par", data={**params, **rp.auth_form(ISSUER + "/oauth/par")})
    assert pushed.status_code == 201, pushed.text
    page = client.get(
        "/authorize", params={"client_id": rp.client_id, "request_uri": pushed.json()["request_uri"]}, follow_redirects=False
    )
    assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    response = rp.exchange(rp.code_from(rp.login_pin(page, citizen.uin, citizen.pin)))
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert "id_token" not in tokens
    [granted] = tokens["authorization_details"]
    assert granted["type"] == DETAILS_TYPE and granted["credential_configuration_id"] == MDOC_PID
    [identifier] = granted["credential_identifiers"]
    wallet = Wallet(client)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    holder = HolderKey()
    assert (
        request_with(wallet, token, rp, holder, credential_configuration_id=MDOC_PID).json()["error"]
        == "invalid_credential_request"
    )
    assert (
        request_with(wallet, token, rp, holder, credential_identifier="nope").json()["error"]
        == "unknown_credential_identifier"
    )
    answer = request_with(wallet, token, rp, holder, credential_identifier=identifier)
    assert answer.status_code == 200, answer.text
    issuer_signed = cbor2.loads(b64url_decode(answer.json()["credentials"][0]["credential"]))
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
    assert mdoc.verify(trusted_root_certs=iaca_roots(client), verify_hashes=True) is True
    assert mdoc.disclosure_map["eu.europa.ec.eudi.pid.1"]["family_name"] == "Diallo"
    userinfo = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code in (401, 403)  # no openid: no userinfo


def test_authorization_details_beside_a_scope_at_authorize(citizen, rp, client):
    """§5.1.2: scope and authorization_details are read individually; once details are used every credential
    granted comes back with its identifier."""
    tokens = token_through_login(rp, citizen, scope=f"openid {JWT_VC_SCOPE}", authorization_details=details(SD_JWT_PID))
    assert tokens["id_token"]
    assert [d["credential_configuration_id"] for d in tokens["authorization_details"]] == [SD_JWT_PID, JWT_VC]
    wallet = Wallet(client)
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    answer = request_with(wallet, token, rp, HolderKey(), credential_identifier=f"{SD_JWT_PID}:0")
    assert answer.status_code == 200, answer.text
    assert verified_sd_jwt(client, answer.json()["credentials"][0]["credential"])["given_name"] == "Amina"


@pytest.mark.parametrize(
    "value",
    [
        details("nope"),
        "not json",
        "[]",
        "{}",
        json.dumps([{"type": "payment_initiation"}]),
        json.dumps([{"type": DETAILS_TYPE}]),
        details(SD_JWT_PID, locations=["https://other.example"]),
    ],
)
def test_invalid_authorization_details(rp, client, value):
    assert redirect_error(rp.authorize(scope=None, authorization_details=value)) == "invalid_authorization_details"
    params = rp.authorize_params(scope=None, authorization_details=value)
    pushed = client.post("/oauth/par", data={**params, **rp.auth_form(ISSUER + "/oauth/par")})
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_authorization_details"


def test_authorization_server_metadata_lists_openid_credential(client):
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        assert client.get(path).json()["authorization_details_types_supported"] == [DETAILS_TYPE]


def test_a_request_for_nothing_still_needs_openid(rp):
    assert redirect_error(rp.authorize(scope="profile")) == "invalid_scope"
    assert redirect_error(rp.authorize(scope=None)) == "invalid_scope"


def test_scope_only_requests_are_unchanged(citizen, rp):
    tokens = token_through_login(rp, citizen, scope=f"openid {SD_JWT_PID}")
    assert "authorization_details" not in tokens and SD_JWT_PID in tokens["scope"].split()


def test_pre_authorized_offers_are_unaffected_by_issuer_state(backend, citizen, rp):
    created = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin})
    code = created["offer"]["grants"][PRE_AUTH]["pre-authorized_code"]
    assert redirect_error(rp.authorize(scope=SD_JWT_PID, issuer_state=code)) == "invalid_request"
