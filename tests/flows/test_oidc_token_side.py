"""The token side of the OIDC flows, over HTTP only: the token endpoint (GovStack error precedence,
success shape, code and refresh-token lifecycle, client assertions, DPoP), PAR, JAR, encrypted
responses, RP-initiated logout, revocation/introspection and discovery.

Setup enrolls a person and registers relying parties through client management (HTTP). Everything
sent to idbb is signed with PyJWT; everything idbb signs is verified with PyJWT. Only the
encrypted userinfo/ID token are decrypted with jwcrypto (the inner JWS is then verified with PyJWT).
"""

import base64
import hashlib
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwe as jw_jwe
from jwcrypto import jwk as jw_jwk

from app.clock import clock
from tests.conftest import ISSUER, bearer, new_ec_key, request_time, server_jwks, verify_with_pyjwt
from tests.flows.oidc_helpers import (
    ASSERTION_TYPE,
    Citizen,
    RelyingParty,
    forms,
    new_rsa_key,
    query,
    register_rp,
)

TOKEN = "/oauth/token"
TOKEN_V2 = "/oauth/v2/token"
PAR = "/oauth/par"
USERINFO = "/oidc/userinfo"
LOGGED_OUT = "https://rp.example/logged-out"


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def obtain_code(rp: RelyingParty, person: Citizen, **authorize: Any) -> str:
    """Authorize, logging in and consenting when the pages ask (SSO and stored consent skip them)."""
    page = rp.authorize(**authorize)
    if page.status_code == 200 and "pin-form" in page.text:
        page = rp.login_pin(page, person.uin, person.pin)
    if page.status_code == 200 and "consent-form" in page.text:
        page = rp.consent(page)
    return rp.code_from(page)


def tokens(rp: RelyingParty, person: Citizen, **authorize: Any) -> dict[str, Any]:
    response = rp.exchange(obtain_code(rp, person, **authorize))
    assert response.status_code == 200, response.text
    return dict(response.json())


def full_form(rp: RelyingParty, code: str = "any-code", aud: str = ISSUER + TOKEN) -> dict[str, str]:
    """A complete GovStack authorization-code token request (the code need not exist)."""
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "client_id": rp.client_id, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": rp.assertion(aud)}


def forged_assertion(rp: RelyingParty, aud: str = ISSUER + TOKEN) -> str:
    """A well-formed assertion for ``rp`` signed by a key idbb has never seen."""
    other_pem, _ = new_rsa_key()
    now = int(clock.timestamp())
    return pyjwt.encode({"iss": rp.client_id, "sub": rp.client_id, "aud": aud, "iat": now, "exp": now + 60,
                         "jti": str(uuid.uuid4())}, other_pem, algorithm="RS256")


def assert_oauth_error(response: Any, error: str, status: int = 400) -> dict[str, Any]:
    """RFC 6749 §5.2 / GovStack: ``{error, error_description}``, never cached."""
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    assert response.headers["cache-control"] == "no-store"
    return body


def assert_error_page(response: Any, status: int = 400) -> None:
    """An error shown to the person: an HTML page, never a redirect to the client (200 at /authorize itself,
    GovStack §8's only response there; 400 elsewhere)."""
    assert response.status_code == status, response.text[:300]
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def userinfo(http: Any, access_token: str, scheme: str = "Bearer", proof: str | None = None) -> Any:
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return http.get(USERINFO, headers=headers)


def refresh(rp: RelyingParty, refresh_token: str, **extra: Any) -> Any:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **rp.auth_form(), **extra}
    return rp.http.post(TOKEN, data=form)


def verify_signed(token: str, jwks: dict[str, Any], audience: str, alg: str) -> dict[str, Any]:
    """PyJWT verification with the published key named by ``kid``, for exactly ``alg`` (a published
    RSA key's ``alg`` says RS256, yet the same key also signs PS256)."""
    header = pyjwt.get_unverified_header(token)
    assert header["alg"] == alg, header
    match = [k for k in jwks["keys"] if k["kid"] == header["kid"] and k["use"] == "sig"]
    assert match, f"kid {header['kid']} is not published for signing"
    public = {k: v for k, v in match[0].items() if k in ("kty", "n", "e", "crv", "x", "y")}
    key = pyjwt.PyJWK(public, algorithm=alg)
    return dict(pyjwt.decode(token, key=key, algorithms=[alg], audience=audience,
                             options={"verify_exp": False, "verify_iat": False, "verify_nbf": False}))


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6, computed here: left half of the hash, base64url (SHA-512 for EdDSA)."""
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


class DpopKey:
    """A P-256 DPoP key made with cryptography; proofs signed with PyJWT."""

    def __init__(self) -> None:
        self.pem, self.public = new_ec_key()

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint, computed here: required members, sorted, no whitespace, SHA-256."""
        members = {k: self.public[k] for k in ("crv", "kty", "x", "y")}
        canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
        return b64url(hashlib.sha256(canonical).digest())

    def proof(self, htm: str, htu: str, *, nonce: str | None = None, access_token: str | None = None,
              jti: str | None = None) -> str:
        claims: dict[str, Any] = {"jti": jti or str(uuid.uuid4()), "htm": htm, "htu": htu,
                                  "iat": int(clock.timestamp())}
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        return pyjwt.encode(claims, self.pem, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.public})


def introspect(api: Any, token: str) -> dict[str, Any]:
    form = {"token": token, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": api.assertion(aud=ISSUER + "/oauth/introspect")}
    response = api.http.post("/oauth/introspect", data=form)
    assert response.status_code == 200, response.text
    return dict(response.json())


def revoke(rp: RelyingParty, token: str, hint: str | None = None) -> Any:
    form = {"token": token, **rp.auth_form(ISSUER + "/oauth/revoke")}
    if hint:
        form["token_type_hint"] = hint
    return rp.http.post("/oauth/revoke", data=form)


def enc_key_pair() -> tuple[jw_jwk.JWK, dict[str, Any]]:
    """An RSA encryption key made with cryptography; its public JWK (``use: enc``) for registration."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = jw_jwk.JWK.from_pyca(private)
    public = dict(key.export_public(as_dict=True))
    public["use"] = "enc"
    return key, public


def decrypt(token: str, key: jw_jwk.JWK, alg: str = "RSA-OAEP-256", enc: str = "A256GCM") -> str:
    """Decrypt a nested JWT with jwcrypto after checking its protected header; returns the inner JWS."""
    parts = token.split(".")
    assert len(parts) == 5, "a compact JWE has five parts"
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    assert header["alg"] == alg and header["enc"] == enc and header["cty"] == "JWT", header
    envelope = jw_jwe.JWE()
    envelope.deserialize(token, key=key)
    inner = envelope.payload.decode("ascii")
    assert inner.count(".") == 2
    return inner


# --------------------------------------------------------------------------------------------------
# 1. GovStack token errors, in precedence order
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TOKEN, TOKEN_V2])
def test_empty_body_is_invalid_payload(client, path):
    """No body at all, and an empty form body: ``invalid_payload``."""
    assert_oauth_error(client.post(path), "invalid_payload")
    assert_oauth_error(client.post(path, content=b"",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}),
                       "invalid_payload")


@pytest.mark.parametrize("path", [TOKEN, TOKEN_V2])
def test_json_body_is_invalid_payload(client, rp, path):
    """A JSON body, even carrying every member (some empty), is not a form: ``invalid_payload`` first."""
    body = full_form(rp)
    body["code"] = ""
    assert_oauth_error(client.post(path, json=body), "invalid_payload")


@pytest.mark.parametrize("member", ["grant_type", "code", "redirect_uri", "client_id", "client_assertion_type",
                                    "client_assertion"])
def test_member_present_but_empty_is_invalid_input(client, rp, member):
    form = full_form(rp)
    form[member] = ""
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_input")
    form[member] = "   "  # blank counts as empty
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_input")


def test_missing_redirect_uri_is_invalid_redirect_uri(client, rp):
    form = full_form(rp)
    del form["redirect_uri"]
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_redirect_uri")


def test_missing_assertion_type_is_invalid_assertion_type(client, rp):
    form = full_form(rp)
    del form["client_assertion_type"]
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_assertion_type")


def test_missing_assertion_is_invalid_assertion(client, rp):
    form = full_form(rp)
    del form["client_assertion"]
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_assertion")


@pytest.mark.parametrize(("remove", "empty", "expected"), [
    # each row has several faults; the first in GovStack's order wins
    ({"redirect_uri", "client_assertion_type", "client_assertion"}, {"code"}, "invalid_input"),
    ({"redirect_uri", "client_assertion_type", "client_assertion"}, set(), "invalid_redirect_uri"),
    ({"client_assertion_type", "client_assertion"}, set(), "invalid_assertion_type"),
    ({"client_assertion"}, set(), "invalid_assertion"),
    ({"redirect_uri"}, {"client_assertion"}, "invalid_input"),
])
def test_precedence_with_several_faults(client, rp, remove, empty, expected):
    form = full_form(rp)
    for name in remove:
        del form[name]
    for name in empty:
        form[name] = ""
    assert_oauth_error(client.post(TOKEN, data=form), expected)


def test_json_body_beats_every_other_fault(client):
    """Nothing of the body is read when it is not a form (empty members, missing ones, no client)."""
    assert_oauth_error(client.post(TOKEN, json={"grant_type": "", "code": ""}), "invalid_payload")


def test_bad_assertion_is_invalid_client_and_beats_a_bad_code(client, rp):
    form = full_form(rp, code="no-such-code")
    form["client_assertion"] = "not.a.jwt"
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_client")


def test_bad_assertion_with_a_good_code_does_not_burn_the_code(client, rp, citizen):
    """invalid_client comes before the code is looked at: the code still works afterwards."""
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, client_assertion=forged_assertion(rp),
                                   redirect_uri="https://evil.example/cb"),
                       "invalid_client")
    assert rp.exchange(code).status_code == 200


def test_wrong_code_is_invalid_grant(rp):
    assert_oauth_error(rp.exchange("no-such-code"), "invalid_grant")


def test_redirect_uri_mismatch_is_invalid_grant(rp, citizen):
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, redirect_uri="https://rp.example/other"), "invalid_grant")


def test_wrong_code_verifier_is_invalid_grant(rp, citizen):
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, code_verifier="x" * 50), "invalid_grant")
    assert_oauth_error(rp.exchange(code, code_verifier=None), "invalid_grant")  # missing verifier


def test_unknown_code_beats_redirect_uri_and_verifier_faults(rp):
    body = assert_oauth_error(rp.exchange("no-such-code", redirect_uri="https://rp.example/other",
                                          code_verifier="x" * 50), "invalid_grant")
    assert "code" in body["error_description"].lower()


@pytest.mark.parametrize("grant_type", ["password", "urn:ietf:params:oauth:grant-type:device_code"])
def test_unsupported_grant_type(client, rp, grant_type):
    form = full_form(rp)
    form["grant_type"] = grant_type
    assert_oauth_error(client.post(TOKEN, data=form), "unsupported_grant_type")


def test_unsupported_grant_type_beats_client_and_govstack_faults(client, rp):
    """The GovStack checks cover the code grant only; an unknown grant is named before authentication."""
    form = full_form(rp)
    form.update(grant_type="password", client_assertion=forged_assertion(rp), code="")
    del form["redirect_uri"]
    assert_oauth_error(client.post(TOKEN, data=form), "unsupported_grant_type")


@pytest.mark.parametrize("aud", [ISSUER + TOKEN_V2, ISSUER])
def test_esignet_v2_token_path_full_flow(client, rp, citizen, aud):
    """``POST /oauth/v2/token``: the assertion's aud may be that URL or the issuer."""
    code = obtain_code(rp, citizen)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": rp.verifier, "client_id": rp.client_id, **rp.auth_form(aud)}
    response = client.post(TOKEN_V2, data=form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(("change", "expected"), [
    ({"code": ""}, "invalid_input"),
    ({"redirect_uri": None}, "invalid_redirect_uri"),
    ({"client_assertion_type": None}, "invalid_assertion_type"),
    ({"client_assertion": None}, "invalid_assertion"),
    ({"client_assertion": "not.a.jwt"}, "invalid_client"),
    ({"code": "no-such-code"}, "invalid_grant"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_esignet_v2_token_path_errors(client, rp, change, expected):
    form: dict[str, Any] = full_form(rp, aud=ISSUER + TOKEN_V2)
    form.update(change)
    assert_oauth_error(client.post(TOKEN_V2, data={k: v for k, v in form.items() if v is not None}), expected)


def test_v2_path_accepts_an_assertion_for_the_v1_url(client, rp, citizen):
    """One endpoint at two paths: either URL is a valid audience at either path."""
    code = obtain_code(rp, citizen)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": rp.verifier, **rp.auth_form(ISSUER + TOKEN)}
    assert client.post(TOKEN_V2, data=form).status_code == 200


# --------------------------------------------------------------------------------------------------
# 2. Success: response shape and the ID token
# --------------------------------------------------------------------------------------------------


def test_token_response_shape_and_headers(client, rp, citizen):
    code = obtain_code(rp, citizen)
    response = rp.exchange(code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert {"id_token", "access_token", "token_type", "expires_in", "scope"} <= body.keys()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["scope"].split() == ["openid", "profile"]
    assert "refresh_token" not in body  # no offline_access asked


def test_id_token_claims_default_rs256(client, rp, citizen):
    before = int(clock.timestamp())
    body = tokens(rp, citizen, acr_values="idbb:acr:static-code")
    jwks = server_jwks(client)
    assert pyjwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    claims = verify_with_pyjwt(body["id_token"], jwks, audience=rp.client_id)
    assert claims["iss"] == ISSUER and claims["aud"] == rp.client_id
    assert isinstance(claims["sub"], str) and claims["sub"]
    assert claims["sub"] != citizen.uin  # pairwise by default, never the UIN
    assert before <= claims["iat"] <= int(clock.timestamp()) + 1 and claims["exp"] > claims["iat"]
    assert before - 5 <= claims["auth_time"] <= claims["iat"]
    assert claims["nonce"] == rp.last["nonce"]
    assert claims["acr"] == "idbb:acr:static-code" and claims["amr"] == ["pin"]
    assert claims["at_hash"] == at_hash(body["access_token"], "RS256")
    assert isinstance(claims["sid"], str) and claims["sid"]
    access = verify_with_pyjwt(body["access_token"], jwks, audience=ISSUER)
    assert access["sub"] == claims["sub"] and access["client_id"] == rp.client_id


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA", "RS256"])
def test_id_token_signed_with_the_registered_alg(client, admin_token, citizen, alg):
    rp = register_rp(client, admin_token, additionalConfig={"id_token_signed_response_alg": alg})
    body = tokens(rp, citizen)
    claims = verify_signed(body["id_token"], server_jwks(client), rp.client_id, alg)
    assert claims["at_hash"] == at_hash(body["access_token"], alg)
    assert claims["nonce"] == rp.last["nonce"]


def test_id_token_alg_may_be_registered_at_the_top_level(client, admin_token, citizen):
    rp = register_rp(client, admin_token, id_token_signed_response_alg="ES256")
    body = tokens(rp, citizen)
    verify_signed(body["id_token"], server_jwks(client), rp.client_id, "ES256")


# --------------------------------------------------------------------------------------------------
# 3. Codes: single use, reuse revokes, expiry
# --------------------------------------------------------------------------------------------------


def test_code_reuse_fails_and_revokes_the_first_tokens(client, rp, citizen, api_client):
    code = obtain_code(rp, citizen)
    first = rp.exchange(code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert userinfo(client, access).status_code == 200
    resource_server = api_client("introspect")
    assert introspect(resource_server, access)["active"] is True

    assert_oauth_error(rp.exchange(code), "invalid_grant")
    assert userinfo(client, access).status_code == 401
    assert introspect(resource_server, access) == {"active": False}


def test_code_expires_after_sixty_seconds(rp, citizen):
    code = obtain_code(rp, citizen)
    clock.advance(61)
    assert_oauth_error(rp.exchange(code), "invalid_grant")


def test_code_still_valid_just_before_expiry(rp, citizen):
    code = obtain_code(rp, citizen)
    clock.advance(55)
    assert rp.exchange(code).status_code == 200


def test_code_of_another_client_is_invalid_grant(client, admin_token, rp, citizen):
    code = obtain_code(rp, citizen)
    other = register_rp(client, admin_token)
    other.verifier = rp.verifier
    assert_oauth_error(other.exchange(code), "invalid_grant")
    assert rp.exchange(code).status_code == 200  # the rightful client still can


# --------------------------------------------------------------------------------------------------
# 4. Client assertions
# --------------------------------------------------------------------------------------------------


def test_assertion_jti_replay_is_invalid_client(rp, citizen):
    assertion = rp.assertion()
    first = rp.exchange(obtain_code(rp, citizen), client_assertion=assertion)
    assert first.status_code == 200, first.text
    code = obtain_code(rp, citizen)  # SSO session and stored consent: straight back with a code
    assert_oauth_error(rp.exchange(code, client_assertion=assertion), "invalid_client")
    assert rp.exchange(code).status_code == 200  # a fresh assertion works; the code was not burned


def test_refused_request_still_burns_the_assertion(rp, citizen):
    assertion = rp.assertion()
    assert_oauth_error(rp.exchange("no-such-code", client_assertion=assertion), "invalid_grant")
    assert_oauth_error(rp.exchange(obtain_code(rp, citizen), client_assertion=assertion), "invalid_client")


@pytest.mark.parametrize("aud", ["https://elsewhere.example/oauth/token", ISSUER + "/oidc/userinfo"])
def test_assertion_with_a_wrong_audience_is_invalid_client(rp, citizen, aud):
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, client_assertion=rp.assertion(aud)), "invalid_client")


def test_assertion_signed_by_another_key_is_invalid_client(rp, citizen):
    assert_oauth_error(rp.exchange(obtain_code(rp, citizen), client_assertion=forged_assertion(rp)),
                       "invalid_client")


def test_expired_assertion_is_invalid_client(rp, citizen):
    now = int(clock.timestamp())
    stale = rp.assertion(iat=now - 600, exp=now - 300)
    assert_oauth_error(rp.exchange(obtain_code(rp, citizen), client_assertion=stale), "invalid_client")


def test_client_id_not_matching_the_assertion_is_invalid_client(client, admin_token, rp, citizen):
    other = register_rp(client, admin_token)
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, client_id=other.client_id), "invalid_client")


# --------------------------------------------------------------------------------------------------
# 5. Refresh tokens: offline_access, rotation, family revocation
# --------------------------------------------------------------------------------------------------


def offline_tokens(rp: RelyingParty, person: Citizen) -> dict[str, Any]:
    page = rp.authorize(scope="openid profile offline_access")
    consent_page = rp.login_pin(page, person.uin, person.pin)
    assert consent_page.status_code == 200 and "consent-form" in consent_page.text
    assert 'id="scopes-heading"' in consent_page.text  # the person is told about offline access
    assert "even when you are not signed in" in consent_page.text
    response = rp.exchange(rp.code_from(rp.consent(consent_page)))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_offline_access_issues_a_refresh_token(rp, citizen):
    body = offline_tokens(rp, citizen)
    assert isinstance(body.get("refresh_token"), str) and len(body["refresh_token"]) >= 32
    assert "offline_access" in body["scope"].split()


def test_no_refresh_token_without_offline_access(rp, citizen):
    assert "refresh_token" not in tokens(rp, citizen)


def test_refresh_rotates_and_the_old_token_is_refused(client, rp, citizen):
    first = offline_tokens(rp, citizen)
    response = refresh(rp, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["token_type"] == "Bearer"
    assert userinfo(client, second["access_token"]).status_code == 200
    claims = verify_with_pyjwt(second["id_token"], server_jwks(client), audience=rp.client_id)
    assert claims["at_hash"] == at_hash(second["access_token"], "RS256")
    assert_oauth_error(refresh(rp, first["refresh_token"]), "invalid_grant")


def test_reusing_a_rotated_refresh_token_revokes_the_family(client, rp, citizen):
    first = offline_tokens(rp, citizen)
    second = refresh(rp, first["refresh_token"]).json()
    third = refresh(rp, second["refresh_token"]).json()
    assert userinfo(client, third["access_token"]).status_code == 200

    assert_oauth_error(refresh(rp, first["refresh_token"]), "invalid_grant")  # replay of a spent token
    assert_oauth_error(refresh(rp, third["refresh_token"]), "invalid_grant")  # the newest dies with it
    assert userinfo(client, third["access_token"]).status_code == 401
    assert userinfo(client, first["access_token"]).status_code == 401


def test_refresh_token_of_another_client_is_refused(client, admin_token, rp, citizen):
    body = offline_tokens(rp, citizen)
    other = register_rp(client, admin_token)
    assert_oauth_error(refresh(other, body["refresh_token"]), "invalid_grant")
    assert refresh(rp, body["refresh_token"]).status_code == 200  # untouched by the attempt


def test_refresh_cannot_widen_the_scope(rp, citizen):
    body = offline_tokens(rp, citizen)
    assert_oauth_error(refresh(rp, body["refresh_token"], scope="openid profile email"), "invalid_scope")


def test_refresh_can_narrow_the_scope_of_the_access_token_only(client, rp, citizen):
    """RFC 6749 §6: a smaller scope limits the new access token; the refresh token keeps the grant's scope."""
    body = offline_tokens(rp, citizen)
    jwks = server_jwks(client)
    narrow = refresh(rp, body["refresh_token"], scope="openid")
    assert narrow.status_code == 200, narrow.text
    assert narrow.json()["scope"] == "openid"
    access = pyjwt.decode(narrow.json()["access_token"], options={"verify_signature": False})
    assert access["scope"] == "openid"
    info = userinfo(client, narrow.json()["access_token"])
    assert info.status_code == 200
    claims = verify_signed(info.text, jwks, rp.client_id, "RS256")
    assert "name" not in claims and claims["sub"]  # profile claims are withheld from an openid-only token

    wide = refresh(rp, narrow.json()["refresh_token"])  # no scope: as granted, offline_access included
    assert wide.status_code == 200, wide.text
    assert set(wide.json()["scope"].split()) == {"openid", "profile", "offline_access"}
    info = userinfo(client, wide.json()["access_token"])
    assert verify_signed(info.text, jwks, rp.client_id, "RS256")["name"] == "Amina Diallo"


def test_refresh_narrowed_to_non_openid_scopes_gets_no_id_token_and_no_userinfo(client, rp, citizen):
    """OIDC Core §12.2 and §5.3: without ``openid`` the token is no OpenID token; userinfo says insufficient_scope."""
    body = offline_tokens(rp, citizen)
    narrow = refresh(rp, body["refresh_token"], scope="profile offline_access")
    assert narrow.status_code == 200, narrow.text
    assert "id_token" not in narrow.json() and narrow.json()["scope"] == "profile offline_access"
    info = userinfo(client, narrow.json()["access_token"])
    assert info.status_code == 403
    assert 'error="insufficient_scope"' in info.headers["www-authenticate"]


# --------------------------------------------------------------------------------------------------
# 6. Pushed authorization requests
# --------------------------------------------------------------------------------------------------


def push(rp: RelyingParty, aud: str = ISSUER + PAR, **overrides: Any) -> Any:
    params = rp.authorize_params(**overrides)
    rp.last = params
    return rp.http.post(PAR, data={**params, **rp.auth_form(aud)})


def authorize_by_reference(rp: RelyingParty, request_uri: str) -> Any:
    return rp.http.get("/authorize", params={"client_id": rp.client_id, "request_uri": request_uri},
                       follow_redirects=False)


@pytest.mark.parametrize("aud", [ISSUER + PAR, ISSUER + TOKEN, ISSUER])
def test_par_then_authorize_once(client, rp, citizen, aud):
    response = push(rp, aud)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")

    page = authorize_by_reference(rp, body["request_uri"])
    assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    code = rp.code_from(rp.consent(consent_page))
    token = rp.exchange(code)
    assert token.status_code == 200, token.text
    claims = verify_with_pyjwt(token.json()["id_token"], server_jwks(client), audience=rp.client_id)
    assert claims["nonce"] == rp.last["nonce"]  # the pushed parameters were used

    assert_error_page(authorize_by_reference(rp, body["request_uri"]), status=200)  # single use


def test_par_request_uri_expires(rp):
    request_uri = push(rp).json()["request_uri"]
    clock.advance(61)
    assert_error_page(authorize_by_reference(rp, request_uri), status=200)


def test_par_request_uri_of_another_client_is_refused(client, admin_token, rp):
    request_uri = push(rp).json()["request_uri"]
    other = register_rp(client, admin_token)
    assert_error_page(authorize_by_reference(other, request_uri), status=200)


def test_par_requires_client_authentication(client, rp):
    params = rp.authorize_params()
    response = client.post(PAR, data=params)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    response = client.post(PAR, data={**params, "client_assertion_type": ASSERTION_TYPE,
                                      "client_assertion": forged_assertion(rp, ISSUER + PAR)})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_par_validates_the_request_like_authorize(rp):
    assert_oauth_error(push(rp, scope="profile"), "invalid_scope")
    assert_oauth_error(push(rp, redirect_uri="https://evil.example/cb"), "invalid_request")


def test_a_refused_push_still_spends_its_client_assertion(rp):
    """RFC 7523 §3 item 7: an assertion is single use even when the request it came with was refused."""
    auth = rp.auth_form(ISSUER + PAR)
    refused = rp.http.post(PAR, data={**rp.authorize_params(scope="profile"), **auth})
    assert_oauth_error(refused, "invalid_scope")
    replayed = rp.http.post(PAR, data={**rp.authorize_params(), **auth})
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client", replayed.text
    key = DpopKey()
    dpop_refused = rp.http.post(PAR, data={**rp.authorize_params(), **(auth := rp.auth_form(ISSUER + PAR))},
                                headers={"DPoP": key.proof("POST", ISSUER + PAR)})
    assert_oauth_error(dpop_refused, "use_dpop_nonce")
    replayed = rp.http.post(PAR, data={**rp.authorize_params(), **auth})
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client", replayed.text


def test_push_with_a_dpop_jkt_other_than_the_proofs_key_is_refused(rp):
    """RFC 9449 §10.1: dpop_jkt and the DPoP proof sent with it must name the same key."""
    key, other = DpopKey(), DpopKey()
    first = rp.http.post(PAR, data={**rp.authorize_params(), **rp.auth_form(ISSUER + PAR)},
                         headers={"DPoP": key.proof("POST", ISSUER + PAR)})
    nonce = first.headers["dpop-nonce"]
    mismatch = rp.http.post(PAR, data={**rp.authorize_params(dpop_jkt=other.jkt), **rp.auth_form(ISSUER + PAR)},
                            headers={"DPoP": key.proof("POST", ISSUER + PAR, nonce=nonce)})
    assert_oauth_error(mismatch, "invalid_dpop_proof")
    same = rp.http.post(PAR, data={**rp.authorize_params(dpop_jkt=key.jkt), **rp.auth_form(ISSUER + PAR)},
                        headers={"DPoP": key.proof("POST", ISSUER + PAR, nonce=nonce)})
    assert same.status_code == 201, same.text


def test_two_client_authentication_methods_are_refused(rp):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request."""
    both = {**rp.auth_form(), "client_secret": "anything"}
    code = "any-code"
    response = rp.http.post(TOKEN, data={"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": rp.redirect_uri, "code_verifier": "v" * 43, **both})
    assert_oauth_error(response, "invalid_request")
    pushed = rp.http.post(PAR, data={**rp.authorize_params(), **rp.auth_form(ISSUER + PAR)},
                          headers={"Authorization": "Basic " + base64.b64encode(b"x:y").decode()})
    assert_oauth_error(pushed, "invalid_request")
    assert push(rp).status_code == 201  # one method is fine


def test_client_that_requires_par_gets_a_redirect_error_at_plain_authorize(client, admin_token, citizen):
    rp = register_rp(client, admin_token, additionalConfig={"require_pushed_authorization_requests": True})
    response = rp.authorize()
    assert response.status_code == 303, response.text[:300]
    got = query(response.headers["location"])
    assert response.headers["location"].startswith(rp.redirect_uri)
    assert got["error"] == "invalid_request" and got["state"] == rp.last["state"] and got["iss"] == ISSUER
    assert "code" not in got

    page = authorize_by_reference(rp, push(rp).json()["request_uri"])  # pushing works
    assert page.status_code == 200 and "pin-form" in page.text


def test_require_par_setting_is_advertised(make_app):
    app = make_app(require_par=True)
    metadata = app.test_client(base_url=ISSUER).get("/.well-known/openid-configuration").json()
    assert metadata["require_pushed_authorization_requests"] is True
    assert metadata["pushed_authorization_request_endpoint"] == ISSUER + PAR


def test_par_not_required_by_default(client):
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["require_pushed_authorization_requests"] is False


# --------------------------------------------------------------------------------------------------
# 7. DPoP-bound tokens
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def dpop_rp(client, admin_token) -> RelyingParty:
    return register_rp(client, admin_token, additionalConfig={"dpop_bound_access_tokens": True})


def dpop_tokens(rp: RelyingParty, person: Citizen, key: DpopKey) -> tuple[dict[str, Any], str]:
    """Token request answered with use_dpop_nonce, then retried with the nonce; returns (body, nonce)."""
    code = obtain_code(rp, person)
    first = rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN)})
    assert_oauth_error(first, "use_dpop_nonce")
    nonce = first.headers["dpop-nonce"]
    response = rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN, nonce=nonce)})
    assert response.status_code == 200, response.text
    return dict(response.json()), nonce


def test_dpop_client_without_proof_is_invalid_dpop_proof(dpop_rp, citizen):
    code = obtain_code(dpop_rp, citizen)
    assert_oauth_error(dpop_rp.exchange(code), "invalid_dpop_proof")


def test_dpop_nonce_challenge_then_bound_token(client, dpop_rp, citizen):
    key = DpopKey()
    code = obtain_code(dpop_rp, citizen)
    assert_oauth_error(dpop_rp.exchange(code), "invalid_dpop_proof")  # the code survives a refused request

    challenge = dpop_rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN)})
    assert_oauth_error(challenge, "use_dpop_nonce")
    nonce = challenge.headers["dpop-nonce"]
    assert nonce

    response = dpop_rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN, nonce=nonce)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    access = verify_with_pyjwt(body["access_token"], server_jwks(client), audience=ISSUER)
    assert access["cnf"] == {"jkt": key.jkt}


def test_dpop_bound_token_at_userinfo(client, dpop_rp, citizen):
    key = DpopKey()
    body, nonce = dpop_tokens(dpop_rp, citizen, key)
    access = body["access_token"]
    url = ISSUER + USERINFO

    proof = key.proof("GET", url, nonce=nonce, access_token=access)
    ok = userinfo(client, access, "DPoP", proof)
    assert ok.status_code == 200, ok.headers
    assert verify_with_pyjwt(ok.text, server_jwks(client), audience=dpop_rp.client_id)["sub"]

    replay = userinfo(client, access, "DPoP", proof)  # the same proof (same jti) again
    assert replay.status_code == 401
    assert 'error="invalid_dpop_proof"' in replay.headers["www-authenticate"]

    as_bearer = userinfo(client, access)
    assert as_bearer.status_code == 401
    assert as_bearer.headers["www-authenticate"].startswith("DPoP")

    no_proof = userinfo(client, access, "DPoP")
    assert no_proof.status_code == 401


def test_dpop_proof_bound_to_another_key_or_request_is_refused(client, dpop_rp, citizen):
    key = DpopKey()
    body, nonce = dpop_tokens(dpop_rp, citizen, key)
    access = body["access_token"]
    url = ISSUER + USERINFO
    stranger = DpopKey().proof("GET", url, nonce=nonce, access_token=access)
    assert userinfo(client, access, "DPoP", stranger).status_code == 401
    wrong_method = key.proof("POST", url, nonce=nonce, access_token=access)
    assert userinfo(client, access, "DPoP", wrong_method).status_code == 401
    no_ath = key.proof("GET", url, nonce=nonce)
    assert userinfo(client, access, "DPoP", no_ath).status_code == 401
    assert userinfo(client, access, "DPoP", key.proof("GET", url, nonce=nonce, access_token=access)).status_code \
        == 200


def test_dpop_proof_replay_at_the_token_endpoint(dpop_rp, citizen):
    key = DpopKey()
    code = obtain_code(dpop_rp, citizen)
    nonce = dpop_rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN)}).headers["dpop-nonce"]
    proof = key.proof("POST", ISSUER + TOKEN, nonce=nonce)
    assert dpop_rp.exchange(code, headers={"DPoP": proof}).status_code == 200
    code = obtain_code(dpop_rp, citizen)
    assert_oauth_error(dpop_rp.exchange(code, headers={"DPoP": proof}), "invalid_dpop_proof")


# --------------------------------------------------------------------------------------------------
# 8. Request objects (JAR)
# --------------------------------------------------------------------------------------------------


def request_object(rp: RelyingParty, pem: bytes | None = None, kid: str | None = None,
                   **overrides: Any) -> tuple[dict[str, str], str]:
    params = rp.authorize_params()
    claims: dict[str, Any] = {**params, "iss": rp.client_id, "aud": ISSUER, "exp": int(clock.timestamp()) + 300,
                              **overrides}
    headers = {"kid": kid} if kid else None
    return params, pyjwt.encode(claims, pem or rp.private_pem, algorithm="RS256", headers=headers)


def authorize_with_request(rp: RelyingParty, token: str) -> Any:
    # the query carries only client_id (and the required response_type/scope): the object has the rest
    return rp.http.get("/authorize", params={"client_id": rp.client_id, "response_type": "code", "scope": "openid",
                                             "request": token}, follow_redirects=False)


@pytest.mark.parametrize("kid", [None, "rp-key-2024"])
def test_signed_request_object_carries_the_request(client, rp, citizen, kid):
    """With or without a ``kid`` header: the client has one registered key, and it verifies."""
    params, token = request_object(rp, kid=kid)
    rp.last = params
    page = authorize_with_request(rp, token)
    assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    code = rp.code_from(rp.consent(consent_page))
    response = rp.exchange(code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"].split() == ["openid", "profile"]  # from the object, not the query
    claims = verify_with_pyjwt(body["id_token"], server_jwks(client), audience=rp.client_id)
    assert claims["nonce"] == params["nonce"]


@pytest.mark.parametrize(("kid", "accepted"), [("rp-key-1", True), (None, True), ("rp-key-0", False)])
def test_request_object_kid_must_name_the_registered_key_when_both_have_one(client, admin_token, kid, accepted):
    """RFC 7515 §4.1.4: a ``kid`` that names another key than the registered one is refused (same key or not)."""
    pem, public = new_rsa_key()
    registered = register_rp(client, admin_token, publicKey={**public, "kid": "rp-key-1"})
    rp = RelyingParty(registered.client_id, pem, public, client)
    params, token = request_object(rp, kid=kid)
    rp.last = params
    page = authorize_with_request(rp, token)
    if accepted:
        assert page.status_code == 200 and "pin-form" in page.text, page.text[:300]
    else:
        assert_error_page(page, status=200)


def test_request_object_signed_by_another_key_is_an_error_page(rp):
    other_pem, _ = new_rsa_key()
    _, token = request_object(rp, pem=other_pem)
    assert_error_page(authorize_with_request(rp, token), status=200)


def test_request_object_with_another_client_id_is_an_error_page(client, admin_token, rp):
    other = register_rp(client, admin_token)
    _, token = request_object(rp, client_id=other.client_id)
    assert_error_page(authorize_with_request(rp, token), status=200)


def test_expired_request_object_is_an_error_page(rp):
    _, token = request_object(rp, exp=int(clock.timestamp()) - 10)
    assert_error_page(authorize_with_request(rp, token), status=200)


# --------------------------------------------------------------------------------------------------
# 9. Encrypted userinfo and ID tokens; JSON userinfo
# --------------------------------------------------------------------------------------------------


def test_encrypted_userinfo(client, admin_token, citizen):
    key, public = enc_key_pair()
    rp = register_rp(client, admin_token, additionalConfig={
        "jwks": {"keys": [public]}, "userinfo_encrypted_response_alg": "RSA-OAEP-256",
        "userinfo_encrypted_response_enc": "A256GCM"})
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
    rp = register_rp(client, admin_token, jwks={"keys": [public]}, id_token_encrypted_response_alg="RSA-OAEP-256",
                     id_token_encrypted_response_enc="A256GCM")
    body = tokens(rp, citizen)
    inner = decrypt(body["id_token"], key)
    claims = verify_with_pyjwt(inner, server_jwks(client), audience=rp.client_id)
    assert claims["nonce"] == rp.last["nonce"]
    assert claims["at_hash"] == at_hash(body["access_token"], "RS256")


def test_encrypted_id_token_default_enc(client, admin_token, citizen):
    """OIDC Registration §2: alg without enc means A128CBC-HS256."""
    key, public = enc_key_pair()
    rp = register_rp(client, admin_token, additionalConfig={
        "jwks": {"keys": [public]}, "id_token_encrypted_response_alg": "RSA-OAEP-256"})
    body = tokens(rp, citizen)
    inner = decrypt(body["id_token"], key, enc="A128CBC-HS256")
    verify_with_pyjwt(inner, server_jwks(client), audience=rp.client_id)


def test_short_rsa_encryption_key_is_refused_at_registration(client, admin_token):
    """A 1024-bit key is refused with the eSignet error, not a server error."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    public = {**jw_jwk.JWK.from_pyca(private).export_public(as_dict=True), "use": "enc"}
    _, signing = new_rsa_key()
    request = {"clientId": f"rp-{uuid.uuid4().hex[:8]}", "clientName": "Short key", "relyingPartyId": "short",
               "logoUri": "https://rp.example/logo.png", "redirectUris": ["https://rp.example/callback"],
               "authContextRefs": ["idbb:acr:static-code"], "publicKey": signing, "userClaims": ["name"],
               "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"],
               "additionalConfig": {"jwks": {"keys": [public]}, "userinfo_encrypted_response_alg": "RSA-OAEP-256"}}
    response = client.post("/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": request},
                           headers=bearer(admin_token))
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


# --------------------------------------------------------------------------------------------------
# 10. RP-initiated logout
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def logout_rp(client, admin_token) -> RelyingParty:
    return register_rp(client, admin_token, additionalConfig={"post_logout_redirect_uris": [LOGGED_OUT]})


def session_cleared(response: Any) -> bool:
    cookies = response.headers.get_list("set-cookie")
    return any(c.startswith("idbb_session=") and ("Max-Age=0" in c or "expires=Thu, 01 Jan 1970" in c)
               for c in cookies)


def assert_logged_out(rp: RelyingParty) -> None:
    """prompt=none now answers login_required: no session is left."""
    response = rp.authorize(prompt="none")
    assert response.status_code == 303, response.text[:300]
    got = query(response.headers["location"])
    assert got["error"] == "login_required" and got["state"] == rp.last["state"]


def assert_still_logged_in(rp: RelyingParty) -> None:
    """prompt=none still comes back with a code: the session is alive."""
    response = rp.authorize(prompt="none")
    assert response.status_code == 303, response.text[:300]
    assert "code" in query(response.headers["location"])


def test_logout_with_id_token_hint_redirects_and_ends_the_session(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    assert "idbb_session" in client.cookies
    response = client.get("/logout", params={"id_token_hint": body["id_token"],
                                             "post_logout_redirect_uri": LOGGED_OUT, "state": "xyz"},
                          follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(LOGGED_OUT + "?")
    assert query(location) == {"state": "xyz"}
    assert session_cleared(response)
    assert "idbb_session" not in client.cookies

    assert_logged_out(logout_rp)
    assert userinfo(client, body["access_token"]).status_code == 401


def test_a_hint_in_another_browser_logs_nobody_out(client, logout_rp, citizen):
    """RP-Initiated Logout §2: only this browser's session is ended; a leaked ID token ends nobody's."""
    body = tokens(logout_rp, citizen)
    cookie = client.cookies.get("idbb_session")
    client.cookies.delete("idbb_session")  # another browser, holding the ID token
    response = client.get("/logout", params={"id_token_hint": body["id_token"],
                                             "post_logout_redirect_uri": LOGGED_OUT},
                          follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == LOGGED_OUT
    client.cookies.set("idbb_session", cookie, domain="idbb.test")
    assert_still_logged_in(logout_rp)
    assert userinfo(client, body["access_token"]).status_code == 200


def test_a_hint_from_an_earlier_session_asks_before_ending_this_one(client, logout_rp, citizen):
    """§2: the OP MUST ask when the ID token does not belong to the current session."""
    earlier = tokens(logout_rp, citizen)
    later = tokens(logout_rp, citizen, prompt="login")  # a new login: a new session in this browser
    page = client.get("/logout", params={"id_token_hint": earlier["id_token"],
                                         "post_logout_redirect_uri": LOGGED_OUT, "state": "s2"},
                      follow_redirects=False)
    assert page.status_code == 200 and not session_cleared(page)
    form = forms(page.text)["logout-form"]
    assert userinfo(client, later["access_token"]).status_code == 200  # nothing ended yet
    response = client.post("/logout", data={**form["fields"], "decision": "logout"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == LOGGED_OUT + "?state=s2"
    assert_logged_out(logout_rp)
    assert userinfo(client, later["access_token"]).status_code == 401


def test_an_access_token_is_no_id_token_hint(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    assert_error_page(client.get("/logout", params={"id_token_hint": body["access_token"]}, follow_redirects=False))
    assert_still_logged_in(logout_rp)


def test_logout_to_an_unregistered_uri_is_an_error_page(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    response = client.get("/logout", params={"id_token_hint": body["id_token"],
                                             "post_logout_redirect_uri": "https://evil.example/bye", "state": "xyz"},
                          follow_redirects=False)
    assert_error_page(response)
    assert not session_cleared(response)
    assert userinfo(client, body["access_token"]).status_code == 200  # nothing was ended
    assert_still_logged_in(logout_rp)


def test_logout_with_a_forged_hint_is_an_error_page(client, logout_rp, citizen):
    tokens(logout_rp, citizen)
    pem, _ = new_rsa_key()
    forged = pyjwt.encode({"iss": ISSUER, "aud": logout_rp.client_id, "sub": "x"}, pem, algorithm="RS256")
    assert_error_page(client.get("/logout", params={"id_token_hint": forged}, follow_redirects=False))


def test_logout_without_hint_asks_for_confirmation(client, logout_rp, citizen):
    body = tokens(logout_rp, citizen)
    page = client.get("/logout", params={"client_id": logout_rp.client_id, "post_logout_redirect_uri": LOGGED_OUT,
                                         "state": "s1"}, follow_redirects=False)
    assert page.status_code == 200
    form = forms(page.text)["logout-form"]
    assert form["action"] == "/logout"
    assert userinfo(client, body["access_token"]).status_code == 200  # nothing ended yet

    response = client.post("/logout", data={**form["fields"], "decision": "logout"}, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == LOGGED_OUT + "?state=s1"
    assert session_cleared(response)
    assert_logged_out(logout_rp)
    assert userinfo(client, body["access_token"]).status_code == 401


def test_logout_confirmation_without_redirect_shows_done(client, rp, citizen):
    tokens(rp, citizen)
    page = client.get("/logout", follow_redirects=False)
    form = forms(page.text)["logout-form"]
    response = client.post("/logout", data={**form["fields"], "decision": "logout"}, follow_redirects=False)
    assert response.status_code == 200 and 'id="logout-done"' in response.text
    assert session_cleared(response)
    assert_logged_out(rp)


def test_logout_confirmation_needs_its_csrf_token(client, rp, citizen):
    tokens(rp, citizen)
    response = client.post("/logout", data={"decision": "logout", "csrf": "forged"}, follow_redirects=False)
    assert_error_page(response)
    assert_still_logged_in(rp)


# --------------------------------------------------------------------------------------------------
# 11. Revocation and introspection
# --------------------------------------------------------------------------------------------------


def test_revoking_an_access_token(client, rp, citizen, api_client):
    body = tokens(rp, citizen)
    resource_server = api_client("introspect")
    info = introspect(resource_server, body["access_token"])
    sub = verify_with_pyjwt(body["id_token"], server_jwks(client), audience=rp.client_id)["sub"]
    assert info["active"] is True and info["sub"] == sub and info["client_id"] == rp.client_id
    assert info["scope"] == "openid profile"

    response = revoke(rp, body["access_token"], "access_token")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert userinfo(client, body["access_token"]).status_code == 401
    assert introspect(resource_server, body["access_token"]) == {"active": False}


def test_revoking_a_refresh_token(client, rp, citizen):
    body = offline_tokens(rp, citizen)
    assert revoke(rp, body["refresh_token"], "refresh_token").status_code == 200
    assert_oauth_error(refresh(rp, body["refresh_token"]), "invalid_grant")
    assert userinfo(client, body["access_token"]).status_code == 401  # the grant is gone


def test_revocation_of_another_clients_token_changes_nothing(client, admin_token, rp, citizen):
    body = offline_tokens(rp, citizen)
    other = register_rp(client, admin_token)
    assert revoke(other, body["refresh_token"]).status_code == 200  # RFC 7009 §2.2: same answer
    assert userinfo(client, body["access_token"]).status_code == 200
    assert refresh(rp, body["refresh_token"]).status_code == 200


def test_revocation_requires_client_authentication(client, rp, citizen):
    body = tokens(rp, citizen)
    response = client.post("/oauth/revoke", data={"token": body["access_token"]})
    assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"
    assert userinfo(client, body["access_token"]).status_code == 200


def test_introspection_tells_a_resource_server_that_a_token_is_dpop_bound(client, dpop_rp, citizen, api_client):
    """RFC 9449 §6.2: without cnf and token_type DPoP the resource server would take the token as a bearer token."""
    key = DpopKey()
    body, _ = dpop_tokens(dpop_rp, citizen, key)
    info = introspect(api_client("introspect"), body["access_token"])
    assert info["active"] is True and info["token_type"] == "DPoP" and info["cnf"] == {"jkt": key.jkt}


def test_introspection_says_inactive_once_the_relying_party_is_deactivated(client, rp, citizen, api_client,
                                                                           admin_token):
    body = tokens(rp, citizen)
    resource_server = api_client("introspect")
    info = introspect(resource_server, body["access_token"])
    assert info["active"] is True and info["token_type"] == "Bearer" and "cnf" not in info
    request = {"clientName": "Ministry portal", "status": "INACTIVE", "logoUri": "https://rp.example/logo.png",
               "redirectUris": [rp.redirect_uri], "userClaims": ["name"], "authContextRefs": ["idbb:acr:static-code"],
               "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"]}
    updated = client.put(f"/client-mgmt/oidc-client/{rp.client_id}", headers=bearer(admin_token),
                         json={"requestTime": request_time(), "request": request})
    assert updated.status_code == 200 and not updated.json()["errors"], updated.text
    assert userinfo(client, body["access_token"]).status_code == 401
    assert introspect(resource_server, body["access_token"]) == {"active": False}


def test_introspection_needs_the_introspect_scope(client, rp, citizen, api_client):
    body = tokens(rp, citizen)
    assert introspect(api_client("read_oidc_client"), body["access_token"]) == {"active": False}


# --------------------------------------------------------------------------------------------------
# 12. Discovery
# --------------------------------------------------------------------------------------------------

REQUIRED_METADATA = (
    "issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
    "registration_endpoint", "scopes_supported", "response_types_supported", "response_modes_supported",
    "grant_types_supported", "acr_values_supported", "subject_types_supported",
    "id_token_signing_alg_values_supported", "id_token_encryption_alg_values_supported",
    "id_token_encryption_enc_values_supported", "userinfo_signing_alg_values_supported",
    "userinfo_encryption_alg_values_supported", "userinfo_encryption_enc_values_supported",
    "request_object_signing_alg_values_supported", "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported", "claims_supported", "claims_parameter_supported",
    "request_parameter_supported", "request_uri_parameter_supported", "ui_locales_supported",
    "claims_locales_supported", "display_values_supported", "claim_types_supported",
    "pushed_authorization_request_endpoint", "require_pushed_authorization_requests", "end_session_endpoint",
    "introspection_endpoint", "revocation_endpoint", "code_challenge_methods_supported",
    "dpop_signing_alg_values_supported", "authorization_response_iss_parameter_supported",
)
#: How each advertised endpoint is called to see that it is there (method, expected statuses).
ENDPOINT_PROBES = {
    "authorization_endpoint": ("GET", {200}),  # no parameters: the error page (GovStack §8: 200)
    "token_endpoint": ("POST", {400}),
    "userinfo_endpoint": ("GET", {401}),
    "jwks_uri": ("GET", {200}),
    "registration_endpoint": ("POST", {200, 401}),
    "pushed_authorization_request_endpoint": ("POST", {401}),
    "end_session_endpoint": ("GET", {200}),
    "introspection_endpoint": ("POST", {400, 401}),
    "revocation_endpoint": ("POST", {400, 401}),
}


def test_discovery_document(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = response.json()
    missing = [name for name in REQUIRED_METADATA if name not in metadata]
    assert not missing, missing
    assert metadata["issuer"] == ISSUER
    for name, value in metadata.items():
        if name.endswith("_supported") and not isinstance(value, bool):
            assert isinstance(value, list) and all(isinstance(v, str) for v in value), name
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"pairwise", "public"} <= set(metadata["subject_types_supported"])
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["response_types_supported"] == ["code"]
    assert {"authorization_code", "refresh_token"} <= set(metadata["grant_types_supported"])
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert {"RS256", "PS256", "ES256", "EdDSA"} <= set(metadata["id_token_signing_alg_values_supported"])
    assert "RSA-OAEP-256" in metadata["userinfo_encryption_alg_values_supported"]
    assert "A256GCM" in metadata["userinfo_encryption_enc_values_supported"]
    assert "offline_access" in metadata["scopes_supported"] and "openid" in metadata["scopes_supported"]
    assert "idbb:acr:static-code" in metadata["acr_values_supported"]
    assert response.headers["content-type"].startswith("application/json")


def test_every_advertised_endpoint_answers(client):
    metadata = client.get("/.well-known/openid-configuration").json()
    endpoints = {k: v for k, v in metadata.items() if k.endswith("_endpoint") or k == "jwks_uri"}
    assert set(endpoints) == set(ENDPOINT_PROBES), set(endpoints) ^ set(ENDPOINT_PROBES)
    for name, url in endpoints.items():
        assert url.startswith(ISSUER + "/"), (name, url)
        method, expected = ENDPOINT_PROBES[name]
        response = client.request(method, urlsplit(url).path, follow_redirects=False)
        assert response.status_code in expected, (name, response.status_code, response.text[:200])


def test_authorization_server_metadata_matches(client):
    oidc = client.get("/.well-known/openid-configuration").json()
    oauth = client.get("/.well-known/oauth-authorization-server")
    assert oauth.status_code == 200
    assert oauth.json()["issuer"] == ISSUER
    assert oauth.json()["token_endpoint"] == oidc["token_endpoint"]


def test_jwks_publishes_every_signing_key_type(client):
    jwks = server_jwks(client)
    kinds = {(k["kty"], k["alg"]) for k in jwks["keys"] if k["use"] == "sig"}
    assert {("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")} <= kinds
    assert all("d" not in k and "p" not in k for k in jwks["keys"])
