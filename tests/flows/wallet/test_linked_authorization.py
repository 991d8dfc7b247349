"""Wallet login by QR code (issue 4, GovStack §8 "Wallet – QR Code", eSignet ``/linked-authorization``).

Everything goes over HTTP as a browser, a wallet app and a relying party would send it: the login page
(``GET /authorize``), the browser's link-code and long polls, the wallet's link-transaction,
authenticate (PIN, OTP, or a WLA token signed with a key bound at ``/wallet-binding``) and consent,
then the token exchange and userinfo. Only enrolling people and reading the database to check that a
refused call wrote nothing use idbb's code directly.

One idbb (polls time out after 0.5 s) with its relying-party admin, two people with bound wallet keys
and a real SMTP server is shared by the module; every test starts its own authorization transaction with
its own relying party, so no test sees another's consent. The long-poll tests use a real server thread
whose polls wait 10 s, so a missed wake-up shows as a 10 s answer.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app import create_app
from app.clock import clock
from app.config import Settings
from app.extensions import db
from app.models.grants import Grant
from app.models.linking import LinkCode, LinkedTransaction
from app.services import api_clients, keys
from tests.conftest import ISSUER, TEST_DB, TEST_REDIS, ApiClient, new_ec_key, request_time, reset_database
from tests.flows.linked_helpers import (
    ALL_ACRS,
    LA,
    OTP,
    PIN,
    WALLET,
    WALLET_PIN,
    XSRF,
    Browser,
    Wallet,
    WalletKey,
    bind_wallet_key,
    call,
    error,
    id_token_claims,
    ok,
    open_login_page,
    otp,
    pin,
    tokens_for,
    transaction_id,
    userinfo_claims,
    wla,
)
from tests.flows.oidc_helpers import Citizen, RelyingParty, enroll_citizen, forms, register_rp
from tests.live_server import start_in_thread
from tests.mailbox import Mailbox, free_port

POLL_TIMEOUT = 0.5
LIVE_POLL_TIMEOUT = 10.0
ON_POSTGRES = (TEST_DB or "").startswith("postgresql")
PROFILE = ["birthdate", "family_name", "given_name", "name"]  # voluntary claims of scope "openid profile"
LOOK_ALIKES = set("0O1IL")


# --- the shared world ---------------------------------------------------------------------------------


@dataclass
class Live:
    """idbb under uvicorn in a thread of this process, on the same database, with 10 s polls."""

    http: httpx.Client
    server: Any
    thread: threading.Thread

    @property
    def wallet(self) -> Wallet:
        return Wallet(self.http)


@dataclass
class World:
    cx: Any
    http: Any
    admin_token: str
    amina: Citizen
    amina_key: WalletKey
    bakary: Citizen
    bakary_key: WalletKey
    mail: Mailbox
    live: Live

    @property
    def settings(self) -> Settings:
        return self.cx.app.extensions["idbb"].settings

    @property
    def wallet(self) -> Wallet:
        return Wallet(self.http)

    def rp(self, **kwargs: Any) -> RelyingParty:
        return register_rp(self.http, self.admin_token, **{"acrs": ALL_ACRS, **kwargs})

    def live_rp(self) -> RelyingParty:
        return register_rp(self.live.http, self.admin_token, acrs=ALL_ACRS)

    def count(self, model: Any, **where: Any) -> int:
        with self.cx.app.app_context():
            query = select(func.count()).select_from(model).filter_by(**where)
            return int(db.session.execute(query).scalar_one())

    def live_codes(self, transaction_id: str) -> int:
        with self.cx.app.app_context():
            rows = db.session.execute(select(LinkCode).where(LinkCode.transaction_id == transaction_id)).scalars()
            return sum(1 for r in rows if r.linked_at is None and r.expires_at > clock.now())

    def linked_row(self, linked_id: str) -> LinkedTransaction:
        with self.cx.app.app_context():
            row = db.session.get(LinkedTransaction, linked_id)
            db.session.expunge(row)
            return row


def _api_client(cx: Any, http: Any, *scopes: str) -> ApiClient:
    pem, public = new_ec_key()
    client_id = f"api-{uuid.uuid4().hex[:8]}"
    with cx.app.app_context():
        api_clients.register(client_id, name=client_id, scopes=list(scopes), public_key=public, actor="test")
    return ApiClient(client_id, pem, public, http)


def _start_live(settings: Settings) -> Live:
    base, server, thread = start_in_thread(create_app(settings.with_(long_poll_timeout=LIVE_POLL_TIMEOUT)))
    return Live(httpx.Client(base_url=base, timeout=LIVE_POLL_TIMEOUT + 10), server, thread)


def _long_polls_answer(live: Live) -> None:
    """A long poll on an unknown transaction must answer its error at once; fail fast (not hang) if not."""
    body = {"requestTime": request_time(), "request": {"transactionId": "no-such-transaction", "linkCode": "X"}}
    try:
        answer = live.http.post(LA + "/link-status", json=body, headers=XSRF, timeout=5)
    except httpx.ReadTimeout:
        pytest.fail(
            "A long poll (link-status) did not answer within 5 s although its first look is an error: "
            "the long-poll path hangs (before 426e0b6, RedisWakeups.subscribe never saw its subscribe "
            "confirmation); failing here instead of hanging every test",
            pytrace=False,
        )
    assert error(answer.json()) == "invalid_transaction_id", answer.text


@pytest.fixture(scope="module")
def world(database_url: str, kek: str) -> Iterator[World]:
    mail = Mailbox()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    clock.reset()
    settings = Settings(
        profile="production",
        issuer=ISSUER,
        kek=kek,
        database_url=database_url,
        redis_url=TEST_REDIS,
        long_poll_timeout=POLL_TIMEOUT,
        notifier="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        throttle_per_source=0,
    )  # one test address stands for every wallet and browser here
    cx = create_app(settings)
    with cx.app.app_context():
        reset_database()
        keys.ensure_keys()
    if cx.app.extensions["idbb"].redis is not None:
        cx.app.extensions["idbb"].redis.flushdb()
    live = _start_live(settings)
    try:
        _long_polls_answer(live)
        http = cx.test_client(base_url=ISSUER)
        admin = _api_client(cx, http, "add_oidc_client", "update_oidc_client", "read_oidc_client").token()
        backend = _api_client(cx, http, "wallet_binding")
        amina = enroll_citizen(cx, email="amina@example.org")
        bakary = enroll_citizen(
            cx,
            pin="731946",
            email="bakary@example.org",
            firstName="Bakary",
            lastName="Sow",
            dateOfBirth="1985-02-03",
            phoneNumber="+221700000002",
        )
        bound = [bind_wallet_key(http, backend.client_id, backend.token(), who) for who in (amina, bakary)]
        yield World(cx, http, admin, amina, bound[0], bakary, bound[1], mail, live)
    finally:
        live.http.close()
        live.server.should_exit = True
        live.thread.join(timeout=10)
        smtp.stop()
        clock.reset()


@pytest.fixture(autouse=True)
def _real_time() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@dataclass
class Scan:
    """A login page whose link code the wallet has scanned: the browser, the code and the wallet's view."""

    rp: RelyingParty
    browser: Browser
    code: str
    details: dict[str, Any]

    @property
    def linked_id(self) -> str:
        return str(self.details["linkTransactionId"])


def scan(
    world: World, acr_values: str = WALLET, *, v2: bool = True, rp: RelyingParty | None = None, **authorize: Any
) -> Scan:
    rp = rp or world.rp()
    browser = open_login_page(rp, acr_values, **authorize)
    code = browser.new_code()
    return Scan(rp, browser, code, ok(world.wallet.link(code, v2=v2)))


def wla_of(world: World, who: Citizen | None = None, key: WalletKey | None = None) -> list[dict[str, str]]:
    who = who or world.amina
    key = key or (world.amina_key if who is world.amina else world.bakary_key)
    return [wla(key.wla_token(who.uin))]


def login_code(world: World, s: Scan, claims: list[str] | None = None) -> dict[str, Any]:
    """Authenticate with the WLA key, consent (v2, signed) and take the code from the browser's poll."""
    assert ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    ok(world.wallet.consent(s.linked_id, PROFILE if claims is None else claims, [], key=world.amina_key))
    return ok(s.browser.link_auth_code(s.code))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


# --- 1. the whole QR login ------------------------------------------------------------------------


def test_qr_login_with_a_bound_wallet_key_v2(world):
    """Login page → link code → pending poll → wallet links (v2) → LINKED → WLA → signed consent → code →
    tokens → userinfo with exactly the consented claims."""
    rp = world.rp()
    page = rp.authorize(acr_values=WALLET)
    assert page.status_code == 200 and 'id="wallet-login"' in page.text
    browser = Browser(world.http, transaction_id(page))

    made = ok(browser.link_code())
    code = made["linkCode"]
    assert made["transactionId"] == browser.txn
    assert len(code) >= 15 and code.isalnum() and code.isupper() and not set(code) & LOOK_ALIKES
    expires = datetime.strptime(made["expireDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((expires - clock.now()).total_seconds() - world.settings.link_code_ttl) < 5

    waiting, took = timed(lambda: browser.link_status(code))
    assert waiting["errors"] == [] and waiting["response"] == {"transactionId": browser.txn}  # no linkStatus
    assert POLL_TIMEOUT - 0.05 <= took < POLL_TIMEOUT + 2

    details = ok(world.wallet.link(code))
    assert details["clientName"] == {"@none": "Ministry portal"}
    assert details["logoUrl"] == "https://rp.example/logo.png"
    assert details["authFactors"] == [[{"type": "WLA", "count": 0, "bioSubTypes": []}]]
    assert details["essentialClaims"] == [] and details["voluntaryClaims"] == PROFILE
    assert details["authorizeScopes"] == [] and details["credentialScopes"] == []
    assert details["configs"]["linked-transaction-expire-in-secs"] == world.settings.linked_transaction_ttl
    linked_id = details["linkTransactionId"]

    status = ok(browser.link_status(code))
    assert status["linkStatus"] == "LINKED" and status["transactionId"] == browser.txn
    linked_at = datetime.strptime(status["linkedDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((clock.now() - linked_at).total_seconds()) < 5

    authenticated = ok(world.wallet.authenticate(linked_id, world.amina.uin, wla_of(world)))
    assert authenticated == {"linkedTransactionId": linked_id, "linkTransactionId": linked_id, "consentAction": "CAPTURE"}
    assert ok(world.wallet.consent(linked_id, ["name", "birthdate"], [], key=world.amina_key)) == {
        "linkedTransactionId": linked_id
    }

    answer = ok(browser.link_auth_code(code))
    assert set(answer) == {"code", "redirectUri", "state", "nonce"}
    tokens = tokens_for(rp, answer)
    id_token = id_token_claims(rp, tokens)
    assert id_token["acr"] == WALLET and id_token["amr"] == ["swk"]
    info = userinfo_claims(rp, tokens)
    assert info["sub"] == id_token["sub"]
    assert info["name"] == "Amina Diallo" and info["birthdate"] == "1990-04-12"
    assert "given_name" not in info and "family_name" not in info  # not consented


def test_qr_login_v1(world):
    """v1 wallet calls: clientName is a plain string, no credentialScopes, no consentAction, unsigned consent."""
    s = scan(world, v2=False)
    assert s.details["clientName"] == "Ministry portal" and "credentialScopes" not in s.details
    assert s.details["authFactors"] == [[{"type": "Wallet", "count": 0, "bioSubTypes": []}]]  # GovStack's name
    authenticated = ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world), v2=False))
    assert authenticated == {"linkedTransactionId": s.linked_id, "linkTransactionId": s.linked_id}
    ok(world.wallet.consent(s.linked_id, ["given_name"], [], v2=False))
    tokens = tokens_for(s.rp, ok(s.browser.link_auth_code(s.code)))
    assert id_token_claims(s.rp, tokens)["acr"] == WALLET
    info = userinfo_claims(s.rp, tokens)
    assert info["given_name"] == "Amina" and "name" not in info


def test_the_wallet_factor_is_wallet_on_govstack_paths_and_wla_on_esignet_v2_paths(world):
    """Issue 13 point 7: GovStack's AuthFactor enumerates PIN, OTP, L1-bio-device and Wallet; eSignet's v2
    says WLA. The challenge the wallet sends is WLA on both (GovStack's AuthChallenge enum)."""
    acrs = f"{WALLET_PIN} {WALLET} {PIN}"
    v1 = scan(world, acrs, v2=False)
    assert [[f["type"] for f in alt] for alt in v1.details["authFactors"]] == [["Wallet", "PIN"], ["Wallet"], ["PIN"]]
    v2 = scan(world, acrs, v2=True)
    assert [[f["type"] for f in alt] for alt in v2.details["authFactors"]] == [["WLA", "PIN"], ["WLA"], ["PIN"]]
    ok(world.wallet.authenticate(v1.linked_id, world.amina.uin, wla_of(world), v2=False))  # WLA on v1 too


def wallet_login_claims(world: World, s: Scan, factors: list[dict[str, Any]]) -> dict[str, Any]:
    """The wallet authenticates Amina with ``factors`` and consents to the profile; the relying party's
    ID token claims once the browser's code is exchanged."""
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, factors))
    ok(world.wallet.consent(s.linked_id, PROFILE, [], key=world.amina_key))
    return id_token_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))


def test_pin_factor(world):
    s = scan(world, PIN)
    assert s.details["authFactors"] == [[{"type": "PIN", "count": 0, "bioSubTypes": []}]]
    claims = wallet_login_claims(world, s, [pin(world.amina.pin)])
    assert claims["acr"] == PIN and claims["amr"] == ["pin"]


def test_wallet_with_pin_needs_both_factors(world):
    """idbb:acr:linked-wallet-static-code: the WLA token alone or the PIN alone is not enough."""
    s = scan(world, WALLET_PIN)
    assert [[f["type"] for f in alt] for alt in s.details["authFactors"]] == [["WLA", "PIN"]]
    for partial in (wla_of(world), [pin(world.amina.pin)]):
        assert error(world.wallet.authenticate(s.linked_id, world.amina.uin, partial)) == "auth_failed"
    both = [*wla_of(world), pin(world.amina.pin)]
    claims = wallet_login_claims(world, s, both)
    assert claims["acr"] == WALLET_PIN and sorted(claims["amr"]) == ["pin", "swk"]


def test_wallet_offers_each_acr_of_the_request_as_an_alternative(world):
    rp = world.rp()
    page = rp.authorize(acr_values=f"{WALLET} {PIN}")
    pin_form = forms(page.text)["pin-form"]  # the PIN form and the wallet button share the transaction
    assert f'href="/authorize/wallet?txn={pin_form["fields"]["txn"]}"' in page.text
    browser = Browser(world.http, pin_form["fields"]["txn"])
    code = browser.new_code()
    s = Scan(rp, browser, code, ok(world.wallet.link(code)))
    assert [[f["type"] for f in alt] for alt in s.details["authFactors"]] == [["WLA"], ["PIN"]]
    claims = wallet_login_claims(world, s, [pin(world.amina.pin)])
    assert claims["acr"] == PIN and claims["amr"] == ["pin"]


def test_otp_factor_by_email(world):
    s = scan(world, OTP)
    assert s.details["authFactors"] == [[{"type": "OTP", "count": 0, "bioSubTypes": []}]]
    before = len(world.mail.messages)
    sent = ok(world.wallet.send_otp(s.linked_id, world.amina.uin))
    assert sent == {"transactionId": s.linked_id, "maskedEmail": "", "maskedMobile": ""}  # no destination shown
    assert len(world.mail.messages) == before + 1 and world.mail.recipients[-1] == [world.amina.email]
    code = world.mail.last_code()
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    assert error(world.wallet.authenticate(s.linked_id, world.amina.uin, [otp(wrong)])) == "auth_failed"
    claims = wallet_login_claims(world, s, [otp(code)])
    assert claims["acr"] == OTP and claims["amr"] == ["otp"]


def test_send_otp_answers_the_same_for_known_and_unknown_individuals(world):
    """Issue 14 security #2: send-otp gave the masked e-mail for an enrolled person and "" for anyone else.
    Now the answers are identical apart from responseTime, and so are the limits (the 4th code of a login)."""
    known_scan, unknown_scan = scan(world, OTP), scan(world, OTP)
    before = len(world.mail.messages)
    for attempt in range(4):
        known = world.wallet.send_otp(known_scan.linked_id, world.amina.uin)
        other = world.wallet.send_otp(unknown_scan.linked_id, "7" * len(world.amina.uin))
        for answer in (known, other):
            answer.pop("responseTime")
            if "response" in answer:
                answer["response"]["transactionId"] = "linked"
        assert known == other, (attempt, known, other)
        assert (error(known) == "send_otp_failed") == (attempt == 3), known
    assert len(world.mail.messages) == before + 3  # only the enrolled person got mail


def test_send_otp_errors(world):
    s = scan(world, OTP)
    send = world.wallet
    assert error(send.send_otp(s.linked_id, "")) == "invalid_identifier"
    assert (
        error(
            call(
                world.http,
                LA + "/send-otp",
                {"transactionId": "nope", "individualId": world.amina.uin, "otpChannels": ["carrier-pigeon"]},
            )
        )
        == "invalid_otp_channel"
    )
    for channels in ([], [{"kind": "email"}], "email"):
        assert (
            error(
                call(
                    world.http,
                    LA + "/send-otp",
                    {"transactionId": s.linked_id, "individualId": world.amina.uin, "otpChannels": channels},
                )
            )
            == "invalid_otp_channel"
        )
    # this server's notifier is SMTP: a code asked for by SMS only is refused, not sent by e-mail instead
    before = len(world.mail.messages)
    for channels in (["phone"], ["MOBILE"]):
        assert (
            error(
                call(
                    world.http,
                    LA + "/send-otp",
                    {"transactionId": s.linked_id, "individualId": world.amina.uin, "otpChannels": channels},
                )
            )
            == "invalid_otp_channel"
        )
    assert len(world.mail.messages) == before
    both = ok(
        call(
            world.http,
            LA + "/send-otp",
            {"transactionId": s.linked_id, "individualId": world.amina.uin, "otpChannels": ["email", "mobile"]},
        )
    )
    assert (both["maskedEmail"], both["maskedMobile"]) == ("", "")
    assert error(send.send_otp("no-such-linked-transaction", world.amina.uin)) == "invalid_transaction_id"


def test_declined_consent_sends_access_denied_to_the_relying_party(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    ok(world.wallet.decline(s.linked_id))
    answer = ok(s.browser.link_auth_code(s.code))
    assert answer["error"] == "access_denied" and "code" not in answer
    assert answer["redirectUri"] == s.rp.redirect_uri and answer["state"] == s.rp.last["state"]
    assert world.count(Grant, client_id=s.rp.client_id) == 0  # no authorization code was issued
    assert error(s.browser.link_code()) == "invalid_transaction"  # the login is over


def test_expired_link_code(world):
    rp = world.rp()
    browser = open_login_page(rp)
    code = browser.new_code()
    clock.advance(world.settings.link_code_ttl + 1)
    assert error(world.wallet.link(code)) == "invalid_link_code"
    assert error(browser.link_status(code)) == "invalid_link_code"
    fresh = browser.new_code()  # the login page shows a new QR code, which works
    assert ok(world.wallet.link(fresh))["linkTransactionId"]


def test_expired_login_page(world):
    """The authorization transaction itself has expired: no link code, no status, whatever the code."""
    rp = world.rp()
    browser, other = open_login_page(rp), open_login_page(rp)
    code, other_code = browser.new_code(), other.new_code()
    clock.advance(world.settings.authorize_ttl + 1)
    assert error(browser.link_code()) == "invalid_transaction"
    assert error(browser.link_status(code)) == "invalid_transaction_id"
    assert error(browser.link_status(other_code)) == "invalid_transaction_id"  # the transaction comes first
    assert error(world.wallet.link(code)) == "invalid_link_code"  # the code expired long before


def test_code_of_another_transaction_is_refused(world):
    rp = world.rp()
    mine, theirs = open_login_page(rp), open_login_page(rp)
    my_code, their_code = mine.new_code(), theirs.new_code()
    assert error(mine.link_status(their_code)) == "invalid_link_code"
    ok(world.wallet.link(their_code))
    ok(world.wallet.link(my_code))
    assert error(mine.link_status(their_code)) == "invalid_link_code"
    assert error(mine.link_auth_code(their_code)) == "invalid_link_code"


# --- 2. link-code rules ---------------------------------------------------------------------------


def test_link_codes_are_long_and_free_of_look_alikes(world):
    codes = []
    rp = world.rp()
    for _ in range(3):
        browser = open_login_page(rp)
        codes += [browser.new_code() for _ in range(world.settings.link_codes_total_max)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert len(code) >= 15 and code.isascii() and code.isalnum() and code.isupper(), code
    assert not set("".join(codes)) & LOOK_ALIKES  # 450 characters drawn: every look-alike would show


def test_at_most_two_live_codes_the_third_evicts_the_oldest(world):
    browser = open_login_page(world.rp())
    first, second, third = browser.new_code(), browser.new_code(), browser.new_code()
    assert error(world.wallet.link(first)) == "invalid_link_code"
    assert error(browser.link_status(first)) == "invalid_link_code"
    assert ok(browser.link_status(second)) == {"transactionId": browser.txn}  # still live, not linked
    linked = ok(world.wallet.link(third))
    assert error(world.wallet.link(second)) == "invalid_link_code"  # a transaction links to one wallet only
    assert error(browser.link_code()) == "invalid_transaction"  # no new code once linked
    assert world.count(LinkedTransaction, transaction_id=browser.txn) == 1
    assert ok(browser.link_status(third))["linkStatus"] == "LINKED"
    assert linked["linkTransactionId"]


def test_ten_codes_per_transaction_then_link_code_gen_failed(world):
    browser = open_login_page(world.rp())
    for _ in range(world.settings.link_codes_total_max):
        browser.new_code()
    assert error(browser.link_code()) == "link_code_gen_failed"
    assert world.count(LinkCode, transaction_id=browser.txn) == world.settings.link_codes_total_max


def test_a_code_links_once_and_a_second_scan_is_invalid_link_code(world):
    """Issue 14 finding 1: a link code is single-use; a second link-transaction with it (v1 or v2, the
    same wallet or another) learns nothing, and the first wallet's login goes on."""
    s = scan(world)
    for v2 in (True, False):
        again = world.wallet.link(s.code, v2=v2)
        assert error(again) == "invalid_link_code" and again["response"] == {}
        assert s.linked_id not in str(again)
    assert world.count(LinkedTransaction, transaction_id=s.browser.txn) == 1
    tokens_for(s.rp, login_code(world, s))
    assert error(world.wallet.link(s.code)) == "invalid_link_code"  # the login is over: still used


def test_a_second_device_that_saw_the_qr_code_cannot_consent_for_the_person(world):
    """The attack of issue 14 finding 1: a device that saw the QR code (shoulder surfing, screen share) scans
    it too, hoping for the linkTransactionId, to consent to every claim before the person does (or to log
    the person's browser in as itself). It gets invalid_link_code; the person's own login is untouched."""
    s = scan(world)  # the person's wallet linked first
    attacker = Wallet(world.cx.test_client(base_url=ISSUER))  # another device, another cookie jar
    stolen = attacker.link(s.code)
    assert error(stolen) == "invalid_link_code" and stolen["response"] == {}
    # without the linkTransactionId there is nothing to consent to or authenticate with
    assert error(attacker.consent("guessed-" + s.code, PROFILE, [], v2=False)) == "invalid_transaction_id"
    assert (
        error(attacker.authenticate("guessed-" + s.code, world.bakary.uin, wla_of(world, world.bakary)))
        == "invalid_transaction_id"
    )
    row = world.linked_row(s.linked_id)
    assert row.identity_id is None and row.consented_at is None  # nothing was consented for the person
    info = userinfo_claims(s.rp, tokens_for(s.rp, login_code(world, s, ["name"])))
    assert info["name"] == "Amina Diallo" and "birthdate" not in info  # the person's choice, her login


def test_the_link_transaction_id_is_never_audited(world):
    """It is the wallet's bearer secret (issue 14 finding 1): the audit names the browser's transaction."""
    from app.models.audit import AuditEvent, AuditPending

    s = scan(world)
    ok(world.wallet.consent(s.linked_id, PROFILE, [], key=world.amina_key))
    tokens_for(s.rp, login_code(world, s))
    with world.cx.app.app_context():
        rows = [*db.session.execute(select(AuditEvent)).scalars(), *db.session.execute(select(AuditPending)).scalars()]
        audited = " ".join(f"{r.action} {r.target} {r.details}" for r in rows)
    assert "wallet.linked" in audited and s.browser.txn in audited
    assert s.linked_id not in audited


def test_linked_transaction_has_its_own_deadline(world):
    s = scan(world)
    clock.advance(world.settings.linked_transaction_ttl + 1)
    assert error(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world))) == "invalid_transaction"
    assert error(world.wallet.consent(s.linked_id, PROFILE, [], v2=False)) == "invalid_transaction"
    assert error(s.browser.link_auth_code(s.code)) == "invalid_transaction"
    row = world.linked_row(s.linked_id)
    assert row.identity_id is None and row.consented_at is None


def test_linked_transaction_outlives_the_link_code(world):
    s = scan(world)
    clock.advance(world.settings.link_code_ttl + 1)
    assert ok(s.browser.link_status(s.code))["linkStatus"] == "LINKED"
    assert id_token_claims(s.rp, tokens_for(s.rp, login_code(world, s)))["acr"] == WALLET


# --- 3. error codes, one per answer, in GovStack's order --------------------------------------------

STALE = {"request_time_value": "2020-01-01T00:00:00.000Z"}
BAD_TIME = {"request_time_value": "yesterday"}


def test_authenticate_error_order(world):
    s = scan(world)
    good, wrong_pin = wla_of(world), [pin("000000")]
    auth = world.wallet.authenticate
    # bad or stale requestTime beats everything
    assert error(auth("unknown", "", [], **STALE)) == "invalid_request"
    assert error(auth("unknown", "", [], **BAD_TIME)) == "invalid_request"
    assert error(auth(s.linked_id, world.amina.uin, good, request_time_value=request_time(3600))) == "invalid_request"
    # then the shape of the input
    assert error(auth("unknown", "", [])) == "invalid_identifier"
    assert error(auth("unknown", "   ", wrong_pin)) == "invalid_identifier"
    assert error(auth("unknown", world.amina.uin, [])) == "invalid_no_of_challenges"
    assert error(auth("unknown", world.amina.uin, [pin("1")] * 6)) == "invalid_no_of_challenges"
    assert (
        error(auth("unknown", world.amina.uin, [{"authFactorType": "PIN", "challenge": "1"}])) == "invalid_no_of_challenges"
    )
    assert error(auth("unknown", world.amina.uin, "not a list")) == "invalid_no_of_challenges"
    # then the transaction
    assert error(auth("unknown", world.amina.uin, wrong_pin)) == "invalid_transaction_id"
    # then the authentication itself
    assert error(auth(s.linked_id, world.amina.uin, wrong_pin)) == "auth_failed"
    row = world.linked_row(s.linked_id)
    assert row.identity_id is None and row.amr == []  # nothing half-written
    # ... and the transaction is still usable
    ok(auth(s.linked_id, world.amina.uin, good))


def test_finished_transaction_beats_a_wrong_pin(world):
    s = scan(world)
    clock.advance(world.settings.linked_transaction_ttl + 1)
    assert error(world.wallet.authenticate(s.linked_id, world.amina.uin, [pin("000000")])) == "invalid_transaction"


@pytest.mark.parametrize(
    "bad",
    [
        "other_key",
        "other_person",
        "wrong_sub",
        "wrong_aud",
        "expired",
        "replayed",
        "unbound_key",
        "not_a_jwt",
        "wrong_format",
    ],
)
def test_bad_wla_token_is_auth_failed(world, bad):
    s = scan(world)
    uin, key = world.amina.uin, world.amina_key
    if bad == "other_key":  # Bakary's token presented for Amina
        challenge = world.bakary_key.wla_token(uin)
    elif bad == "other_person":  # Amina's key, Amina's token, but Bakary's individual id
        challenge, uin = key.wla_token(uin), world.bakary.uin
    elif bad == "wrong_sub":
        challenge = key.wla_token(world.bakary.uin)
    elif bad == "wrong_aud":
        challenge = key.wla_token(uin, aud="somebody-else")
    elif bad == "expired":
        now = int(clock.timestamp())
        challenge = key.wla_token(uin, iat=now - 600, exp=now - 300)
    elif bad == "replayed":
        challenge = key.wla_token(uin)
        other = scan(world)
        ok(world.wallet.authenticate(other.linked_id, uin, [wla(challenge)]))
    elif bad == "unbound_key":
        stranger = WalletKey.new()
        stranger.certificate_pem = key.certificate_pem  # names Amina's certificate, signed by another key
        challenge = stranger.wla_token(uin)
    elif bad == "not_a_jwt":
        challenge = "not-a-jwt"
    else:
        challenge = key.wla_token(uin)
    factor = wla(challenge) if bad != "wrong_format" else {**wla(challenge), "format": "number"}
    assert error(world.wallet.authenticate(s.linked_id, uin, [factor])) == "auth_failed"
    assert world.linked_row(s.linked_id).identity_id is None


def test_link_transaction_error_order(world):
    link = world.wallet.link
    assert (
        error(call(world.http, LA + "/v2/link-transaction", {"linkCode": "NOSUCHCODE23456"}, **STALE)) == "invalid_request"
    )
    assert error(link("")) == "invalid_link_code"
    assert error(link("NOSUCHCODE23456")) == "invalid_link_code"
    s = scan(world)
    tokens_for(s.rp, login_code(world, s))
    assert error(link(s.code)) == "invalid_link_code"  # a used code (issue 14 finding 1)


def test_browser_side_error_order(world):
    rp = world.rp()
    browser, other = open_login_page(rp), open_login_page(rp)
    code, other_code = browser.new_code(), other.new_code()
    # link-code
    assert error(call(world.http, LA + "/link-code", {"transactionId": "unknown"}, XSRF, **STALE)) == "invalid_request"
    assert error(browser.link_code("unknown")) == "invalid_transaction_id"
    # link-status: requestTime → transaction → link code
    stale = call(world.http, LA + "/link-status", {"transactionId": "unknown", "linkCode": "x"}, XSRF, **BAD_TIME)
    assert error(stale) == "invalid_request"
    assert error(browser.link_status("NOSUCHCODE23456", txn="unknown")) == "invalid_transaction_id"
    assert error(browser.link_status(other_code, txn="unknown")) == "invalid_transaction_id"
    assert error(browser.link_status("NOSUCHCODE23456")) == "invalid_link_code"
    assert error(browser.link_status(other_code)) == "invalid_link_code"
    assert ok(browser.link_status(code)) == {"transactionId": browser.txn}


def test_link_auth_code_error_order(world):
    """eSignet's order here: a linkedCode that never existed first, then an unknown transaction, then a
    missing code or one of another transaction."""
    s, other = scan(world), scan(world)
    never = "NOSUCHCODE23456"
    stale = call(world.http, LA + "/link-auth-code", {"transactionId": "unknown", "linkedCode": never}, XSRF, **STALE)
    assert error(stale) == "invalid_request"
    assert error(s.browser.link_auth_code(never, txn="unknown")) == "invalid_link_code"
    assert error(s.browser.link_auth_code(None, txn="unknown")) == "invalid_transaction_id"
    assert error(s.browser.link_auth_code(other.code, txn="unknown")) == "invalid_transaction_id"
    assert error(s.browser.link_auth_code(None)) == "invalid_link_code"
    assert error(s.browser.link_auth_code(other.code)) == "invalid_link_code"
    assert error(s.browser.link_auth_code(never)) == "invalid_link_code"
    assert ok(s.browser.link_auth_code(s.code)) == {}  # its own code: pending, no error


def test_consent_error_order(world):
    rp = world.rp()
    s = scan(world, rp=rp, claims='{"userinfo": {"email": {"essential": true}}}')
    assert s.details["essentialClaims"] == ["email"] and s.details["authorizeScopes"] == []
    consent = world.wallet.consent
    assert error(consent("unknown", ["nope"], ["nope"], v2=False)) == "invalid_transaction_id"
    assert (
        error(call(world.http, LA + "/consent", {"linkedTransactionId": "unknown", "acceptedClaims": ["x"]}, **STALE))
        == "invalid_request"
    )
    assert error(consent(s.linked_id, ["name"], ["offline_access"], v2=False)) == "invalid_accepted_claim"  # no email
    assert error(consent(s.linked_id, ["email", "phone_number"], [], v2=False)) == "invalid_accepted_claim"  # unasked
    assert error(consent(s.linked_id, ["email"], ["offline_access"], v2=False)) == "invalid_permitted_scope"
    assert error(consent(s.linked_id, [1, 2], [], v2=False)) == "invalid_accepted_claim"
    assert error(consent(s.linked_id, ["email"], ["openid", "phone"], v2=False)) == "invalid_permitted_scope"
    assert world.linked_row(s.linked_id).consented_at is None  # nothing half-written
    ok(consent(s.linked_id, ["email"], [], v2=False))
    ok(consent(s.linked_id, ["email"], ["openid", "profile"], v2=False))  # requested scopes (issue 13 point 4)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    tokens = tokens_for(s.rp, ok(s.browser.link_auth_code(s.code)))
    assert set(tokens["scope"].split()) == {"openid", "profile"}


def test_v2_consent_signature(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    consent = world.wallet.consent
    # the claims are checked before the signature
    assert error(consent(s.linked_id, ["email"], [], signature="garbage")) == "invalid_accepted_claim"
    assert error(consent(s.linked_id, ["name"], [], signature=None)) == "invalid_signature_format"
    assert error(consent(s.linked_id, ["name"], [], signature="not-a-jws")) == "invalid_signature_format"
    over_other_claims = world.amina_key.consent_signature(["name", "birthdate"], [])
    assert error(consent(s.linked_id, ["name"], [], signature=over_other_claims)) == "invalid_signature"
    assert error(consent(s.linked_id, ["name"], [], key=world.bakary_key)) == "invalid_signature"  # not her key
    assert world.linked_row(s.linked_id).consented_at is None
    ok(consent(s.linked_id, ["name"], [], key=world.amina_key))
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["name"] == "Amina Diallo" and "birthdate" not in info


# --- 4. browser-side XSRF -------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["link-code", "link-status", "link-auth-code"])
def test_browser_calls_need_a_matching_xsrf_token(world, endpoint):
    """Double submit: when the request names an XSRF-TOKEN cookie, every one must parse and equal
    X-XSRF-TOKEN. Issue 13 point 6 (all profiles): werkzeug drops a cookie value with spaces, so
    ``XSRF-TOKEN=invalid XSRF-TOKEN cookie`` passed on the header alone and got a new link code."""
    s = scan(world)
    fresh = open_login_page(s.rp)  # not linked yet: link-code still makes codes for it
    mine = fresh.headers["Cookie"] if endpoint == "link-code" else s.browser.headers["Cookie"]  # idbb_browser
    request = {
        "link-code": {"transactionId": fresh.txn},
        "link-status": {"transactionId": s.browser.txn, "linkCode": s.code},
        "link-auth-code": {"transactionId": s.browser.txn, "linkedCode": s.code},
    }[endpoint]
    body = {"requestTime": request_time(), "request": request}
    token = XSRF["X-XSRF-TOKEN"]

    def post(headers: dict[str, str]) -> Any:
        jar = world.cx.test_client(base_url=ISSUER)  # a browser holding no other cookie
        return jar.post(f"{LA}/{endpoint}", json=body, headers=headers)

    codes_before = world.count(LinkCode, transaction_id=fresh.txn)
    for refused in (
        {"Cookie": mine},
        {"Cookie": f"{mine}; XSRF-TOKEN={token}"},
        {**XSRF, "Cookie": f"{mine}; XSRF-TOKEN=something-else"},
        {**XSRF, "Cookie": f"{mine}; XSRF-TOKEN=invalid XSRF-TOKEN cookie"},
        {**XSRF, "Cookie": f'{mine}; XSRF-TOKEN="{token}"'},
        {**XSRF, "Cookie": f"XSRF-TOKEN={token}; {mine}; XSRF-TOKEN=tossed-by-a-sibling-site"},
    ):
        answer = post(refused)
        assert answer.status_code == 403, refused
        assert [e["errorCode"] for e in answer.json()["errors"]] == ["invalid_csrf_token"]
        if endpoint == "link-auth-code":
            assert "response" not in answer.json()
        else:
            assert answer.json()["response"] == {}  # issue 13 point 5
    assert world.count(LinkCode, transaction_id=fresh.txn) == codes_before  # no code for a refused call
    for accepted in ({**XSRF, "Cookie": f"{mine}; XSRF-TOKEN={token}"}, {**XSRF, "Cookie": mine}):  # no XSRF cookie
        answer = post(accepted)
        assert answer.status_code == 200 and answer.json()["errors"] == [], (accepted, answer.text)
    if endpoint == "link-code":
        assert world.count(LinkCode, transaction_id=fresh.txn) == codes_before + 2


def test_another_browser_gets_no_link_code_and_no_authorization_code(world):
    """Issue 14 finding 4, as the attack ran: from a fresh cookie jar (or another browser's), link-code and
    link-auth-code with the victim's transactionId and any X-XSRF-TOKEN succeeded. Only the browser that
    started the transaction (its idbb_browser cookie) is answered; to others it is an unknown transaction."""
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    ok(world.wallet.consent(s.linked_id, PROFILE, [], key=world.amina_key))
    victim = open_login_page(world.rp())  # another login in the victim's browser, not linked yet
    codes_before = world.count(LinkCode, transaction_id=victim.txn)
    attackers_rp = replace(world.rp(), http=world.cx.test_client(base_url=ISSUER))  # the attacker's own login
    other_browser = open_login_page(attackers_rp).headers["Cookie"]
    for jar_cookie in ({}, {"Cookie": other_browser}):
        attacker = Browser(world.cx.test_client(base_url=ISSUER), victim.txn, {"X-XSRF-TOKEN": "anything", **jar_cookie})
        assert error(attacker.link_code()) == "invalid_transaction_id"
        stolen = attacker.link_auth_code(s.code, txn=s.browser.txn)
        assert error(stolen) == "invalid_transaction_id" and "code" not in str(stolen.get("response"))
    assert world.count(LinkCode, transaction_id=victim.txn) == codes_before
    assert world.count(Grant, client_id=s.rp.client_id) == 0  # no code was issued to anyone
    assert ok(victim.link_code())["linkCode"]  # the victim's own browser still is
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["name"] == "Amina Diallo"


def test_another_browser_cannot_watch_a_login_through_link_status(world):
    """link-status told any caller holding the transactionId and a link code when the victim's QR code was
    scanned (and when it went live). Bound like link-code and link-auth-code: another browser, or none, gets
    an unknown transaction, before the code is scanned and after; the victim's own browser still sees LINKED."""
    victim = open_login_page(world.rp())
    code = victim.new_code()
    attackers_rp = replace(world.rp(), http=world.cx.test_client(base_url=ISSUER))
    other_browser = open_login_page(attackers_rp).headers["Cookie"]
    attackers = [
        Browser(world.cx.test_client(base_url=ISSUER), victim.txn, {"X-XSRF-TOKEN": "anything", **jar})
        for jar in ({}, {"Cookie": other_browser})
    ]
    for attacker in attackers:
        assert error(attacker.link_status(code)) == "invalid_transaction_id"
    ok(world.wallet.link(code))
    for attacker in attackers:
        watched = attacker.link_status(code)
        assert error(watched) == "invalid_transaction_id" and "LINKED" not in str(watched)
    assert ok(victim.link_status(code))["linkStatus"] == "LINKED"


# --- 5. replays and order of the wallet's calls ----------------------------------------------------


def test_consent_again_the_last_one_wins(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    ok(world.wallet.consent(s.linked_id, ["name", "birthdate"], [], key=world.amina_key))
    ok(world.wallet.consent(s.linked_id, ["given_name"], [], key=world.amina_key))
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["given_name"] == "Amina" and "name" not in info and "birthdate" not in info


def test_consent_may_come_before_authentication(world):
    s = scan(world)
    ok(world.wallet.consent(s.linked_id, ["family_name"], [], key=world.amina_key))
    pending, took = timed(lambda: s.browser.link_auth_code(s.code))
    assert ok(pending) == {} and took >= POLL_TIMEOUT - 0.05  # no code before authentication
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["family_name"] == "Diallo" and "name" not in info


def test_authentication_alone_releases_no_code(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    assert ok(s.browser.link_auth_code(s.code)) == {}
    assert world.count(Grant, client_id=s.rp.client_id) == 0


def test_consent_signed_by_someone_else_before_authentication_does_not_count(world):
    """A v2 consent signed with Bakary's key, then Amina authenticates: the consent is dropped."""
    s = scan(world)
    ok(world.wallet.consent(s.linked_id, ["name"], [], key=world.bakary_key))
    answer = ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    assert answer["consentAction"] == "CAPTURE"
    assert ok(s.browser.link_auth_code(s.code)) == {}
    ok(world.wallet.consent(s.linked_id, ["birthdate"], [], key=world.amina_key))
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["birthdate"] == "1990-04-12" and "name" not in info


def test_link_auth_code_repeats_the_same_code_until_it_is_redeemed(world):
    s = scan(world)
    first = login_code(world, s)
    assert ok(s.browser.link_auth_code(s.code)) == first
    tokens_for(s.rp, first)
    assert error(s.browser.link_auth_code(s.code)) == "invalid_transaction"
    assert world.count(Grant, client_id=s.rp.client_id) == 1


def test_an_unredeemed_code_expires(world):
    s = scan(world)
    answer = login_code(world, s)
    clock.advance(world.settings.code_ttl + 1)
    assert error(s.browser.link_auth_code(s.code)) == "invalid_transaction"
    refused = s.rp.exchange(answer["code"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_authenticating_twice_is_refused(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    again = world.wallet.authenticate(s.linked_id, world.bakary.uin, wla_of(world, world.bakary))
    assert error(again) == "invalid_transaction_id"
    assert world.linked_row(s.linked_id).amr == ["swk"]
    ok(world.wallet.consent(s.linked_id, PROFILE, [], key=world.amina_key))
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["name"] == "Amina Diallo"  # still Amina's login


def test_a_single_string_is_a_one_element_list(world):
    rp = world.rp()
    s = scan(world, rp=rp, scope="openid profile offline_access")
    assert s.details["authorizeScopes"] == ["offline_access"]
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world), v2=False))
    ok(world.wallet.consent(s.linked_id, "name", "offline_access", v2=False))
    tokens = tokens_for(rp, ok(s.browser.link_auth_code(s.code)))
    assert "refresh_token" in tokens and "offline_access" in tokens["scope"].split()
    info = userinfo_claims(rp, tokens)
    assert info["name"] == "Amina Diallo" and "birthdate" not in info


def test_a_single_string_is_a_one_element_list_in_a_signed_consent(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    ok(world.wallet.consent(s.linked_id, "birthdate", [], key=world.amina_key))
    info = userinfo_claims(s.rp, tokens_for(s.rp, ok(s.browser.link_auth_code(s.code))))
    assert info["birthdate"] == "1990-04-12" and "name" not in info


def test_unpermitted_offline_access_gives_no_refresh_token(world):
    rp = world.rp()
    s = scan(world, rp=rp, scope="openid profile offline_access")
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world), v2=False))
    ok(world.wallet.consent(s.linked_id, ["name"], [], v2=False))
    tokens = tokens_for(rp, ok(s.browser.link_auth_code(s.code)))
    assert "refresh_token" not in tokens and "offline_access" not in tokens.get("scope", "").split()


def test_stored_consent_skips_the_consent_step_next_time(world):
    """The same request again: authenticate answers NOCAPTURE and the code comes without a consent call."""
    rp = world.rp()
    first = scan(world, rp=rp)
    tokens_for(rp, login_code(world, first, ["name"]))
    again = scan(world, rp=rp)
    answer = ok(world.wallet.authenticate(again.linked_id, world.amina.uin, wla_of(world)))
    assert answer["consentAction"] == "NOCAPTURE"
    info = userinfo_claims(rp, tokens_for(rp, ok(again.browser.link_auth_code(again.code))))
    assert info["name"] == "Amina Diallo" and "birthdate" not in info


# --- 6. long polls against a real server ----------------------------------------------------------


def poll_in_background(fn: Callable[[], dict[str, Any]]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        start = time.perf_counter()
        result["answer"] = fn()
        result["returned"] = time.perf_counter()
        result["waited"] = result["returned"] - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_long_polls_answer_as_soon_as_the_wallet_acts(world):
    live, rp = world.live, world.live_rp()
    browser = open_login_page(rp)
    code = browser.new_code()

    thread, status = poll_in_background(lambda: browser.link_status(code))
    time.sleep(0.5)  # the browser is waiting now
    linked = ok(live.wallet.link(code))
    wallet_done = time.perf_counter()
    thread.join(LIVE_POLL_TIMEOUT + 5)
    assert ok(status["answer"])["linkStatus"] == "LINKED"
    assert status["waited"] >= 0.4 and status["returned"] - wallet_done < 0.5, status

    thread, got = poll_in_background(lambda: browser.link_auth_code(code))
    time.sleep(0.3)
    ok(live.wallet.authenticate(linked["linkTransactionId"], world.amina.uin, wla_of(world)))
    time.sleep(0.3)  # authentication alone wakes the poll, which finds no consent yet and waits on
    assert "answer" not in got
    ok(live.wallet.consent(linked["linkTransactionId"], PROFILE, [], key=world.amina_key))
    wallet_done = time.perf_counter()
    thread.join(LIVE_POLL_TIMEOUT + 5)
    assert got["returned"] - wallet_done < 0.5 and got["waited"] >= 0.5, got
    tokens = tokens_for(rp, ok(got["answer"]))
    assert id_token_claims(rp, tokens)["acr"] == WALLET


def test_many_browsers_wait_at_once(world):
    """Waiting holds no thread: 30 polls (more than the 10 request threads) all wake up on their link."""
    live, rp = world.live, world.live_rp()
    browsers = [open_login_page(rp) for _ in range(30)]
    codes = [b.new_code() for b in browsers]
    polls = [poll_in_background(lambda b=b, c=c: b.link_status(c)) for b, c in zip(browsers, codes, strict=True)]
    time.sleep(0.8)
    start = time.perf_counter()
    for code in codes:
        ok(live.wallet.link(code))
    for thread, _ in polls:
        thread.join(LIVE_POLL_TIMEOUT + 5)
    assert all(ok(result["answer"])["linkStatus"] == "LINKED" for _, result in polls)
    assert max(result["returned"] for _, result in polls) - start < 5, "a poll waited for its timeout"


# --- 7. error order after a decline, and concurrent calls (PostgreSQL row locks) -----------------------


def test_consent_claims_come_before_the_scopes_even_when_the_scopes_are_malformed(world):
    s = scan(world)
    assert error(world.wallet.consent(s.linked_id, ["phone_number"], [42], v2=False)) == "invalid_accepted_claim"


def test_after_a_declined_consent_the_scan_is_over(world):
    s = scan(world)
    ok(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world)))
    ok(world.wallet.decline(s.linked_id))
    assert ok(s.browser.link_auth_code(s.code))["error"] == "access_denied"
    assert error(world.wallet.authenticate(s.linked_id, world.amina.uin, wla_of(world))) == "invalid_transaction"
    assert error(world.wallet.link(s.code)) == "invalid_link_code"  # as after a redeemed code: used


def race(*calls: Callable[[], dict[str, Any]]) -> list[dict[str, Any] | str]:
    """Start the calls at the same instant in threads; an answer that is not HTTP 200 reads "HTTP <status>"."""
    barrier = threading.Barrier(len(calls))
    out: list[dict[str, Any] | str] = ["no answer"] * len(calls)

    def run(i: int, fn: Callable[[], dict[str, Any]]) -> None:
        barrier.wait()
        try:
            out[i] = fn()
        except AssertionError as refused:  # call() asserts HTTP 200
            out[i] = f"HTTP {refused.args[0][1] if refused.args and isinstance(refused.args[0], tuple) else '?'}"

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


RACE_ROUNDS = 10


def test_the_same_code_scanned_twice_at_once_links_one_wallet_only(world):
    rp = world.live_rp()
    for _ in range(RACE_ROUNDS):
        browser = open_login_page(rp)
        code = browser.new_code()
        answers = race(lambda c=code: world.live.wallet.link(c), lambda c=code: world.live.wallet.link(c))
        assert all(isinstance(a, dict) for a in answers), answers
        assert sorted(str(error(a)) for a in answers if isinstance(a, dict)) == ["None", "invalid_link_code"], (
            answers
        )  # one wallet links; the other learns nothing (issue 14 finding 1)
        assert world.count(LinkedTransaction, transaction_id=browser.txn) == 1


def test_two_codes_scanned_at_once_link_one_wallet_only(world):
    rp = world.live_rp()
    for _ in range(RACE_ROUNDS):
        browser = open_login_page(rp)
        first, second = browser.new_code(), browser.new_code()
        answers = race(lambda a=first: world.live.wallet.link(a), lambda b=second: world.live.wallet.link(b))
        assert all(isinstance(a, dict) for a in answers), answers
        assert sorted(str(error(a)) for a in answers if isinstance(a, dict)) in (
            ["None", "invalid_link_code"],
            ["None", "invalid_transaction"],
        ), answers
        assert world.count(LinkedTransaction, transaction_id=browser.txn) == 1


def test_link_code_limits_hold_under_concurrent_requests(world):
    rp = world.live_rp()
    total, live_max = world.settings.link_codes_total_max, world.settings.link_codes_live_max
    for _ in range(RACE_ROUNDS):
        browser = open_login_page(rp)
        answers = race(*[browser.link_code for _ in range(total + 2)])
        made = [a for a in answers if isinstance(a, dict) and not a["errors"]]
        assert len(made) == world.count(LinkCode, transaction_id=browser.txn) <= total, answers
        assert world.live_codes(browser.txn) <= live_max, answers
