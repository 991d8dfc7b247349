"""A browser and a wallet app for the wallet-login-by-QR tests (``/linked-authorization``), over HTTP only.

The browser holds the authorization transaction of the login page and long-polls; the wallet scans the
link code, authenticates the person (PIN, OTP or a WLA token signed by a key it bound at
``/wallet-binding``) and sends the consent. WLA tokens and consent signatures are made here with PyJWT and
cryptography; idbb verifies them with jwcrypto. Both work on a Starlette test client or an httpx client
talking to a real server.
"""

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from jwt.algorithms import RSAAlgorithm

from app.clock import clock
from tests.conftest import bearer, request_time, server_jwks, verify_with_pyjwt
from tests.flows.oidc_helpers import Citizen, RelyingParty, forms

LA = "/linked-authorization"
WALLET = "idbb:acr:linked-wallet"
WALLET_PIN = "idbb:acr:linked-wallet-static-code"
PIN = "idbb:acr:static-code"
OTP = "idbb:acr:generated-code"
ALL_ACRS = [WALLET, WALLET_PIN, PIN, OTP]
XSRF = {"X-XSRF-TOKEN": "xsrf-" + "a1b2c3d4"}
BROWSER_COOKIE = "idbb_browser"
#: Operations whose error answers keep ``"response": {}`` (issue 13 point 5); the others leave it out.
KEEPS_RESPONSE = {"link-code", "link-status", "link-transaction", "authenticate"}


def call(
    http: Any, path: str, request: Any, headers: dict[str, str] | None = None, *, request_time_value: str | None = None
) -> dict[str, Any]:
    """POST one enveloped request; the answer must be HTTP 200 with at most one error."""
    body = {"requestTime": request_time() if request_time_value is None else request_time_value, "request": request}
    response = http.post(path, json=body, headers=headers or {})
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    answer = dict(response.json())
    assert len(answer["errors"]) <= 1, answer
    if answer["errors"] and path.rsplit("/", 1)[-1] in KEEPS_RESPONSE:
        assert answer["response"] == {}, answer  # GovStack clients read .response.x on any answer
    elif answer["errors"]:
        assert "response" not in answer, answer  # link-auth-code's schema requires code… whenever it is present
    return answer


def error(answer: dict[str, Any]) -> str | None:
    """The one error code of an answer, or None."""
    return answer["errors"][0]["errorCode"] if answer["errors"] else None


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["errors"] == [], answer
    return dict(answer["response"])


def transaction_id(page: Any) -> str:
    """The browser's transaction id: the hidden ``txn`` of the login page's forms (or its wallet link)."""
    for form in forms(page.text).values():
        if form["fields"].get("txn"):
            return str(form["fields"]["txn"])
    found = re.search(r'id="wallet-login"[^>]*href="/authorize/wallet\?txn=([^"&]+)"', page.text)
    assert found, page.text[:800]
    from urllib.parse import unquote

    return unquote(found.group(1))


# --- the browser ------------------------------------------------------------------------------------


@dataclass
class Browser:
    """The login page's script: it asks for a link code and long-polls for the link and the code."""

    http: Any
    txn: str
    headers: dict[str, str] = field(default_factory=lambda: dict(XSRF))

    def link_code(self, txn: str | None = None) -> dict[str, Any]:
        return call(self.http, LA + "/link-code", {"transactionId": txn or self.txn}, self.headers)

    def new_code(self) -> str:
        return str(ok(self.link_code())["linkCode"])

    def link_status(self, code: str, txn: str | None = None) -> dict[str, Any]:
        return call(self.http, LA + "/link-status", {"transactionId": txn or self.txn, "linkCode": code}, self.headers)

    def link_auth_code(self, code: Any, txn: str | None = None) -> dict[str, Any]:
        request = {"transactionId": txn or self.txn}
        if code is not None:
            request["linkedCode"] = code
        return call(self.http, LA + "/link-auth-code", request, self.headers)


def browser_cookie(http: Any, page: Any) -> str:
    """The ``idbb_browser`` cookie the login page set (or the jar already held)."""
    value = page.cookies.get(BROWSER_COOKIE) or http.cookies.get(BROWSER_COOKIE)
    assert value, "the login page set no browser cookie"
    return str(value)


def open_login_page(rp: RelyingParty, acr_values: str = WALLET, **authorize: Any) -> Browser:
    """GET /authorize as the browser does; returns the page's script holding its transaction. Its calls
    send the browser's cookie explicitly: a client talking plain http to a test server would otherwise drop
    the ``Secure`` cookie, and link-code and link-auth-code answer only this browser (issue 14 finding 4)."""
    page = rp.authorize(acr_values=acr_values, **authorize)
    assert page.status_code == 200, page.text[:500]
    headers = {**XSRF, "Cookie": f"{BROWSER_COOKIE}={browser_cookie(rp.http, page)}"}
    return Browser(rp.http, transaction_id(page), headers)


# --- the wallet -------------------------------------------------------------------------------------


def pin(value: str) -> dict[str, str]:
    return {"authFactorType": "PIN", "challenge": value, "format": "number"}


def otp(value: str) -> dict[str, str]:
    return {"authFactorType": "OTP", "challenge": value, "format": "alpha-numeric"}


def wla(token: str) -> dict[str, str]:
    return {"authFactorType": "WLA", "challenge": token, "format": "jwt"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class WalletKey:
    """The wallet app's RSA key and, once bound, the certificate idbb issued for it."""

    private: rsa.RSAPrivateKey
    certificate_pem: str | None = None
    wallet_user_id: str | None = None

    @classmethod
    def new(cls) -> "WalletKey":
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True))

    @property
    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def x5t_s256(self) -> str:
        assert self.certificate_pem, "bind the key first"
        der = x509.load_pem_x509_certificate(self.certificate_pem.encode()).public_bytes(serialization.Encoding.DER)
        return b64url(hashlib.sha256(der).digest())

    def wla_token(self, individual_id: str, **claims: Any) -> str:
        """A wallet-local-authentication token: RS256 by this key, naming its certificate by x5t#S256."""
        now = int(clock.timestamp())
        body = {
            "sub": individual_id,
            "aud": "esignet-binding",
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(8),
            **claims,
        }
        return pyjwt.encode(
            {k: v for k, v in body.items() if v is not None},
            self.private_pem,
            algorithm="RS256",
            headers={"x5t#S256": self.x5t_s256},
        )

    def consent_signature(self, accepted: list[str], permitted: list[str]) -> str:
        """eSignet v2 consent: detached JWS ``header.signature`` over the sorted lists, without spaces."""
        payload = json.dumps(
            {"accepted_claims": sorted(accepted), "permitted_authorized_scopes": sorted(permitted)}, separators=(",", ":")
        ).encode()
        header = b64url(json.dumps({"alg": "RS256", "x5t#S256": self.x5t_s256}, separators=(",", ":")).encode())
        signature = self.private.sign(f"{header}.{b64url(payload)}".encode("ascii"), padding.PKCS1v15(), SHA256())
        return f"{header}.{b64url(signature)}"


def bind_wallet_key(http: Any, partner_id: str, token: str, who: Citizen, key: WalletKey | None = None) -> WalletKey:
    """POST /wallet-binding as the partner's wallet backend, proving the person with their PIN."""
    key = key or WalletKey.new()
    request = {
        "individualId": who.uin,
        "authFactorType": "WLA",
        "format": "jwt",
        "challengeList": [{"authFactorType": "PIN", "challenge": who.pin, "format": "number"}],
        "publicKey": key.public_jwk,
    }
    response = http.post(
        "/wallet-binding",
        json={"requestTime": request_time(), "request": request},
        headers={**bearer(token), "PARTNER-ID": partner_id, "PARTNER-API-KEY": "partner-api-key"},
    )
    assert response.status_code == 200, response.text
    bound = ok(dict(response.json()))
    assert bound["certificate"].startswith("-----BEGIN CERTIFICATE-----"), bound
    key.certificate_pem, key.wallet_user_id = bound["certificate"], bound["walletUserId"]
    return key


@dataclass
class Wallet:
    """The wallet app: scans the link code, authenticates the person and consents, all on the phone."""

    http: Any
    v2: bool = True

    def _path(self, name: str, v2: bool | None) -> str:
        return f"{LA}/v2/{name}" if (self.v2 if v2 is None else v2) else f"{LA}/{name}"

    def link(self, code: Any, *, v2: bool | None = None) -> dict[str, Any]:
        return call(self.http, self._path("link-transaction", v2), {"linkCode": code})

    def authenticate(
        self, linked_id: Any, individual_id: Any, challenges: Any, *, v2: bool | None = None, **envelope: Any
    ) -> dict[str, Any]:
        request = {"linkedTransactionId": linked_id, "individualId": individual_id, "challengeList": challenges}
        return call(self.http, self._path("authenticate", v2), request, **envelope)

    def consent(
        self,
        linked_id: Any,
        claims: Any,
        scopes: Any = (),
        *,
        key: WalletKey | None = None,
        v2: bool | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """v1 consent, or v2 signed by ``key`` (a v2 consent without a key sends no signature)."""
        request = {
            "linkedTransactionId": linked_id,
            "acceptedClaims": claims,
            "permittedAuthorizeScopes": scopes if isinstance(scopes, str) else list(scopes),
            **extra,
        }
        as_v2 = self.v2 if v2 is None else v2
        if as_v2 and key is not None and "signature" not in extra:
            listed = [claims] if isinstance(claims, str) else list(claims)
            request["signature"] = key.consent_signature(listed, [scopes] if isinstance(scopes, str) else list(scopes))
        return call(self.http, self._path("consent", as_v2), request)

    def decline(self, linked_id: str) -> dict[str, Any]:
        return call(
            self.http,
            self._path("consent", False),
            {
                "linkedTransactionId": linked_id,
                "acceptedClaims": [],
                "permittedAuthorizeScopes": [],
                "consentAction": "DECLINE",
            },
        )

    def send_otp(self, linked_id: str, individual_id: str) -> dict[str, Any]:
        return call(
            self.http,
            LA + "/send-otp",
            {"transactionId": linked_id, "individualId": individual_id, "otpChannels": ["email"]},
        )


# --- the relying party's side -----------------------------------------------------------------------


def tokens_for(rp: RelyingParty, code_answer: dict[str, Any]) -> dict[str, Any]:
    """The relying party receives the browser's redirect and exchanges the code at the token endpoint."""
    assert code_answer["redirectUri"] == rp.redirect_uri
    assert code_answer["state"] == rp.last["state"] and code_answer["nonce"] == rp.last["nonce"]
    response = rp.exchange(code_answer["code"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def id_token_claims(rp: RelyingParty, tokens: dict[str, Any]) -> dict[str, Any]:
    claims = verify_with_pyjwt(tokens["id_token"], server_jwks(rp.http), audience=rp.client_id)
    assert claims["nonce"] == rp.last["nonce"]
    return claims


def userinfo_claims(rp: RelyingParty, tokens: dict[str, Any]) -> dict[str, Any]:
    """GET /oidc/userinfo with the access token: a signed JWT, verified with PyJWT against the JWKS."""
    response = rp.http.get("/oidc/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jwt")
    return verify_with_pyjwt(response.text, server_jwks(rp.http), audience=rp.client_id)
