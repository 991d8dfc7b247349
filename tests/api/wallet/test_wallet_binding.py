"""GovStack ``POST /wallet-binding`` (= eSignet ``/binding/wallet-binding``) and ``/binding/binding-otp``.

Over HTTP with real crypto: the wallet keys are made with cryptography, WLA tokens and consents are
signed with PyJWT, and every certificate idbb issues is parsed and chain-verified by the OpenSSL
command line (``openssl verify -x509_strict``), not by the library that built it. OTPs travel
through a real SMTP server (aiosmtpd). The last part runs the GovStack sandbox profile.
"""

import hashlib
import re
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from app.clock import clock
from tests.conftest import ISSUER, bearer, request_time, seal_audit
from tests.flows.oidc_helpers import Citizen, enroll_citizen
from tests.mailbox import Mailbox, free_port

OPENSSL = "/usr/bin/openssl"
AUD = "esignet-binding"


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def mailbox(smtp: Any) -> Mailbox:
    smtp[0].messages.clear()
    return smtp[0]


@pytest.fixture
def app(make_app: Any, smtp: Any) -> Any:
    """The strict (production) profile, sending one-time codes by SMTP to the test server."""
    clock.reset()
    yield make_app(notifier="smtp", smtp_host="127.0.0.1", smtp_port=smtp[1])
    clock.reset()


@pytest.fixture
def citizen(app: Any) -> Citizen:
    return enroll_citizen(app, email="amina.wallet@example.org")


class Partner:
    """A wallet backend: an API client holding ``wallet_binding``; its client id is its PARTNER-ID."""

    def __init__(self, api: Any) -> None:
        self.client_id = api.client_id
        self.token = api.token()

    def headers(self, **changes: Any) -> dict[str, str]:
        values = {"Authorization": f"Bearer {self.token}", "PARTNER-ID": self.client_id, "PARTNER-API-KEY": "pk-1"}
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def partner(api_client: Any) -> Partner:
    return Partner(api_client("wallet_binding"))


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(private: Any) -> dict[str, Any]:
    if isinstance(private, rsa.RSAPrivateKey):
        return RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)


def pin(value: str) -> list[dict[str, str]]:
    return [{"authFactorType": "PIN", "challenge": value, "format": "number"}]


def otp(value: str) -> list[dict[str, str]]:
    return [{"authFactorType": "OTP", "challenge": value, "format": "alpha-numeric"}]


def bind_body(individual_id: str, challenges: list[dict[str, str]], public_key: Any, **changes: Any) -> dict[str, Any]:
    request = {
        "individualId": individual_id,
        "authFactorType": "WLA",
        "format": "jwt",
        "challengeList": challenges,
        "publicKey": public_key,
    }
    for name, value in changes.items():
        if value is None:
            request.pop(name, None)
        else:
            request[name] = value
    return {"requestTime": request_time(), "request": request}


def bind(client: Any, partner: Partner, body: Any, path: str = "/wallet-binding", **headers: Any) -> Any:
    return client.post(path, json=body, headers=partner.headers(**headers))


def success(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] == [], body
    assert body["responseTime"].endswith("Z")
    return dict(body["response"])


def only_error(response: Any) -> str:
    """eSignet envelope: HTTP 200, empty response, exactly one error; returns its code."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"] == {} and len(body["errors"]) == 1, body
    assert body["errors"][0]["errorMessage"]
    return str(body["errors"][0]["errorCode"])


def ca_pem(app: Any) -> str:
    from app.services.wallet import binding_ca

    with app.app.app_context():
        return binding_ca.ca_certificate_pem()


def openssl(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def verify_chain(tmp_path: Path, ca: str, leaf: str) -> None:
    (tmp_path / "ca.pem").write_text(ca)
    (tmp_path / "leaf.pem").write_text(leaf)
    out = openssl("verify", "-x509_strict", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "leaf.pem"))
    assert out.strip().endswith(": OK"), out


def spki_pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def cert_x5t(pem: str) -> str:
    import base64

    der = ssl.PEM_cert_to_DER_cert(pem)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def not_after(pem: str) -> datetime:
    line = openssl("x509", "-noout", "-enddate", stdin=pem).strip().split("=", 1)[1]
    return datetime.strptime(" ".join(line.split()), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)


# --- success ------------------------------------------------------------------------------------


def test_bind_with_pin_returns_a_certificate_over_the_wallet_key_verified_by_openssl(
    app, client, partner, citizen, tmp_path
):
    wallet = new_rsa()
    result = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(wallet))))
    assert set(result) == {"walletUserId", "certificate", "expireDateTime"}
    assert len(result["walletUserId"]) == 43 and citizen.uin not in result["walletUserId"]
    certificate = result["certificate"]
    assert certificate.startswith("-----BEGIN CERTIFICATE-----")
    verify_chain(tmp_path, ca_pem(app), certificate)
    # the certified key is the wallet's key
    shown = openssl("x509", "-noout", "-pubkey", stdin=certificate)
    assert shown.split() == spki_pem(wallet).split()
    # expireDateTime is the certificate's notAfter, binding_cert_days (180) from now
    expires = not_after(certificate)
    assert result["expireDateTime"] == expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert abs((expires - datetime.now(UTC) - timedelta(days=180)).total_seconds()) < 60
    # X.509 v3 end entity, subject = the pseudonym, nothing personal in it
    text = openssl("x509", "-noout", "-text", "-nameopt", "RFC2253", stdin=certificate)
    assert "Version: 3" in text and "CA:FALSE" in text and "Digital Signature" in text
    assert "X509v3 Authority Key Identifier" in text and "X509v3 Subject Key Identifier" in text
    assert f"Subject: CN={result['walletUserId']}" in text
    assert citizen.uin not in text and citizen.email not in text


def test_binding_is_audited_and_stored_without_personal_data(app, client, partner, citizen):
    from sqlalchemy import select

    from app.extensions import db
    from app.models.audit import AuditEvent
    from app.models.wallet_binding import WalletBinding

    result = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
    with app.app.app_context():
        seal_audit()
        row = db.session.execute(select(WalletBinding)).scalar_one()
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "wallet.bound")).scalars().all()
        assert [(e.target, e.details, e.actor) for e in events] == [(row.binding_id, {}, f"client:{partner.client_id}")]
        stored = " ".join(
            str(v)
            for v in (
                row.binding_id,
                row.identity_id,
                row.public_key,
                row.certificate,
                row.cert_thumbprint,
                row.wallet_user_id,
            )
        )
        all_audit = " ".join(str(e.details) + str(e.target) for e in db.session.execute(select(AuditEvent)).scalars())
    assert citizen.uin not in stored and citizen.uin not in all_audit
    assert row.wallet_user_id == result["walletUserId"] and row.auth_factor == "WLA"
    assert row.cert_thumbprint == cert_x5t(result["certificate"])


def test_bind_with_otp_on_the_esignet_path(app, client, partner, citizen, mailbox, tmp_path):
    sent = client.post(
        "/binding/binding-otp",
        headers=bearer(partner.token),
        json={"requestTime": request_time(), "request": {"individualId": citizen.uin, "otpChannels": ["email"]}},
    )
    assert success(sent) == {"maskedEmail": "a***@example.org", "maskedMobile": None}
    code = mailbox.last_code()
    wallet = ec.generate_private_key(ec.SECP256R1())
    result = success(
        bind(client, partner, bind_body(citizen.uin, otp(code), jwk_of(wallet)), path="/binding/wallet-binding")
    )
    verify_chain(tmp_path, ca_pem(app), result["certificate"])
    assert openssl("x509", "-noout", "-pubkey", stdin=result["certificate"]).split() == spki_pem(wallet).split()
    # a code is single use
    again = bind(client, partner, bind_body(citizen.uin, otp(code), jwk_of(new_rsa())))
    assert only_error(again) == "invalid_auth_challenge"


def test_ed25519_wallet_keys_are_certified_too(app, client, partner, citizen, tmp_path):
    wallet = ed25519.Ed25519PrivateKey.generate()
    result = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(wallet))))
    verify_chain(tmp_path, ca_pem(app), result["certificate"])
    assert openssl("x509", "-noout", "-pubkey", stdin=result["certificate"]).split() == spki_pem(wallet).split()


def test_wallet_user_id_is_stable_per_partner_and_differs_across_partners(client, api_client, partner, citizen):
    first = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
    second = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
    other = Partner(api_client("wallet_binding"))
    third = success(bind(client, other, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
    assert first["walletUserId"] == second["walletUserId"] != third["walletUserId"]
    assert first["certificate"] != second["certificate"]


def test_a_new_key_adds_a_binding_and_the_old_one_stays_valid(app, client, partner, citizen):
    from app.services.wallet import wallet_binding

    old = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
    new = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
    with app.app.app_context():
        found = [wallet_binding.consent_key(cert_x5t(r["certificate"])) for r in (old, new)]
    assert all(found) and found[0][0] == found[1][0] and found[0][1] != found[1][1]


# --- errors, in their order --------------------------------------------------------------------


def test_duplicate_public_key_for_the_same_person_and_factor(client, api_client, partner, citizen, app):
    key = jwk_of(new_rsa())
    success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), key)))
    assert only_error(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), key))) == "duplicate_public_key"
    other = Partner(api_client("wallet_binding"))  # the same person through another partner: still the same key
    assert only_error(bind(client, other, bind_body(citizen.uin, pin(citizen.pin), key))) == "duplicate_public_key"
    someone = enroll_citizen(app, pin="735190", email="omar@example.org", firstName="Omar")
    success(bind(client, partner, bind_body(someone.uin, pin(someone.pin), key)))  # a public key is public


def test_an_expired_binding_gives_way_to_the_same_key(app, client, api_client, citizen):
    key = jwk_of(new_rsa())
    first = Partner(api_client("wallet_binding"))
    success(bind(client, first, bind_body(citizen.uin, pin(citizen.pin), key)))
    clock.advance(181 * 86400)
    later = Partner(api_client("wallet_binding"))
    again = success(bind(client, later, bind_body(citizen.uin, pin(citizen.pin), key)))
    assert datetime.strptime(again["expireDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").year >= datetime.now(UTC).year + 1


#: Each case is wrong at its own level and also at every later one (unsupported factor, a private
#: key, a wrong PIN), so the code that answers shows the order of the checks.
INVALID_REQUEST_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("no-partner-id", {"PARTNER-ID": None}, {}),
    ("no-api-key", {"PARTNER-API-KEY": None}, {}),
    ("blank-api-key", {"PARTNER-API-KEY": "  "}, {}),
    ("partner-not-token-client", {"PARTNER-ID": "someone-else"}, {}),
    ("no-individual", {}, {"individualId": None}),
    ("empty-individual", {}, {"individualId": ""}),
    ("no-factor", {}, {"authFactorType": None}),
    ("format-not-string", {}, {"format": 7}),
    ("no-challenges", {}, {"challengeList": []}),
    ("challenge-without-value", {}, {"challengeList": [{"authFactorType": "PIN", "format": "number"}]}),
    ("challenges-not-list", {}, {"challengeList": "482913"}),
    ("no-key", {}, {"publicKey": None}),
]


def test_invalid_request_comes_first(client, partner, citizen):
    for name, headers, changes in INVALID_REQUEST_CASES:
        body = bind_body(
            citizen.uin, pin("000000"), RSAAlgorithm.to_jwk(new_rsa(), as_dict=True), **{"authFactorType": "PIN", **changes}
        )
        assert only_error(bind(client, partner, body, **headers)) == "invalid_request", name


def test_bad_request_time_and_bodies_are_invalid_request(client, partner, citizen):
    for sent in ("2026-01-01T10:00:00Z", "yesterday", None, request_time(-600), request_time(600)):
        body = bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))
        body["requestTime"] = sent
        assert only_error(bind(client, partner, body)) == "invalid_request", sent
    for body in ({"requestTime": request_time(), "request": "x"}, {"requestTime": request_time()}, ["a"], "text"):
        assert only_error(bind(client, partner, body)) == "invalid_request", body


UNSUPPORTED_CASES: list[tuple[str, dict[str, Any], list[dict[str, str]] | None]] = [
    ("bind-otp", {"authFactorType": "OTP"}, None),
    ("bind-pin", {"authFactorType": "PIN", "format": "number"}, None),
    ("wla-as-number", {"format": "number"}, None),
    ("bio-challenge", {}, [{"authFactorType": "BIO", "challenge": "e30", "format": "encoded-json"}]),
    ("pin-alpha", {}, [{"authFactorType": "PIN", "challenge": "000000", "format": "alpha-numeric"}]),
    ("otp-jwt", {}, [{"authFactorType": "OTP", "challenge": "000000", "format": "jwt"}]),
    ("wla-challenge", {}, [*pin("000000"), {"authFactorType": "WLA", "challenge": "a.b.c", "format": "jwt"}]),
]


def test_unsupported_challenge_format_comes_before_key_and_challenge(client, partner, citizen):
    for name, changes, challenges in UNSUPPORTED_CASES:
        body = bind_body(citizen.uin, challenges or pin("000000"), {"kty": "RSA", "n": "short"}, **changes)
        assert only_error(bind(client, partner, body)) == "unsupported_challenge_format", name


def test_invalid_public_key_comes_before_the_challenge(client, partner, citizen):
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    cases = {
        "private": RSAAlgorithm.to_jwk(new_rsa(), as_dict=True),
        "rsa-1024": RSAAlgorithm.to_jwk(short, as_dict=True),
        "rsa-without-e": {k: v for k, v in jwk_of(new_rsa()).items() if k != "e"},
        "p521": ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP521R1()).public_key(), as_dict=True),
        "symmetric": {"kty": "oct", "k": "c2VjcmV0"},
        "text": "not a key",
        "off-curve": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
    }
    for name, key in cases.items():
        body = bind_body(citizen.uin, pin("000000"), key)  # the PIN is wrong too
        assert only_error(bind(client, partner, body)) == "invalid_public_key", name


def test_invalid_auth_challenge_is_one_answer_for_every_failure(app, client, partner, citizen):
    key = jwk_of(new_rsa())
    success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), key)))
    # a wrong PIN comes before the duplicate key
    assert only_error(bind(client, partner, bind_body(citizen.uin, pin("000000"), key))) == "invalid_auth_challenge"
    assert only_error(bind(client, partner, bind_body(citizen.uin, otp("123456"), key))) == "invalid_auth_challenge"
    unknown = bind(client, partner, bind_body("9999999999", pin(citizen.pin), jwk_of(new_rsa())))
    assert only_error(unknown) == "invalid_auth_challenge"
    letters = bind(client, partner, bind_body("9999999998", pin("12ab56"), jwk_of(new_rsa())))
    assert only_error(letters) == "invalid_auth_challenge"
    messages = {r.json()["errors"][0]["errorMessage"] for r in (unknown, letters)}
    assert len(messages) == 1 and "9999999999" not in messages.pop()


def test_wrong_pins_are_counted_and_block_the_identifier(client, partner, citizen):
    for _ in range(3):
        assert (
            only_error(bind(client, partner, bind_body(citizen.uin, pin("000000"), jwk_of(new_rsa()))))
            == "invalid_auth_challenge"
        )
    blocked = bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa())))
    assert only_error(blocked) == "invalid_auth_challenge"


def test_inactive_identity_cannot_authenticate_and_a_late_deactivation_is_key_binding_failed(
    app, client, partner, citizen, monkeypatch
):
    from sqlalchemy import select

    from app.extensions import db
    from app.models.registry import Identity
    from app.services.oidc import authentication

    with app.app.app_context():
        identity = db.session.execute(select(Identity).where(Identity.uin == citizen.uin)).scalar_one()
        identity_id = identity.identity_id
        identity.status = "INACTIVE"
        db.session.commit()
    body = bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))
    assert only_error(bind(client, partner, body)) == "invalid_auth_challenge"
    # deactivated between the PIN check and the binding (simulated): key_binding_failed
    monkeypatch.setattr(
        authentication,
        "with_static_code",
        lambda identifier, secret, source=None: authentication.Authenticated(identity_id, ("pin",)),
    )
    assert (
        only_error(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(new_rsa()))))
        == "key_binding_failed"
    )


# --- bearer token ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/wallet-binding", "/binding/wallet-binding", "/binding/binding-otp"])
def test_bearer_token_with_the_wallet_binding_scope_is_required(client, api_client, path):
    body = {"requestTime": request_time(), "request": {}}
    none = client.post(path, json=body, headers={"PARTNER-ID": "x", "PARTNER-API-KEY": "y"})
    assert none.status_code == 401 and none.headers["WWW-Authenticate"].startswith("Bearer ")
    assert none.json()["errors"][0]["errorCode"] == "invalid_token"
    garbage = client.post(path, json=body, headers=bearer("not-a-token"))
    assert garbage.status_code == 401
    wrong = api_client("read_oidc_client")
    forbidden = client.post(
        path, json=body, headers={**bearer(wrong.token()), "PARTNER-ID": wrong.client_id, "PARTNER-API-KEY": "k"}
    )
    assert forbidden.status_code == 403
    assert 'scope="wallet_binding"' in forbidden.headers["WWW-Authenticate"]
    assert forbidden.json()["errors"][0]["errorCode"] == "insufficient_scope"


# --- binding-otp --------------------------------------------------------------------------------


def otp_body(**request: Any) -> dict[str, Any]:
    return {"requestTime": request_time(), "request": request}


def test_binding_otp_errors(client, partner, citizen, mailbox):
    send = lambda body: client.post("/binding/binding-otp", json=body, headers=bearer(partner.token))  # noqa: E731
    assert only_error(send(otp_body(otpChannels=["email"]))) == "invalid_identifier"
    assert only_error(send(otp_body(individualId="  ", otpChannels=["email"]))) == "invalid_identifier"
    assert only_error(send(otp_body(individualId=citizen.uin))) == "invalid_otp_channel"
    assert only_error(send(otp_body(individualId=citizen.uin, otpChannels=[]))) == "invalid_otp_channel"
    assert only_error(send(otp_body(individualId=citizen.uin, otpChannels=["fax"]))) == "invalid_otp_channel"
    # the SMTP notifier reaches e-mail only
    assert only_error(send(otp_body(individualId=citizen.uin, otpChannels=["phone"]))) == "invalid_otp_channel"
    unknown = send(otp_body(individualId="9999999999", otpChannels=["email"]))
    assert only_error(unknown) == "send_otp_failed"
    assert (
        only_error(
            send(
                {
                    "requestTime": "2020-01-01T00:00:00.000Z",
                    "request": {"individualId": citizen.uin, "otpChannels": ["email"]},
                }
            )
        )
        == "invalid_request"
    )
    assert mailbox.messages == []


def test_binding_otp_delivery_failure_is_send_otp_failed(make_app, api_client, citizen):
    del api_client
    from app.services import api_clients
    from tests.conftest import ApiClient, new_ec_key

    cx = make_app(notifier="smtp", smtp_host="127.0.0.1", smtp_port=free_port())  # nobody listens there
    http = cx.test_client(base_url=ISSUER)
    person = enroll_citizen(cx, email="nobody@example.org")
    pem, public = new_ec_key()
    with cx.app.app_context():
        api_clients.register("wallet-backend", name="w", scopes=["wallet_binding"], public_key=public, actor="test")
    token = ApiClient("wallet-backend", pem, public, http).token()
    response = http.post(
        "/binding/binding-otp", headers=bearer(token), json=otp_body(individualId=person.uin, otpChannels=["email"])
    )
    assert only_error(response) == "send_otp_failed"


def outbox_binding(make_app: Any) -> tuple[Any, Any, str, Any]:
    """An app whose notifier reaches e-mail and phone (the development outbox), a citizen with both
    contacts, and a wallet backend's token: (test client, citizen, token, outbox)."""
    from app.services import api_clients
    from app.services.oidc import authentication
    from tests.conftest import ApiClient, new_ec_key

    cx = make_app(profile="development", notifier="outbox")
    http = cx.test_client(base_url=ISSUER)
    person = enroll_citizen(cx, email="amina.wallet@example.org")
    pem, public = new_ec_key()
    with cx.app.app_context():
        api_clients.register("wallet-backend", name="w", scopes=["wallet_binding"], public_key=public, actor="test")
        outbox = authentication._notifier()  # the app's one outbox, which keeps what it sent
    return http, person, ApiClient("wallet-backend", pem, public, http).token(), outbox


def test_binding_otp_goes_to_each_requested_channel(make_app, api_client):
    """eSignet's otpChannels: the code goes where the wallet asks, and the answer names where it went."""
    del api_client
    http, person, token, outbox = outbox_binding(make_app)
    send = lambda *channels: http.post(  # noqa: E731
        "/binding/binding-otp",
        headers=bearer(token),
        json=otp_body(individualId=person.uin, otpChannels=list(channels)),
    )

    assert success(send("phone")) == {"maskedEmail": None, "maskedMobile": "********0001"}
    assert [(m["channel"], m["address"]) for m in outbox.messages()] == [("phone", "+221700000001")]

    outbox.clear()
    assert success(send("EMAIL", "phone")) == {"maskedEmail": "a***@example.org", "maskedMobile": "********0001"}
    sent = outbox.messages()
    assert [(m["channel"], m["address"]) for m in sent] == [
        ("email", "amina.wallet@example.org"),
        ("phone", "+221700000001"),
    ]
    codes = {re.search(r"\b\d{6}\b", m["body"]).group(0) for m in sent}  # type: ignore[union-attr]
    assert len(codes) == 1  # one code, on both channels

    # that code binds (the earlier phone-only code was replaced by it)
    wallet = ec.generate_private_key(ec.SECP256R1())
    headers = {**bearer(token), "PARTNER-ID": "wallet-backend", "PARTNER-API-KEY": "pk-1"}
    bound = http.post(
        "/binding/wallet-binding", headers=headers, json=bind_body(person.uin, otp(codes.pop()), jwk_of(wallet))
    )
    assert "walletUserId" in success(bound)


def test_binding_otp_names_only_the_channels_that_delivered(make_app, api_client, monkeypatch):
    """The SMS gateway is down: a code asked for by e-mail and SMS still goes by e-mail, and the answer
    does not claim an SMS; asked for by SMS alone, nothing was sent and the answer says so."""
    from app.services.notifier import DeliveryError

    del api_client
    http, person, token, outbox = outbox_binding(make_app)
    deliver = outbox.send

    def sms_gateway_down(channel: str, address: str, subject: str, body: str) -> None:
        if channel == "phone":
            raise DeliveryError("SMS gateway down")
        deliver(channel, address, subject, body)

    monkeypatch.setattr(outbox, "send", sms_gateway_down)
    send = lambda *channels: http.post(  # noqa: E731
        "/binding/binding-otp",
        headers=bearer(token),
        json=otp_body(individualId=person.uin, otpChannels=list(channels)),
    )
    assert success(send("email", "phone")) == {"maskedEmail": "a***@example.org", "maskedMobile": None}
    assert [m["channel"] for m in outbox.messages()] == ["email"]
    assert only_error(send("phone")) == "send_otp_failed"


# --- what linked authorization uses: WLA tokens and consent keys --------------------------------


def wla_token(private: Any, x5t: str, sub: str, alg: str = "RS256", **changes: Any) -> str:
    now = int(clock.timestamp())
    claims = {"iss": "wallet", "sub": sub, "aud": AUD, "iat": now, "exp": now + 18000, **changes}
    return pyjwt.encode(claims, private, algorithm=alg, headers={"x5t#S256": x5t})


def test_authenticate_wla_with_the_bound_key_once(app, client, partner, citizen):
    from app.services.oidc import authentication
    from app.services.wallet import wallet_binding

    wallet = new_rsa()
    result = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(wallet))))
    x5t = cert_x5t(result["certificate"])
    token = wla_token(wallet, x5t, citizen.uin)
    someone = enroll_citizen(app, pin="735190", email="omar@example.org", firstName="Omar")
    with app.app.app_context():
        identity_id = wallet_binding.authenticate_wla(citizen.uin, token)
        assert identity_id and identity_id == wallet_binding.consent_key(x5t)[0]
        with pytest.raises(authentication.AuthFailed) as replayed:
            wallet_binding.authenticate_wla(citizen.uin, token)
        assert replayed.value.key == "wla.failed"
        other_key = new_rsa()
        failures = [
            (citizen.uin, wla_token(wallet, x5t, "0000000000")),  # sub is not the individual
            (someone.uin, wla_token(wallet, x5t, someone.uin)),  # binding of another person
            (citizen.uin, wla_token(other_key, x5t, citizen.uin)),  # not the bound key
            (citizen.uin, wla_token(wallet, "unknown-thumbprint", citizen.uin)),
            (citizen.uin, wla_token(wallet, x5t, citizen.uin, aud="someone")),
            (citizen.uin, wla_token(wallet, x5t, citizen.uin, iat=int(time.time()) - 3600)),
            (citizen.uin, "not.a.token"),
        ]
        for individual, bad in failures:
            with pytest.raises(authentication.AuthFailed) as refused:
                wallet_binding.authenticate_wla(individual, bad)
            assert refused.value.key == "wla.failed"
        # a signed consent verifies with the key consent_key gives (PyJWT signs, jwcrypto verifies)
        from app.formats import wla

        payload = wla.consent_payload(["name", "email"], [])
        head, _, sig = pyjwt.api_jws.PyJWS().encode(payload, wallet, algorithm="RS256", headers={"x5t#S256": x5t}).split(".")
        _, binding_id, key = wallet_binding.consent_key(x5t)
        assert wla.verify_detached_consent(f"{head}.{sig}", payload, key)["x5t#S256"] == x5t
        assert binding_id
        clock.advance(181 * 86400)  # the binding expired
        assert wallet_binding.consent_key(x5t) is None
        with pytest.raises(authentication.AuthFailed):
            wallet_binding.authenticate_wla(citizen.uin, wla_token(wallet, x5t, citizen.uin))


def test_authenticate_wla_with_an_ec_key(app, client, partner, citizen):
    from app.services.wallet import wallet_binding

    wallet = ec.generate_private_key(ec.SECP256R1())
    result = success(bind(client, partner, bind_body(citizen.uin, pin(citizen.pin), jwk_of(wallet))))
    with app.app.app_context():
        token = wla_token(wallet, cert_x5t(result["certificate"]), citizen.uin, alg="ES256")
        assert wallet_binding.authenticate_wla(citizen.uin, token)


# --- the binding CA -----------------------------------------------------------------------------


def test_the_ca_is_the_same_in_every_app_with_the_same_kek_and_differs_with_another(make_app, tmp_path):
    from tests.conftest import random_kek

    first, second = ca_pem(make_app()), ca_pem(make_app())
    assert first == second  # deterministic: every worker and restart serves the same CA certificate
    assert ca_pem(make_app(kek=random_kek())) != first
    text = openssl("x509", "-noout", "-text", stdin=first)
    assert "CA:TRUE" in text and "Certificate Sign" in text and "ecdsa-with-SHA256" in text
    (tmp_path / "ca.pem").write_text(first)
    assert (
        openssl("verify", "-x509_strict", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "ca.pem"))
        .strip()
        .endswith(": OK")
    )


# --- GovStack sandbox profile -------------------------------------------------------------------


@pytest.fixture
def sandbox(make_app: Any) -> Any:
    clock.reset()
    cx = make_app(profile="govstack-sandbox")
    yield cx, cx.test_client(base_url=ISSUER)
    clock.reset()


def sandbox_headers() -> dict[str, str]:
    return {"PARTNER-ID": "any-partner", "PARTNER-API-KEY": "any-key"}


def test_sandbox_binds_any_otp_for_an_unknown_individual_without_a_token(sandbox, tmp_path):
    """Needs the lead's sandbox spec stripping in app/__init__.py (SANDBOX_OPEN)."""
    cx, http = sandbox
    wallet = new_rsa()
    response = http.post(
        "/wallet-binding", headers=sandbox_headers(), json=bind_body("sandbox-person-1", otp("1"), jwk_of(wallet))
    )
    result = success(response)
    verify_chain(tmp_path, ca_pem(cx), result["certificate"])
    assert openssl("x509", "-noout", "-pubkey", stdin=result["certificate"]).split() == spki_pem(wallet).split()
    from sqlalchemy import select

    from app.extensions import db
    from app.models.wallet_binding import WalletBinding

    with cx.app.app_context():
        row = db.session.execute(select(WalletBinding)).scalar_one()
        assert row.identity_id.startswith("sandbox:") and "sandbox-person-1" not in row.identity_id


def test_sandbox_accepts_a_key_that_does_not_load_and_certifies_a_stand_in(sandbox, tmp_path):
    """Needs the lead's sandbox spec stripping in app/__init__.py (SANDBOX_OPEN)."""
    cx, http = sandbox
    no_e = {k: v for k, v in jwk_of(new_rsa()).items() if k != "e"}
    result = success(
        http.post("/binding/wallet-binding", headers=sandbox_headers(), json=bind_body("sandbox-person-2", otp("x"), no_e))
    )
    verify_chain(tmp_path, ca_pem(cx), result["certificate"])
    assert "idbb sandbox: key not usable" in openssl("x509", "-noout", "-subject", stdin=result["certificate"])
    # still one answer per rule: the same odd key again is a duplicate, an empty OTP is refused
    again = http.post("/wallet-binding", headers=sandbox_headers(), json=bind_body("sandbox-person-2", otp("y"), no_e))
    assert only_error(again) == "duplicate_public_key"
    empty = http.post(
        "/wallet-binding", headers=sandbox_headers(), json=bind_body("sandbox-person-2", otp(""), jwk_of(new_rsa()))
    )
    assert only_error(empty) == "invalid_auth_challenge"
    no_kty = http.post(
        "/wallet-binding", headers=sandbox_headers(), json=bind_body("sandbox-person-2", otp("1"), {"n": "abc"})
    )
    assert only_error(no_kty) == "invalid_public_key"
    headerless = http.post("/wallet-binding", json=bind_body("sandbox-person-2", otp("1"), jwk_of(new_rsa())))
    assert only_error(headerless) == "invalid_request"


def test_sandbox_binding_otp_answers_without_a_token(sandbox):
    """Needs the lead's sandbox spec stripping in app/__init__.py (SANDBOX_OPEN)."""
    _, http = sandbox
    response = http.post("/binding/binding-otp", json=otp_body(individualId="sandbox-person-3", otpChannels=["email"]))
    assert success(response) == {"maskedEmail": None, "maskedMobile": None}


def test_sandbox_rules_at_the_service_layer(sandbox):
    """The relaxed rules without HTTP (independent of how the sandbox serves the spec)."""
    from app.errors import InvalidRequest
    from app.services.wallet import wallet_binding

    cx, _ = sandbox
    person = enroll_citizen(cx, email="sandbox@example.org")
    with cx.app.app_context():
        known = wallet_binding.bind(
            bind_body(person.uin, otp("anything"), jwk_of(new_rsa()))["request"],
            partner_id="p",
            partner_api_key="k",
            client_id=None,
        )
        unknown = wallet_binding.bind(
            bind_body("nobody", otp("1"), jwk_of(new_rsa()))["request"],
            partner_id="p",
            partner_api_key="k",
            client_id="another-client",
        )
        assert known["walletUserId"] != unknown["walletUserId"]
        with pytest.raises(InvalidRequest) as refused:
            wallet_binding.bind(
                bind_body(person.uin, pin("000000"), jwk_of(new_rsa()))["request"],
                partner_id="p",
                partner_api_key="k",
                client_id=None,
            )
        assert refused.value.code == "invalid_auth_challenge"  # a PIN is still checked in the sandbox


def test_strict_profile_refuses_a_call_without_token_info_at_the_service_layer(app):
    from app.errors import Unauthorized
    from app.services.wallet import wallet_binding

    with app.app.app_context(), pytest.raises(Unauthorized):
        wallet_binding.bind({}, partner_id="p", partner_api_key="k", client_id=None)
    with app.app.app_context(), pytest.raises(Unauthorized):
        wallet_binding.binding_otp({}, client_id=None)
