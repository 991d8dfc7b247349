"""Helpers of the token-side OIDC flow tests (split from ``test_oidc_token_side.py``).

Setup enrolls a person and registers relying parties through client management (HTTP). Everything
sent to idbb is signed with PyJWT; everything idbb signs is verified with PyJWT. Only the
encrypted userinfo/ID token are decrypted with jwcrypto (the inner JWS is then verified with PyJWT).
"""

import base64
import hashlib
import json
import uuid
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwe as jw_jwe
from jwcrypto import jwk as jw_jwk

from app.clock import clock
from tests.conftest import ISSUER, new_ec_key
from tests.flows.oidc_helpers import (
    ASSERTION_TYPE,
    Citizen,
    RelyingParty,
    new_rsa_key,
)

TOKEN = "/oauth/token"
TOKEN_V2 = "/oauth/v2/token"
PAR = "/oauth/par"
USERINFO = "/oidc/userinfo"
LOGGED_OUT = "https://rp.example/logged-out"


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
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "client_id": rp.client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": rp.assertion(aud),
    }


def forged_assertion(rp: RelyingParty, aud: str = ISSUER + TOKEN) -> str:
    """A well-formed assertion for ``rp`` signed by a key idbb has never seen."""
    other_pem, _ = new_rsa_key()
    now = int(clock.timestamp())
    return pyjwt.encode(
        {"iss": rp.client_id, "sub": rp.client_id, "aud": aud, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
        other_pem,
        algorithm="RS256",
    )


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
    return dict(
        pyjwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=audience,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    )


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

    def proof(
        self, htm: str, htu: str, *, nonce: str | None = None, access_token: str | None = None, jti: str | None = None
    ) -> str:
        claims: dict[str, Any] = {"jti": jti or str(uuid.uuid4()), "htm": htm, "htu": htu, "iat": int(clock.timestamp())}
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        return pyjwt.encode(claims, self.pem, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.public})


def introspect(api: Any, token: str) -> dict[str, Any]:
    form = {
        "token": token,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": api.assertion(aud=ISSUER + "/oauth/introspect"),
    }
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


def offline_tokens(rp: RelyingParty, person: Citizen) -> dict[str, Any]:
    page = rp.authorize(scope="openid profile offline_access")
    consent_page = rp.login_pin(page, person.uin, person.pin)
    assert consent_page.status_code == 200 and "consent-form" in consent_page.text
    assert 'id="scopes-heading"' in consent_page.text  # the person is told about offline access
    assert "even when you are not signed in" in consent_page.text
    response = rp.exchange(rp.code_from(rp.consent(consent_page)))
    assert response.status_code == 200, response.text
    return dict(response.json())


def dpop_tokens(rp: RelyingParty, person: Citizen, key: DpopKey) -> tuple[dict[str, Any], str]:
    """Token request answered with use_dpop_nonce, then retried with the nonce; returns (body, nonce)."""
    code = obtain_code(rp, person)
    first = rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN)})
    assert_oauth_error(first, "use_dpop_nonce")
    nonce = first.headers["dpop-nonce"]
    response = rp.exchange(code, headers={"DPoP": key.proof("POST", ISSUER + TOKEN, nonce=nonce)})
    assert response.status_code == 200, response.text
    return dict(response.json()), nonce
