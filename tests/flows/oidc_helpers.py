"""A relying party and a citizen for OIDC flow tests, driving idbb over HTTP only.

The relying party is registered through client management (HTTP), signs its client assertions
and request objects with PyJWT, and reads the login/consent pages as a browser would (forms
parsed from the HTML). People are enrolled through the enrollment service in setup.
"""

import base64
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from app.clock import clock
from tests.conftest import ISSUER, bearer, request_time

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT = "https://rp.example/callback"


class _Forms(HTMLParser):
    """Every form on a page: action, and the named inputs with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._current = {"action": a.get("action"), "fields": {}}
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._current
        elif tag in ("input", "button") and self._current is not None and a.get("name"):
            if a.get("type") == "checkbox":
                self._current["fields"].setdefault("checkboxes", []).append(
                    (a["name"], a.get("value"), "checked" in a, "disabled" in a)
                )
            elif tag == "input":
                self._current["fields"][a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms(html: str) -> dict[str, dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class RelyingParty:
    client_id: str
    private_pem: bytes
    public_jwk: dict[str, Any]
    http: Any
    redirect_uri: str = REDIRECT
    verifier: str | None = None
    last: dict[str, Any] = field(default_factory=dict)

    def assertion(self, aud: str = ISSUER + "/oauth/token", **claims: Any) -> str:
        now = int(clock.timestamp())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return pyjwt.encode(body, self.private_pem, algorithm="RS256")

    def auth_form(self, aud: str = ISSUER + "/oauth/token") -> dict[str, str]:
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(aud)}

    def authorize_params(self, **overrides: Any) -> dict[str, str]:
        self.verifier, challenge = pkce_pair()
        params = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": "openid profile",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides: Any) -> Any:
        params = self.authorize_params(**overrides)
        self.last = params
        return self.http.get("/authorize", params=params, follow_redirects=False)

    def login_pin(self, page: Any, identifier: str, pin: str) -> Any:
        form = forms(page.text)["pin-form"]
        data = {**form["fields"], "identifier": identifier, "secret": pin}
        return self.http.post(form["action"], data=data, follow_redirects=False)

    def consent(self, page: Any, decision: str = "accept", claims: list[str] | None = None) -> Any:
        form = forms(page.text)["consent-form"]
        data: dict[str, Any] = {k: v for k, v in form["fields"].items() if k != "checkboxes"}
        boxes = form["fields"].get("checkboxes", [])
        chosen = [value for name, value, checked, disabled in boxes if name == "claims" and checked and not disabled]
        data["claims"] = chosen if claims is None else claims
        data["decision"] = decision
        return self.http.post(form["action"], data=data, follow_redirects=False)

    def code_from(self, response: Any) -> str:
        assert response.status_code in (302, 303), response.text[:500]
        got = query(response.headers["location"])
        assert got.get("state") == self.last.get("state")
        assert got.get("iss") == ISSUER  # RFC 9207
        assert "code" in got, got
        return got["code"]

    def exchange(self, code: str, **overrides: Any) -> Any:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
            **self.auth_form(),
        }
        headers = overrides.pop("headers", None)
        form.update(overrides)
        return self.http.post("/oauth/token", data={k: v for k, v in form.items() if v is not None}, headers=headers)

    def login_and_token(self, identifier: str, pin: str, **authorize: Any) -> dict[str, Any]:
        page = self.authorize(**authorize)
        assert page.status_code == 200, page.text[:500]
        after = self.login_pin(page, identifier, pin)
        if after.status_code == 200 and "consent-form" in after.text:
            after = self.consent(after)
        response = self.exchange(self.code_from(after))
        assert response.status_code == 200, response.text
        return dict(response.json())


def new_rsa_key() -> tuple[bytes, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem, RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)


def register_rp(
    http: Any, admin_token: str, *, claims: list[str] | None = None, acrs: list[str] | None = None, **extra: Any
) -> RelyingParty:
    pem, public = new_rsa_key()
    client_id = f"rp-{uuid.uuid4().hex[:8]}"
    request = {
        "clientId": client_id,
        "clientName": "Ministry portal",
        "relyingPartyId": f"ministry-{client_id}",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": [REDIRECT],
        "authContextRefs": acrs or ["idbb:acr:static-code"],
        "publicKey": public,
        "userClaims": claims if claims is not None else ["name", "given_name", "family_name", "birthdate", "email"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
        **extra,
    }
    response = http.post(
        "/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": request}, headers=bearer(admin_token)
    )
    assert response.status_code == 200 and not response.json()["errors"], response.text
    return RelyingParty(client_id, pem, public, http)


@dataclass
class Citizen:
    uin: str
    pin: str
    email: str


def enroll_citizen(app: Any, *, pin: str = "482913", email: str = "amina@example.org", **biographic: Any) -> Citizen:
    from sqlalchemy import select

    from app.extensions import db
    from app.models.enrollment import Enrollment
    from app.models.registry import Identity
    from app.services.enrollment import enrollments

    enrollment_id = f"E-{uuid.uuid4().hex[:10]}"
    bio = {
        "firstName": "Amina",
        "lastName": "Diallo",
        "dateOfBirth": "1990-04-12",
        "gender": "F",
        "email": email,
        "phoneNumber": "+221700000001",
        **biographic,
    }
    with app.app.app_context():
        enrollments.create(
            enrollment_id,
            {
                "enrollmentType": "CITIZEN",
                "biographicData": bio,
                "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"pin": pin}},
            },
            finalize=True,
            client_id="test",
            transaction_id=enrollment_id,
        )
        identity_id = db.session.get(Enrollment, enrollment_id).identity_id
        uin = db.session.execute(select(Identity.uin).where(Identity.identity_id == identity_id)).scalar_one()
    return Citizen(uin, pin, email)


def strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)
