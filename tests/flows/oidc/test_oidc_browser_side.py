"""The browser side of the authorization code flow, over HTTP only: what a relying party and a
citizen see at /authorize, the login (PIN and e-mailed one-time code), consent, SSO and errors.

Setup (enrolling people, registering the admin API client) may call services; every behaviour
under test is driven through the pages and the token/userinfo endpoints, and ID tokens and
userinfo answers are verified with PyJWT against the published JWKS.
"""

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.clock import clock
from tests.conftest import ISSUER, ApiClient, new_ec_key, server_jwks, verify_with_pyjwt
from tests.flows.oidc_helpers import Citizen, RelyingParty, enroll_citizen, forms, query, register_rp
from tests.mailbox import Mailbox, free_port

OTP_ACR = "idbb:acr:generated-code"
PIN_ACR = "idbb:acr:static-code"
REDIRECT_STATUSES = (302, 303)


# --- fixtures and helpers ------------------------------------------------------------------------


def redirect_params(response: Any) -> dict[str, str]:
    """The query of an authorization response (a redirect to the relying party)."""
    assert response.status_code in REDIRECT_STATUSES, (response.status_code, response.text[:300])
    return query(response.headers["location"])


def assert_error_redirect(rp: RelyingParty, response: Any, error: str) -> dict[str, str]:
    """RFC 6749 §4.1.2.1 + RFC 9207: error, the request's state and iss; never a code."""
    got = redirect_params(response)
    assert response.headers["location"].startswith(rp.redirect_uri + "?")
    assert got["error"] == error, got
    assert got.get("state") == rp.last["state"]
    assert got.get("iss") == ISSUER
    assert "code" not in got
    return got


def assert_error_page(response: Any, message: str | None = None, status: int = 400) -> None:
    """An HTML error page shown to the person, no redirect, no session started: 400 after /authorize, and 200 at
    /authorize itself (GovStack §8 defines only 200 there, and eSignet's UI answers 200)."""
    assert response.status_code == status, response.text[:300]
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert 'id="error"' in response.text
    assert "pin-form" not in response.text and "consent-form" not in response.text
    assert not any(c.startswith("idbb_session=") for c in response.headers.get_list("set-cookie"))
    if message is not None:
        assert message in response.text


def assert_login_page(response: Any, form_id: str = "pin-form") -> None:
    assert response.status_code == 200, response.text[:300]
    assert form_id in forms(response.text), response.text[:300]
    assert "location" not in response.headers


def assert_login_page_with_error(response: Any, message: str) -> None:
    assert response.status_code == 400, response.text[:300]
    assert "location" not in response.headers
    assert "pin-form" in forms(response.text)
    shown = re.search(r'<p id="error"[^>]*>([^<]*)</p>', response.text)
    assert shown and shown.group(1).startswith(message), response.text[:500]
    assert not any(c.startswith("idbb_session=") for c in response.headers.get_list("set-cookie"))


def assert_consent_page(response: Any) -> None:
    assert response.status_code == 200, response.text[:300]
    assert "consent-form" in forms(response.text)
    assert "pin-form" not in response.text


def tokens(rp: RelyingParty, response: Any) -> dict[str, Any]:
    """Exchange the code of an authorization response at the token endpoint."""
    answer = rp.exchange(rp.code_from(response))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def id_claims(rp: RelyingParty, body: dict[str, Any]) -> dict[str, Any]:
    return verify_with_pyjwt(body["id_token"], server_jwks(rp.http), audience=rp.client_id)


def userinfo(rp: RelyingParty, body: dict[str, Any]) -> dict[str, Any]:
    answer = rp.http.get("/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert answer.status_code == 200, answer.text
    return verify_with_pyjwt(answer.text, server_jwks(rp.http), audience=rp.client_id)


def cookie_attributes(response: Any, name: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header, names lower-cased (``secure``, ``samesite``...)."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.startswith(name + "="):
            out = {"value": first.split("=", 1)[1]}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                out[key.strip().lower()] = value.strip()
            return out
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def settings_of(app: Any) -> Any:
    return app.app.extensions["idbb"].settings


def authorize_with(rp: RelyingParty, headers: dict[str, str], **overrides: Any) -> Any:
    """GET /authorize as rp.authorize does, with extra request headers (a browser's language)."""
    rp.last = rp.authorize_params(**overrides)
    return rp.http.get("/authorize", params=rp.last, headers=headers, follow_redirects=False)


def claims_param(**targets: dict[str, Any]) -> str:
    return json.dumps(targets)


def login_all_the_way(rp: RelyingParty, who: Citizen, **authorize: Any) -> dict[str, Any]:
    """Authorize, PIN, consent to everything offered, token; returns the token response."""
    return rp.login_and_token(who.uin, who.pin, **authorize)


# --- apps with changed settings ------------------------------------------------------------------


@dataclass
class Site:
    """An idbb built with changed settings, a browser on it, and a client-management token."""

    app: Any
    http: Any
    admin_token: str

    def rp(self, **kwargs: Any) -> RelyingParty:
        return register_rp(self.http, self.admin_token, **kwargs)

    def citizen(self, **kwargs: Any) -> Citizen:
        return enroll_citizen(self.app, **kwargs)


@pytest.fixture
def site(make_app: Callable[..., Any]) -> Iterator[Callable[..., Site]]:
    """Build a Site; use instead of (never together with) the ``app``/``client`` fixtures."""
    from app.services import api_clients

    def build(**changes: Any) -> Site:
        clock.reset()
        cx = make_app(**changes)
        http = cx.test_client(base_url=ISSUER)
        pem, public = new_ec_key()
        cid = f"api-{uuid.uuid4().hex[:8]}"
        with cx.app.app_context():
            api_clients.register(
                cid,
                name=cid,
                scopes=["add_oidc_client", "update_oidc_client", "read_oidc_client"],
                public_key=public,
                actor="test",
            )
        return Site(cx, http, ApiClient(cid, pem, public, http).token())

    yield build
    clock.reset()


# --- a real SMTP server for one-time codes -------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@dataclass
class OtpWorld:
    site: Site
    rp: RelyingParty
    person: Citizen
    mail: Mailbox


@pytest.fixture
def otp(site: Callable[..., Site], mailbox: tuple[Mailbox, int]) -> OtpWorld:
    box, port = mailbox
    world = site(notifier="smtp", smtp_host="127.0.0.1", smtp_port=port)
    return OtpWorld(world, world.rp(acrs=[OTP_ACR]), world.citizen(email="amina.otp@example.org"), box)


def request_code(rp: RelyingParty, login_page: Any, identifier: str, **headers: str) -> Any:
    form = forms(login_page.text)["otp-request-form"]
    return rp.http.post(
        form["action"], data={**form["fields"], "identifier": identifier}, headers=headers, follow_redirects=False
    )


def submit_code(rp: RelyingParty, otp_page: Any, code: str) -> Any:
    form = forms(otp_page.text)["otp-form"]
    return rp.http.post(form["action"], data={**form["fields"], "secret": code}, follow_redirects=False)


def finish(rp: RelyingParty, response: Any) -> dict[str, Any]:
    """Consent (to everything offered) when asked, then the token response."""
    if response.status_code == 200 and "consent-form" in response.text:
        response = rp.consent(response)
    return tokens(rp, response)


# --- 1. one-time code by e-mail (real SMTP) ------------------------------------------------------


def test_otp_login_by_email_gives_generated_code_acr(otp):
    """The code reaches the person's registered address; the ID token says acr generated-code, amr otp."""
    page = otp.rp.authorize()
    assert_login_page(page, "otp-request-form")
    assert "pin-form" not in page.text  # the client registered the OTP context only
    sent = request_code(otp.rp, page, otp.person.uin)
    assert sent.status_code == 200 and "otp-form" in forms(sent.text), sent.text[:300]
    assert "example.org" not in sent.text and "If this identifier is registered" in sent.text  # no destination
    assert otp.mail.recipients == [[otp.person.email]]
    message = otp.mail.messages[0]
    assert message["To"] == otp.person.email and message["Subject"] == "Your sign-in code"
    body = finish(otp.rp, submit_code(otp.rp, sent, otp.mail.last_code()))
    claims = id_claims(otp.rp, body)
    assert claims["acr"] == OTP_ACR and claims["amr"] == ["otp"]
    assert claims["nonce"] == otp.rp.last["nonce"]


def _without_transaction_tokens(page: Any) -> str:
    """The page with its transaction id and CSRF token (new for every login) replaced by placeholders."""
    fields = forms(page.text)["otp-form"]["fields"]
    return page.text.replace(fields["txn"], "TXN").replace(fields["csrf"], "CSRF")


def test_otp_page_reads_the_same_for_known_and_unknown_identifiers(otp):
    """Issue 14 security #2: "We sent a 6-digit code to a***@example.org" for an enrolled person against "If this
    identifier is registered…" for anyone else told who is enrolled. Now the answers are byte-identical apart
    from the transaction's own tokens: status, headers, body — and so are the limits (the 4th code of a login)."""
    known_page, unknown_page = otp.rp.authorize(), otp.rp.authorize()
    unknown = "7" * len(otp.person.uin)
    for attempt in range(4):
        known = request_code(otp.rp, known_page, otp.person.uin)
        other = request_code(otp.rp, unknown_page, unknown)
        assert known.status_code == other.status_code == (200 if attempt < 3 else 400), (attempt, known.text[:300])
        if attempt < 3:
            assert _without_transaction_tokens(known) == _without_transaction_tokens(other).replace(unknown, otp.person.uin)
        else:
            assert "Too many codes were requested" in known.text and "Too many codes were requested" in other.text
        assert sorted(k for k in known.headers if k != "date") == sorted(k for k in other.headers if k != "date")
        assert known.headers.get_list("set-cookie") == other.headers.get_list("set-cookie") == []
    assert len(otp.mail.messages) == 3  # and only the enrolled person got mail


def test_otp_mail_follows_the_browser_language(otp):
    page = otp.rp.authorize()
    request_code(otp.rp, page, otp.person.uin, **{"Accept-Language": "fr"})
    assert otp.mail.messages[0]["Subject"] == "Votre code de connexion"


def test_otp_mail_follows_ui_locales_like_the_pages(otp):
    """The relying party's ui_locales chose French for the pages: the mail is French too."""
    page = otp.rp.authorize(ui_locales="fr")
    assert '<html lang="fr"' in page.text
    sent = request_code(otp.rp, page, otp.person.uin)
    assert '<html lang="fr"' in sent.text
    assert otp.mail.messages[0]["Subject"] == "Votre code de connexion"
    assert "Votre code de connexion est" in otp.mail.messages[0].get_content()


def test_otp_code_is_single_use(otp):
    """A used code does not log in again, even in a new transaction of the same browser."""
    first = request_code(otp.rp, otp.rp.authorize(), otp.person.uin)
    old_code = otp.mail.last_code()
    finish(otp.rp, submit_code(otp.rp, first, old_code))
    page = otp.rp.authorize(prompt="login")
    sent = request_code(otp.rp, page, otp.person.uin)
    new_code = otp.mail.last_code()
    if new_code == old_code:  # one chance in a million: the test would prove nothing
        pytest.skip("the two random codes coincide")
    refused = submit_code(otp.rp, sent, old_code)
    assert refused.status_code == 400 and "location" not in refused.headers
    assert 'id="error"' in refused.text and "otp-form" in refused.text
    assert id_claims(otp.rp, finish(otp.rp, submit_code(otp.rp, refused, new_code)))["amr"] == ["otp"]


def test_otp_code_expires(otp):
    sent = request_code(otp.rp, otp.rp.authorize(), otp.person.uin)
    clock.advance(settings_of(otp.site.app).otp_ttl + 1)
    refused = submit_code(otp.rp, sent, otp.mail.last_code())
    assert refused.status_code == 400 and "location" not in refused.headers
    assert 'id="error"' in refused.text


def test_three_wrong_codes_block_the_identifier_until_the_block_ends(otp):
    block_seconds = settings_of(otp.site.app).otp_block_seconds
    sent = request_code(otp.rp, otp.rp.authorize(), otp.person.uin)
    right = otp.mail.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    page = sent
    for _ in range(2):
        page = submit_code(otp.rp, page, wrong)
        assert page.status_code == 400 and "The code is incorrect" in page.text
    blocked = submit_code(otp.rp, page, wrong)
    assert blocked.status_code == 400 and "location" not in blocked.headers
    assert "Too many failed attempts" in blocked.text
    again = submit_code(otp.rp, sent, right)  # even the right code is refused now
    assert again.status_code == 400 and "location" not in again.headers
    assert "Too many failed attempts" in again.text
    mails = len(otp.mail.messages)
    refused = request_code(otp.rp, otp.rp.authorize(), otp.person.uin)  # and no new code is sent
    assert "Too many failed attempts" in refused.text and len(otp.mail.messages) == mails
    clock.advance(block_seconds + 1)
    sent = request_code(otp.rp, otp.rp.authorize(), otp.person.uin)
    assert id_claims(otp.rp, finish(otp.rp, submit_code(otp.rp, sent, otp.mail.last_code())))["acr"] == OTP_ACR


def test_acr_the_client_did_not_register_is_refused_even_when_available(otp):
    """generated-code is available here (SMTP is set), but this client registered static-code only."""
    pin_only = otp.site.rp(acrs=[PIN_ACR])
    assert_error_redirect(pin_only, pin_only.authorize(acr_values=OTP_ACR), "invalid_request")


# --- 2. PIN --------------------------------------------------------------------------------------


def test_wrong_pin_shows_the_login_page_again_with_an_error(client, rp, citizen):
    page = rp.authorize()
    wrong = rp.login_pin(page, citizen.uin, "000000")
    assert wrong.status_code == 400 and "location" not in wrong.headers
    assert_login_page_with_error(wrong, "The ID number or PIN is incorrect.")
    assert citizen.pin not in wrong.text
    body = finish(rp, rp.login_pin(wrong, citizen.uin, citizen.pin))  # same transaction, right PIN
    assert id_claims(rp, body)["amr"] == ["pin"]


def test_after_a_wrong_pin_the_identifier_field_keeps_what_was_typed(client, rp, citizen):
    """A wrong PIN should not make the person type their ID number again: every identifier field of the page
    shown again holds it; the PIN field is empty."""
    wrong = rp.login_pin(rp.authorize(), citizen.uin, "000000")
    filled = [f["fields"] for f in forms(wrong.text).values() if "identifier" in f["fields"]]
    assert filled and all(fields["identifier"] == citizen.uin for fields in filled)
    assert all(fields.get("secret", "") == "" for fields in filled)


def test_access_log_names_the_login_pages_and_never_their_path(client, rp, citizen, caplog):
    """The access log named every browser page "unmatched"; it names the page's route, and (as for API
    calls) never the path or query, which carry the person's identifier and the client's state."""
    import logging

    with caplog.at_level(logging.INFO, logger="idbb.access"):
        page = rp.authorize(login_hint=citizen.uin)
        rp.login_pin(page, citizen.uin, "000000")
        client.get("/no-such-page")
    lines = [r for r in caplog.records if r.name == "idbb.access"]
    assert [r.route for r in lines] == ["ui.authorize", "ui.login", "unmatched"]
    assert all(citizen.uin not in r.getMessage() and citizen.uin not in str(r.__dict__) for r in lines)


def test_unknown_identifier_reads_like_a_wrong_pin(client, rp, citizen):
    wrong = rp.login_pin(rp.authorize(), "9999999999", citizen.pin)
    assert_login_page_with_error(wrong, "The ID number or PIN is incorrect.")


def test_three_wrong_pins_block_the_identifier(app, client, rp, citizen):
    block_seconds = settings_of(app).otp_block_seconds
    page = rp.authorize()
    for _ in range(2):
        page = rp.login_pin(page, citizen.uin, "000000")
        assert_login_page_with_error(page, "The ID number or PIN is incorrect.")
    blocked = rp.login_pin(page, citizen.uin, "000000")
    assert_login_page_with_error(blocked, "Too many failed attempts")
    still = rp.login_pin(blocked, citizen.uin, citizen.pin)  # the right PIN is refused while blocked
    assert_login_page_with_error(still, "Too many failed attempts")
    other = rp.login_pin(rp.authorize(), citizen.uin, citizen.pin)  # in any transaction
    assert_login_page_with_error(other, "Too many failed attempts")
    clock.advance(block_seconds + 1)
    assert id_claims(rp, login_all_the_way(rp, citizen))["amr"] == ["pin"]


def test_wrong_pins_count_per_person_whichever_identifier_is_typed(app, client, rp):
    """NIST SP 800-63B §5.2.2: a person with a UIN and a national id gets no more guesses than one with a UIN."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.registry import IdentityIdentifier
    from app.services.enrollment import enrollments

    national_id = f"NID-{uuid.uuid4().hex[:8]}"
    with app.app.app_context():
        enrollments.create(
            "E-two-ids",
            {
                "enrollmentType": "CITIZEN",
                "biographicData": {"firstName": "Awa", "lastName": "Ndiaye", "dateOfBirth": "1988-02-03", "gender": "F"},
                "requestData": {
                    "requestType": "FIRST_ISSUANCE",
                    "credentials": {"pin": "275139"},
                    "identifiers": [{"type": "NATIONAL_ID", "value": national_id}],
                },
            },
            finalize=True,
            client_id="test",
            transaction_id="E-two-ids",
        )
        identity_id = db.session.execute(
            select(IdentityIdentifier.identity_id).where(IdentityIdentifier.value == national_id)
        ).scalar_one()
        uin = db.session.execute(
            select(IdentityIdentifier.value).where(
                IdentityIdentifier.identity_id == identity_id, IdentityIdentifier.id_type == "UIN"
            )
        ).scalar_one()
    page = rp.login_pin(rp.authorize(), national_id, "000000")
    assert_login_page_with_error(page, "The ID number or PIN is incorrect.")
    page = rp.login_pin(page, uin, "111111")
    assert_login_page_with_error(page, "The ID number or PIN is incorrect.")
    blocked = rp.login_pin(page, national_id, "222222")  # the third wrong try of this person
    assert_login_page_with_error(blocked, "Too many failed attempts")
    assert_login_page_with_error(rp.login_pin(rp.authorize(), uin, "275139"), "Too many failed attempts")


# --- 3. consent ----------------------------------------------------------------------------------


def test_essential_claims_are_fixed_and_always_granted(client, rp, citizen):
    """Essential claims show as ticked, disabled boxes and reach the RP even when everything
    voluntary is unticked; unticked voluntary claims do not."""
    page = rp.authorize(claims=claims_param(userinfo={"email": {"essential": True}}))
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    assert_consent_page(consent_page)
    box = re.search(r'<input[^>]*id="essential-email"[^>]*>', consent_page.text)
    assert box and "disabled" in box.group(0) and "checked" in box.group(0)
    voluntary = {
        value
        for name, value, _, disabled in forms(consent_page.text)["consent-form"]["fields"]["checkboxes"]
        if name == "claims" and not disabled
    }
    assert "email" not in voluntary and {"name", "birthdate"} <= voluntary
    body = tokens(rp, rp.consent(consent_page, claims=["name"]))
    info = userinfo(rp, body)
    assert info["email"] == citizen.email and info["name"] == "Amina Diallo"
    for refused in ("birthdate", "given_name", "family_name", "gender"):
        assert refused not in info


def test_no_voluntary_claim_ticked_gives_only_the_subject(client, rp, citizen):
    consent_page = rp.login_pin(rp.authorize(), citizen.uin, citizen.pin)
    info = userinfo(rp, tokens(rp, rp.consent(consent_page, claims=[])))
    assert set(info) <= {"sub", "iss", "aud", "iat"}


def test_openid_only_needs_no_consent(client, rp, citizen):
    """Nothing but a subject to share: no consent page after the PIN."""
    response = rp.login_pin(rp.authorize(scope="openid"), citizen.uin, citizen.pin)
    assert response.status_code in REDIRECT_STATUSES, response.text[:300]
    assert set(userinfo(rp, tokens(rp, response))) <= {"sub", "iss", "aud", "iat"}


def test_same_request_again_skips_the_consent_page(client, rp, citizen):
    first = id_claims(rp, login_all_the_way(rp, citizen))
    again = rp.authorize()
    assert again.status_code in REDIRECT_STATUSES, again.text[:300]  # SSO + stored consent: no page at all
    body = tokens(rp, again)
    assert id_claims(rp, body)["sub"] == first["sub"]
    assert userinfo(rp, body)["name"] == "Amina Diallo"  # the stored consent's claims


def test_same_request_keeps_what_the_person_chose(client, rp, citizen):
    rp.consent(rp.login_pin(rp.authorize(), citizen.uin, citizen.pin), claims=["name"])
    info = userinfo(rp, tokens(rp, rp.authorize()))
    assert "name" in info and "birthdate" not in info


@pytest.mark.parametrize(
    "changed",
    [
        {"scope": "openid email"},
        {"scope": "openid profile email"},
        {"claims": claims_param(userinfo={"email": None})},
        {"claims": claims_param(userinfo={"name": {"essential": True}})},
        {"prompt": "consent"},
    ],
    ids=["other-scope", "more-scope", "other-claims", "claim-made-essential", "prompt-consent"],
)
def test_changed_request_or_prompt_consent_asks_again(client, rp, citizen, changed):
    login_all_the_way(rp, citizen)
    again = rp.authorize(**changed)
    assert_consent_page(again)  # logged in already (SSO): straight to consent
    tokens(rp, rp.consent(again))


def test_consent_expires_after_consent_ttl(site):
    world = site(consent_ttl=120)
    rp, person = world.rp(), world.citizen()
    login_all_the_way(rp, person)
    clock.advance(60)
    assert rp.authorize().status_code in REDIRECT_STATUSES
    clock.advance(61)
    again = rp.authorize()
    assert_consent_page(again)  # the session (8 h) lives on; only the consent has expired
    tokens(rp, rp.consent(again))


def test_consent_expires_after_the_clients_consent_lifetime(client, admin_token, citizen):
    rp = register_rp(client, admin_token, additionalConfig={"consent_expire_in_mins": 10})
    login_all_the_way(rp, citizen)
    clock.advance(9 * 60)
    assert rp.authorize().status_code in REDIRECT_STATUSES
    clock.advance(61)
    assert_consent_page(rp.authorize())


# --- 4. declined consent -------------------------------------------------------------------------


def test_declined_consent_returns_access_denied(client, rp, citizen):
    consent_page = rp.login_pin(rp.authorize(), citizen.uin, citizen.pin)
    declined = rp.consent(consent_page, decision="decline")
    assert_error_redirect(rp, declined, "access_denied")
    replay = rp.consent(consent_page)  # the transaction is finished: no code on a second try
    assert_error_page(replay)
    assert_consent_page(rp.authorize())  # nothing was stored: asked again next time


# --- 5. the claims parameter ---------------------------------------------------------------------


def test_claims_parameter_puts_claims_in_the_id_token_and_userinfo(client, rp, citizen):
    request = claims_param(id_token={"birthdate": {"essential": True}, "given_name": None}, userinfo={"email": None})
    body = login_all_the_way(rp, citizen, scope="openid", claims=request)
    claims = id_claims(rp, body)
    assert claims["birthdate"] == "1990-04-12" and claims["given_name"] == "Amina"
    assert "email" not in claims and "family_name" not in claims
    info = userinfo(rp, body)
    assert info["email"] == citizen.email
    assert "birthdate" not in info and "given_name" not in info


def test_claims_the_client_may_not_have_are_not_given(client, admin_token, citizen):
    rp = register_rp(client, admin_token, claims=["name"])
    body = login_all_the_way(
        rp, citizen, claims=claims_param(userinfo={"email": {"essential": True}}, id_token={"birthdate": None})
    )
    assert "birthdate" not in id_claims(rp, body)
    info = userinfo(rp, body)
    assert info["name"] == "Amina Diallo" and "email" not in info


@pytest.mark.parametrize(
    "bad",
    ["{not json", "[]", '{"userinfo": ["email"]}', '{"userinfo": {"email": 1}}'],
    ids=["not-json", "array", "list-member", "spec-not-object"],
)
def test_malformed_claims_parameter_is_invalid_request(client, rp, bad):
    assert_error_redirect(rp, rp.authorize(claims=bad), "invalid_request")


# --- 6. prompt=none ------------------------------------------------------------------------------


def test_prompt_none_without_a_session_is_login_required(client, rp):
    assert_error_redirect(rp, rp.authorize(prompt="none"), "login_required")


def test_prompt_none_with_session_and_consent_gives_a_code(client, rp, citizen):
    first = id_claims(rp, login_all_the_way(rp, citizen))
    silent = rp.authorize(prompt="none")
    assert silent.status_code in REDIRECT_STATUSES
    assert id_claims(rp, tokens(rp, silent))["sub"] == first["sub"]


def test_prompt_none_with_session_but_consent_needed_is_consent_required(client, rp, citizen, admin_token):
    login_all_the_way(rp, citizen)
    assert_error_redirect(rp, rp.authorize(prompt="none", scope="openid email"), "consent_required")
    other = register_rp(client, admin_token)
    assert_error_redirect(other, other.authorize(prompt="none"), "consent_required")


def test_prompt_none_in_another_browser_is_login_required(app, client, rp, citizen):
    login_all_the_way(rp, citizen)
    stranger = replace(rp, http=app.test_client(base_url=ISSUER))
    assert_error_redirect(stranger, stranger.authorize(prompt="none"), "login_required")


# --- 7. max_age ----------------------------------------------------------------------------------


def test_max_age_reuses_or_refuses_the_session_and_auth_time_is_the_real_login(client, rp, citizen):
    before = clock.epoch()
    first = id_claims(rp, login_all_the_way(rp, citizen))
    assert before <= first["auth_time"] <= clock.epoch()
    clock.advance(120)
    within = rp.authorize(max_age="600")
    assert within.status_code in REDIRECT_STATUSES  # SSO applies
    reused = id_claims(rp, tokens(rp, within))
    assert reused["auth_time"] == first["auth_time"] and reused["sid"] == first["sid"]
    beyond = rp.authorize(max_age="60")
    assert_login_page(beyond)  # the session is older than max_age: log in again
    relogin_at = clock.epoch()
    fresh = id_claims(rp, finish(rp, rp.login_pin(beyond, citizen.uin, citizen.pin)))
    assert fresh["auth_time"] >= relogin_at >= first["auth_time"] + 120


def test_max_age_zero_forces_a_new_login(client, rp, citizen):
    """OIDC Core §3.1.2.1 (errata set 2): max_age=0 is equivalent to prompt=login, even within the second."""
    login_all_the_way(rp, citizen)
    assert_login_page(rp.authorize(max_age="0"))


def test_prompt_none_beyond_max_age_is_login_required(client, rp, citizen):
    login_all_the_way(rp, citizen)
    clock.advance(120)
    assert_error_redirect(rp, rp.authorize(prompt="none", max_age="60"), "login_required")


def test_malformed_max_age_is_invalid_request(client, rp):
    assert_error_redirect(rp, rp.authorize(max_age="-1"), "invalid_request")


# --- 8. single sign-on ---------------------------------------------------------------------------


def test_sso_second_rp_skips_the_pin_and_gets_a_different_pairwise_sub(client, rp, citizen, admin_token):
    first = id_claims(rp, login_all_the_way(rp, citizen))
    other = register_rp(client, admin_token)
    page = other.authorize()
    assert_consent_page(page)  # no PIN: only consent for the new relying party
    second = id_claims(other, tokens(other, other.consent(page)))
    assert second["sub"] != first["sub"]
    assert second["aud"] == other.client_id and second["auth_time"] == first["auth_time"]
    assert second["sid"] == first["sid"]  # the same login session


def test_same_rp_gets_a_stable_sub_across_logins(client, rp, citizen):
    first = id_claims(rp, login_all_the_way(rp, citizen))
    second = id_claims(rp, login_all_the_way(rp, citizen, prompt="login"))
    assert second["sub"] == first["sub"]


def test_prompt_login_forces_the_pin_page(client, rp, citizen):
    login_all_the_way(rp, citizen)
    assert_login_page(rp.authorize(prompt="login"))


def test_sso_session_ends_after_session_ttl(app, client, rp, citizen):
    login_all_the_way(rp, citizen)
    clock.advance(settings_of(app).session_ttl + 1)
    assert_login_page(rp.authorize())


# --- 9. errors at /authorize ---------------------------------------------------------------------


def test_unknown_client_gets_an_error_page_not_a_redirect(client, rp):
    response = rp.authorize(client_id="rp-unknown")
    assert_error_page(response, "This service is not registered", status=200)


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/callback", "https://rp.example/callback/", "https://rp.example/callback?x=1", None],
)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(client, rp, redirect_uri):
    response = rp.authorize(redirect_uri=redirect_uri, response_type="token")  # errors after it stay on the page
    assert_error_page(response, "invalid return address", status=200)


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"acr_values": "idbb:acr:biometrics"}, "invalid_request"),
        ({"acr_values": OTP_ACR}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
    ],
    ids=[
        "token",
        "no-response-type",
        "no-openid",
        "no-pkce",
        "pkce-plain",
        "prompt-none-login",
        "prompt-bogus",
        "acr-not-registered",
        "acr-otp-unavailable",
        "fragment",
    ],
)
def test_invalid_request_redirects_with_error_state_and_iss(client, rp, overrides, error):
    response = rp.authorize(**overrides)
    assert response.status_code == 303
    assert_error_redirect(rp, response, error)


def test_error_redirect_without_state_still_carries_iss(client, rp):
    got = redirect_params(rp.authorize(state=None, response_type="token"))
    assert got["error"] == "unsupported_response_type" and got["iss"] == ISSUER and "state" not in got


# --- 10. CSRF and browser binding ----------------------------------------------------------------


def test_login_form_with_a_wrong_csrf_token_is_refused(client, rp, citizen):
    page = rp.authorize()
    form = forms(page.text)["pin-form"]
    data = {**form["fields"], "identifier": citizen.uin, "secret": citizen.pin, "csrf": "forged-" + "x" * 20}
    forged = client.post(form["action"], data=data, follow_redirects=False)
    assert_error_page(forged, "This page has expired or was already submitted")
    assert finish(rp, rp.login_pin(page, citizen.uin, citizen.pin))  # the real browser is unaffected


def test_login_form_posted_from_another_browser_is_refused(app, client, rp, citizen):
    page = rp.authorize()
    form = forms(page.text)["pin-form"]
    other_browser = app.test_client(base_url=ISSUER)
    stolen = other_browser.post(
        form["action"], data={**form["fields"], "identifier": citizen.uin, "secret": citizen.pin}, follow_redirects=False
    )
    assert_error_page(stolen, "This page has expired or was already submitted")
    assert finish(rp, rp.login_pin(page, citizen.uin, citizen.pin))


def test_consent_form_posted_from_another_browser_is_refused(app, client, rp, citizen):
    consent_page = rp.login_pin(rp.authorize(), citizen.uin, citizen.pin)
    thief = replace(rp, http=app.test_client(base_url=ISSUER))
    assert_error_page(thief.consent(consent_page))
    tokens(rp, rp.consent(consent_page))


def test_login_form_cannot_be_replayed_after_login(client, rp, citizen):
    page = rp.authorize()
    finish(rp, rp.login_pin(page, citizen.uin, citizen.pin))
    assert_error_page(rp.login_pin(page, citizen.uin, citizen.pin))


def test_transaction_expires(app, client, rp, citizen):
    page = rp.authorize()
    clock.advance(settings_of(app).authorize_ttl + 1)
    assert_error_page(rp.login_pin(page, citizen.uin, citizen.pin), "Your session has expired")


# --- 11. language, cookies and headers -----------------------------------------------------------


def test_accept_language_fr_gives_french(client, rp):
    page = authorize_with(rp, {"Accept-Language": "fr-CA,en;q=0.5"})
    assert page.status_code == 200
    assert '<html lang="fr" dir="ltr">' in page.text
    assert "Se connecter à" in page.text and "Sign in to" not in page.text


def test_ui_locales_ar_gives_right_to_left_arabic_on_every_page(client, rp, citizen):
    page = authorize_with(rp, {"Accept-Language": "fr"}, ui_locales="ar")
    assert '<html lang="ar" dir="rtl">' in page.text  # ui_locales wins over Accept-Language
    wrong = rp.login_pin(page, citizen.uin, "000000")
    assert '<html lang="ar" dir="rtl">' in wrong.text
    consent_page = rp.login_pin(wrong, citizen.uin, citizen.pin)
    assert '<html lang="ar" dir="rtl">' in consent_page.text and "consent-form" in consent_page.text


def test_error_page_follows_accept_language(client, rp):
    response = authorize_with(rp, {"Accept-Language": "fr"}, client_id="rp-unknown")
    assert response.status_code == 200 and '<html lang="fr"' in response.text
    assert "Ce service n’est pas enregistré" in response.text


def test_cookies_are_secure_httponly_samesite_lax(app, client, rp, citizen):
    page = rp.authorize()
    browser = cookie_attributes(page, "idbb_browser")
    assert "secure" in browser and "httponly" in browser and browser["samesite"].lower() == "lax"
    assert browser["path"] == "/"
    consent_page = rp.login_pin(page, citizen.uin, citizen.pin)
    session = cookie_attributes(consent_page, "idbb_session")
    assert "secure" in session and "httponly" in session and session["samesite"].lower() == "lax"
    assert int(session["max-age"]) == settings_of(app).session_ttl
    assert session["value"] not in consent_page.text


@pytest.mark.parametrize("page_kind", ["login", "consent", "error", "redirect"])
def test_pages_send_csp_and_no_store(client, rp, citizen, page_kind):
    response = rp.authorize(**({"client_id": "rp-unknown"} if page_kind == "error" else {}))
    if page_kind in ("consent", "redirect"):
        response = rp.login_pin(response, citizen.uin, citizen.pin)
    if page_kind == "redirect":
        response = rp.consent(response)
        assert response.status_code in REDIRECT_STATUSES
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


def test_otp_sends_are_limited_per_person_across_logins(otp):
    """IDBB_OTP_MAX_SENDS_PER_PERSON (10): a new login is free to open, so the per-login limit alone would let
    a script send codes to one person without end (mail bombing, SMS pumping)."""
    sent = 0
    while sent < 10:
        page = otp.rp.authorize()
        for _ in range(min(3, 10 - sent)):
            answer = request_code(otp.rp, page, otp.person.uin)
            assert answer.status_code == 200 and "otp-form" in forms(answer.text), answer.text[:300]
            sent += 1
    refused = request_code(otp.rp, otp.rp.authorize(), otp.person.uin)
    assert refused.status_code == 400 and "Too many codes were requested" in refused.text
    assert len(otp.mail.messages) == 10


def test_otp_sends_are_limited_per_login(otp):
    """At most IDBB_OTP_MAX_SENDS (3) codes per login: no mail bombing through one transaction."""
    page = otp.rp.authorize()
    for _ in range(3):
        sent = request_code(otp.rp, page, otp.person.uin)
        assert sent.status_code == 200 and "otp-form" in forms(sent.text), sent.text[:300]
    refused = request_code(otp.rp, page, otp.person.uin)
    assert refused.status_code == 400
    assert "Too many codes were requested" in refused.text
    assert len(otp.mail.messages) == 3
