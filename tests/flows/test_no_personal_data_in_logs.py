"""Issue 14 acceptance: the demo scenario (enroll, log in, QR login, consent) with logs at DEBUG leaves no
seeded name, birth date, e-mail, phone number, UIN or enrollment id in any log line (robustness 10)."""

import json
import logging
import uuid

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import select

from app.extensions import db
from app.models.enrollment import Enrollment
from app.models.registry import Identity
from tests.conftest import ISSUER, bearer
from tests.flows.linked_helpers import PIN, Wallet, ok, open_login_page, pin, tokens_for
from tests.flows.oidc_helpers import RelyingParty, register_rp

FIRST, LAST, BIRTH, EMAIL, PHONE, SECRET = (
    "Zeynabou",
    "Ndiayekane",
    "1987-09-23",
    "zeynabou.n@example.org",
    "+221771234567",
    "604281",
)


def _lines(caplog) -> list[str]:
    """Every captured record as the production handler writes it: message, extras and traceback."""
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


def test_demo_scenario_at_debug_logs_no_personal_data(make_app, api_client, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(log_level="DEBUG", long_poll_timeout=1.0)
    http = app.test_client(base_url=ISSUER)
    admin = api_client("add_oidc_client", "update_oidc_client", "read_oidc_client").token()
    station = api_client("enroll.read", "enroll.write", "registry.read", "registry.write").token()
    enrollment_id = f"ENR-{uuid.uuid4().hex[:8]}"

    # enroll (OSIA, over HTTP), with one refused request whose body holds the person's name
    body = {
        "enrollmentType": "CITIZEN",
        "biographicData": {
            "firstName": FIRST,
            "lastName": LAST,
            "dateOfBirth": BIRTH,
            "gender": "F",
            "email": EMAIL,
            "phoneNumber": PHONE,
        },
        "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"pin": SECRET}},
    }
    bad = http.post(
        f"/v1/enrollments/{enrollment_id}?transactionId=t-0",
        json={**body, "enrollmentType": {"name": FIRST}},
        headers=bearer(station),
    )
    assert bad.status_code == 400
    created = http.post(
        f"/v1/enrollments/{enrollment_id}?transactionId=t-1&finalize=true", json=body, headers=bearer(station)
    )
    assert created.status_code == 204, created.text
    assert http.get(f"/v1/enrollments/{enrollment_id}?transactionId=t-2", headers=bearer(station)).status_code == 200
    with app.app.app_context():
        identity_id = db.session.get(Enrollment, enrollment_id).identity_id
        uin = db.session.execute(select(Identity.uin).where(Identity.identity_id == identity_id)).scalar_one()
    assert http.get(f"/registry/identities/{uin}", headers=bearer(station)).status_code == 200
    refused = http.patch(
        f"/registry/identities/{uin}", json={"changes": {"firstName": FIRST + "x"}, "reason": 5}, headers=bearer(station)
    )
    assert refused.status_code == 400
    assert http.get(f"/registry/identities/{uin}/history", headers=bearer(station)).status_code == 403
    assert http.get(f"/registry/identities/{uin}%0A{PHONE}").status_code == 401

    # log in with the PIN, consent, userinfo
    rp = register_rp(http, admin)
    tokens = rp.login_and_token(uin, SECRET, scope="openid profile email phone")
    info = http.get("/oidc/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 200

    # QR login: the wallet links, authenticates with the PIN and consents; the browser gets the code
    rp = RelyingParty(rp.client_id, rp.private_pem, rp.public_jwk, app.test_client(base_url=ISSUER))  # new browser
    browser = open_login_page(rp, PIN)
    code = browser.new_code()
    wallet = Wallet(http, v2=False)
    linked = ok(wallet.link(code))["linkTransactionId"]
    ok(wallet.authenticate(linked, uin, [pin(SECRET)], v2=False))
    ok(wallet.consent(linked, ["given_name", "birthdate"], [], v2=False))
    tokens_for(rp, ok(browser.link_auth_code(code)))
    assert http.get("/ready").status_code == 200

    lines = _lines(caplog)
    assert len(lines) > 20, "the scenario logged (the test looks at real lines)"
    for secret in (FIRST, LAST, BIRTH, EMAIL, PHONE, uin, enrollment_id, SECRET, json.dumps(FIRST)):
        leaked = [line for line in lines if secret in line]
        assert not leaked, (secret, leaked[:3])
    noise = [line for line in lines if "multiple content types" in line or "Context impl" in line or "Will assume" in line]
    assert not noise, noise[:3]


def test_error_records_log_the_path_without_its_identifiers(client, api_client, caplog, monkeypatch):
    from app.services.enrollment import registry

    def boom(uin):
        raise RuntimeError("boom")

    monkeypatch.setattr(registry, "read_identity", boom)
    token = api_client("registry.read").token()
    caplog.set_level(logging.DEBUG)
    assert client.get("/registry/identities/7301946852", headers=bearer(token)).status_code == 500
    failed = [r for r in caplog.records if r.getMessage() == "request failed"]
    assert [r.path for r in failed] == ["/registry/identities/{id}"]
    assert not [line for line in _lines(caplog) if "7301946852" in line]


def test_no_content_type_warning_per_request_and_no_alembic_lines_per_ready(client, caplog):
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        client.post("/oauth/token", data={"grant_type": "client_credentials"})
        client.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert client.get("/ready").status_code == 200
    names = {r.name for r in caplog.records}
    assert not any(n.startswith("alembic") for n in names), names
    assert not [r for r in caplog.records if "multiple content types" in r.getMessage()]
