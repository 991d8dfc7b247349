"""Issue 14: no enrollment oracle on the OTP pages, throttles per transaction, client and source, a person
lockout that is not a denial-of-service lever, and concurrent first logins of one person — over HTTP, the way
the attacks ran.
"""

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from app import create_app
from app.clock import clock
from app.config import Settings
from tests.conftest import ISSUER, TEST_DB, request_time
from tests.flows.linked_helpers import LA, WALLET, XSRF, call, error, ok, open_login_page
from tests.flows.oidc import test_oidc_browser_side as browser_side
from tests.flows.oidc.test_oidc_browser_side import (
    OTP_ACR,
    Site,
    assert_login_page_with_error,
    id_claims,
    login_all_the_way,
    request_code,
    settings_of,
)
from tests.flows.oidc_helpers import Citizen, RelyingParty, forms, query
from tests.live_server import start_in_thread
from tests.mailbox import Mailbox, free_port

site = browser_side.site  # fixtures shared with the browser-side tests
mailbox = browser_side.mailbox

ON_POSTGRES = (TEST_DB or "").startswith("postgresql")


# --- a live server (uvicorn in a thread, real sockets, real concurrency) -------------------------------


@dataclass
class Live:
    base: str
    server: Any
    thread: threading.Thread


@pytest.fixture
def live(app: Any, settings: Settings) -> Iterator[Live]:
    """idbb under uvicorn on the test database, with enough threads to run 16 logins at once."""
    yield from _serve(settings)


def _serve(settings: Settings, **changes: Any) -> Iterator[Live]:
    base, server, thread = start_in_thread(create_app(settings.with_(worker_threads=16, db_pool_size=20, **changes)))
    yield Live(base, server, thread)
    server.should_exit = True
    thread.join(10)


def _browser_cookie(response: httpx.Response) -> str:
    """The idbb_browser cookie (``Secure``: httpx would not send it back over plain http by itself)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("idbb_browser="):
            return header.split(";", 1)[0]
    raise AssertionError("no idbb_browser cookie")


def _login_in_a_fresh_browser(live: Live, rp: RelyingParty, who: Citizen) -> tuple[int, str]:
    """One browser: GET /authorize, POST the PIN form; the status and where it leads."""
    with httpx.Client(base_url=live.base, timeout=60) as http:
        page = http.get("/authorize", params=rp.authorize_params())
        assert page.status_code == 200, page.text[:300]
        form = forms(page.text)["pin-form"]
        answer = http.post(
            form["action"],
            data={**form["fields"], "identifier": who.uin, "secret": who.pin},
            headers={"Cookie": _browser_cookie(page)},
        )
        return answer.status_code, answer.headers.get("location", "") or answer.text[:200]


# --- robustness #14: concurrent first logins of one person ---------------------------------------------


@pytest.mark.postgres
def test_sixteen_browsers_logging_one_person_in_at_once_all_succeed(live, rp, citizen):
    """Issue 14 robustness #14: the first logins raced on the insert of the person's login_throttles row
    (UniqueViolation on pk_login_throttles, a 500). Each browser now gets its consent page or its code."""
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: _login_in_a_fresh_browser(live, rp, citizen), range(16)))
    assert all(status in (200, 303) for status, _ in answers), answers
    assert all(status == 200 or "code" in query(where) for status, where in answers), answers


@pytest.mark.postgres
def test_concurrent_guesses_from_one_source_are_counted_exactly_in_the_database(app, settings):
    """The SQL counter store (no Redis) counts with one upsert: 16 link-code guesses at once from one source,
    5 allowed, give exactly 5 answers and 11 refusals with 429."""
    server = _serve(settings, redis_url=None, throttle_per_source=5)
    live = next(server)
    body = {"requestTime": request_time(), "request": {"linkCode": "GUESS0000000000"}}
    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = list(
                pool.map(
                    lambda _: httpx.post(live.base + LA + "/link-transaction", json=body, timeout=60).status_code, range(16)
                )
            )
    finally:
        next(server, None)
    assert sorted(statuses) == [200] * 5 + [429] * 11, statuses


# --- security #2: the same timing for known and unknown identifiers ------------------------------------


class SlowMailbox(Mailbox):
    """An SMTP relay that takes a noticeable while per message (a real one is tens to hundreds of ms away)."""

    DELAY = 0.4

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.DELAY)
        return await super().handle_DATA(server, session, envelope)


def test_a_code_sent_to_nobody_takes_as_long_as_a_real_delivery(site):
    """Issue 14 security #2, "similar timing": the same text is not enough if an unknown identifier answers in
    a millisecond and a known one after the SMTP round trip. A send to nobody now waits as long as a real
    delivery takes (a moving average of the real ones)."""
    from aiosmtpd.controller import Controller

    box = SlowMailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        world = site(notifier="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port)
        rp, person = world.rp(acrs=[OTP_ACR]), world.citizen(email="slow@example.org")

        def timed(identifier: str) -> float:
            page = rp.authorize()
            started = time.perf_counter()
            assert request_code(rp, page, identifier).status_code == 200
            return time.perf_counter() - started

        known = timed(person.uin)
        unknown = [timed(f"{7600000000 + n}") for n in range(2)]
        assert known >= SlowMailbox.DELAY and len(box.messages) == 1
        assert all(0.75 * known <= took <= known + 1.0 for took in unknown), (known, unknown)
    finally:
        smtp.stop()


# --- security #3: throttles per login transaction, per source, per relying party -----------------------


@pytest.fixture
def otp_site(site, mailbox):
    """A Site with changed settings whose relying party logs in with e-mailed codes (real SMTP)."""
    box, port = mailbox

    def build(**changes: Any) -> tuple[Site, RelyingParty]:
        world = site(notifier="smtp", smtp_host="127.0.0.1", smtp_port=port, **changes)
        return world, world.rp(acrs=[OTP_ACR])

    return build


def _other_source(cx: Any, address: str) -> Any:
    """A browser (its own cookie jar) at another ASGI client address."""
    return cx.test_client(base_url=ISSUER, client=(address, 40000))


def _retry_after(response: Any) -> int:
    value = int(response.headers["retry-after"])  # RFC 9110 §10.2.3: delay-seconds
    assert 0 < value <= 300, value
    return value


def assert_too_many_page(response: Any, text: str = "Too many attempts.") -> None:
    """RFC 6585 §4: 429, Retry-After, a page in the person's language, no form to go on guessing."""
    assert response.status_code == 429, response.text[:300]
    _retry_after(response)
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text and 'id="error"' in response.text
    assert "pin-form" not in response.text


def test_one_login_transaction_trying_thirty_identifiers_is_throttled(app, client, rp, citizen):
    """Issue 14 security #3, the attack as it ran: one login transaction and one cookie jar tried 30
    identifiers with one PIN each and was never blocked. Now the 11th attempt of the transaction is 429."""
    page = rp.authorize()
    answers = [rp.login_pin(page, f"{7000000000 + n}", "123456") for n in range(30)]
    assert [a.status_code for a in answers[:10]] == [400] * 10  # "The ID number or PIN is incorrect."
    for refused in answers[10:]:
        assert_too_many_page(refused)
    assert_too_many_page(rp.login_pin(page, citizen.uin, citizen.pin))  # the transaction is spent, not the person
    assert id_claims(rp, login_all_the_way(rp, citizen))["amr"] == ["pin"]  # a new login goes on


def test_the_throttle_page_is_localized(app, client, rp):
    page = rp.authorize()
    for n in range(10):
        rp.login_pin(page, f"{7100000000 + n}", "123456")
    form = forms(page.text)["pin-form"]
    data = {**form["fields"], "identifier": "7199999999", "secret": "123456"}
    french = client.post(form["action"], data=data, headers={"Accept-Language": "fr"})
    assert_too_many_page(french, "Trop de tentatives.")
    arabic = client.post(form["action"], data=data, headers={"Accept-Language": "ar"})
    assert_too_many_page(arabic, "محاولات كثيرة جدًا.")
    assert 'dir="rtl"' in arabic.text


def test_one_source_opening_new_logins_is_throttled(site):
    """A new transaction per guess does not help: IDBB_THROTTLE_PER_SOURCE attempts per window per address.
    Another address is not affected."""
    world = site(throttle_per_source=5)
    rp, person = world.rp(), world.citizen()
    for n in range(5):
        assert rp.login_pin(rp.authorize(), f"{7200000000 + n}", "123456").status_code == 400
    assert_too_many_page(rp.login_pin(rp.authorize(), person.uin, person.pin))
    elsewhere = replace(rp, http=_other_source(world.app, "198.51.100.20"))
    assert id_claims(elsewhere, elsewhere.login_and_token(person.uin, person.pin))["amr"] == ["pin"]


def test_otp_sends_are_throttled_per_source(otp_site):
    world, rp = otp_site(throttle_per_source=4)
    for n in range(4):  # a new login each time, so the per-login send limit (3) never applies
        assert request_code(rp, rp.authorize(), f"{7300000000 + n}").status_code == 200
    assert_too_many_page(request_code(rp, rp.authorize(), "7300000009"))


def test_a_relying_party_is_throttled_across_sources(site):
    world = site(throttle_per_client=6, throttle_per_source=0)
    rp = world.rp()
    for n in range(6):
        browser = replace(rp, http=_other_source(world.app, f"198.51.100.{n + 1}"))
        assert browser.login_pin(browser.authorize(), f"{7400000000 + n}", "123456").status_code == 400
    browser = replace(rp, http=_other_source(world.app, "198.51.100.99"))
    assert_too_many_page(browser.login_pin(browser.authorize(), "7400000099", "123456"))


def test_ipv6_sources_count_by_their_slash_64():
    from app.services.throttle import source_bucket

    assert source_bucket("2001:db8:1:2:aaaa::1") == source_bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert source_bucket("2001:db8:1:3::1") != source_bucket("2001:db8:1:2::1")
    assert source_bucket("::ffff:192.0.2.1") == source_bucket("192.0.2.1") == "192.0.2.1"
    assert source_bucket(None) == "-"


# --- the person lockout is no denial-of-service lever ----------------------------------------------------


def test_three_wrong_pins_from_one_source_do_not_lock_the_person_out_elsewhere(app, client, rp, citizen):
    """Three wrong PINs from anywhere locked the person for 15 minutes everywhere. Now they lock the person
    out from that source only (NIST SP 800-63B §5.2.2): the person logs in from their own device."""
    for _ in range(2):
        assert_login_page_with_error(
            rp.login_pin(rp.authorize(), citizen.uin, "000000"), "The ID number or PIN is incorrect."
        )
    assert_login_page_with_error(rp.login_pin(rp.authorize(), citizen.uin, "000000"), "Too many failed attempts")
    assert_login_page_with_error(rp.login_pin(rp.authorize(), citizen.uin, citizen.pin), "Too many failed attempts")
    own_device = replace(rp, http=_other_source(app, "203.0.113.50"))
    assert id_claims(own_device, own_device.login_and_token(citizen.uin, citizen.pin))["amr"] == ["pin"]


def test_wrong_pins_from_many_sources_block_the_person_with_a_growing_back_off(app, client, rp, citizen):
    """IDBB_LOGIN_MAX_FAILURES (10) wrong PINs in a row from anywhere block the person everywhere, for
    IDBB_OTP_BLOCK_SECONDS, and each further block lasts twice as long; a success resets the count."""
    block = settings_of(app).otp_block_seconds

    def wrong_from(n: int) -> Any:
        browser = replace(rp, http=_other_source(app, f"192.0.2.{n // 3 + 1}"))  # 3 tries per source
        return browser.login_pin(browser.authorize(), citizen.uin, "000000")

    for n in range(9):
        assert wrong_from(n).status_code == 400
    assert_login_page_with_error(wrong_from(9), "Too many failed attempts")  # the 10th, from a fresh source
    fresh = replace(rp, http=_other_source(app, "192.0.2.200"))
    assert_login_page_with_error(fresh.login_pin(fresh.authorize(), citizen.uin, citizen.pin), "Too many failed attempts")
    clock.advance(block + 1)
    for n in range(30, 40):  # ten more (the count was not reset by the block): blocked again, twice as long
        wrong_from(n)
    clock.advance(block + 1)
    assert_login_page_with_error(fresh.login_pin(fresh.authorize(), citizen.uin, citizen.pin), "Too many failed attempts")
    clock.advance(block)
    assert id_claims(fresh, fresh.login_and_token(citizen.uin, citizen.pin))["amr"] == ["pin"]


# --- wallet side: link codes, link-transaction attempts, in the eSignet envelope ------------------------


def _envelope_429(response: Any) -> None:
    assert response.status_code == 429, response.text[:300]  # RFC 6585 §4, not eSignet's HTTP 200
    _retry_after(response)
    body = response.json()
    assert [e["errorCode"] for e in body["errors"]] == ["too_many_requests"]
    assert body["response"] == {}  # link-code and link-transaction errors keep "response": {} (GovStack)


def test_link_transaction_attempts_are_throttled_per_source(make_app):
    """A wallet (or a script) guessing link codes: IDBB_THROTTLE_PER_SOURCE tries per window, then 429."""
    cx = make_app(throttle_per_source=5)
    http = cx.test_client(base_url=ISSUER)
    for n in range(5):
        answer = call(http, LA + "/link-transaction", {"linkCode": f"GUESS{n:010d}"})
        assert error(answer) == "invalid_link_code"
    body = {"requestTime": request_time(), "request": {"linkCode": "GUESS9999999999"}}
    _envelope_429(http.post(LA + "/v2/link-transaction", json=body))
    other = _other_source(cx, "198.51.100.30")
    assert error(call(other, LA + "/link-transaction", {"linkCode": "GUESS0000000001"})) == "invalid_link_code"


def test_link_codes_are_throttled_per_source(site):
    world = site(throttle_per_source=3)
    rp = world.rp(acrs=[WALLET])
    browser = open_login_page(rp)
    for _ in range(3):
        ok(browser.link_code())
    body = {"requestTime": request_time(), "request": {"transactionId": browser.txn}}
    _envelope_429(world.http.post(LA + "/link-code", json=body, headers=XSRF))


# --- the counter stores -------------------------------------------------------------------------------


def _counts(store: Any) -> None:
    from app.clock import clock as app_clock

    now = app_clock.now()
    first = [store.hit("k", 60, now)[0] for _ in range(3)]
    assert first == [1, 2, 3]
    assert store.hit("other", 60, now)[0] == 1
    left = store.hit("k", 60, now)[1]
    assert 0 < left <= 60
    app_clock.advance(left)
    assert store.hit("k", 60, app_clock.now())[0] == 1  # a new window starts again


def test_sql_rate_counters(app, ctx):
    from app.stores.rate_limits import SqlRateCounters

    _counts(SqlRateCounters())


@pytest.mark.redis
def test_redis_rate_counters(app, ctx):
    from app.extensions import state
    from app.stores.rate_limits import RedisRateCounters

    _counts(RedisRateCounters(state().redis, prefix="idbb:test-rate:"))


# --- another endpoint reaching the same factor check: /wallet-binding ----------------------------------


def _bind_with_pin(http: Any, backend: Any, token: str, individual_id: str, value: str) -> Any:
    from tests.conftest import bearer
    from tests.flows.linked_helpers import WalletKey

    request = {
        "individualId": individual_id,
        "authFactorType": "WLA",
        "format": "jwt",
        "challengeList": [{"authFactorType": "PIN", "challenge": value, "format": "number"}],
        "publicKey": WalletKey.new().public_jwk,
    }
    return http.post(
        "/wallet-binding",
        json={"requestTime": request_time(), "request": request},
        headers={**bearer(token), "PARTNER-ID": backend.client_id, "PARTNER-API-KEY": "k"},
    )


def test_pin_guesses_through_wallet_binding_are_throttled_per_source(site):
    """The PIN checked at /wallet-binding is the login page's factor check: one source spraying identifiers
    with one PIN each there met no throttle (and every wrong PIN counted as from one unknown source). It is
    counted like the other attempts: IDBB_THROTTLE_PER_SOURCE per window, then 429 in the envelope."""
    from tests.conftest import ApiClient, new_ec_key

    world = site(throttle_per_source=4)
    pem, public = new_ec_key()
    with world.app.app.app_context():
        from app.services import api_clients

        api_clients.register(
            "wallet-backend", name="wallet-backend", scopes=["wallet_binding"], public_key=public, actor="test"
        )
    backend = ApiClient("wallet-backend", pem, public, world.http)
    token = backend.token()
    for n in range(4):
        answer = _bind_with_pin(world.http, backend, token, f"{7500000000 + n}", "123456")
        assert answer.status_code == 200 and answer.json()["errors"][0]["errorCode"] == "invalid_auth_challenge"
    refused = _bind_with_pin(world.http, backend, token, "7500000009", "123456")
    assert refused.status_code == 429, refused.text[:300]
    _retry_after(refused)
    assert [e["errorCode"] for e in refused.json()["errors"]] == ["too_many_requests"]
    person = world.citizen()
    elsewhere = _other_source(world.app, "198.51.100.40")
    assert _bind_with_pin(elsewhere, backend, token, person.uin, "000000").json()["errors"]  # counted there
    for _ in range(2):
        _bind_with_pin(elsewhere, backend, token, person.uin, "000000")
    assert (
        _bind_with_pin(elsewhere, backend, token, person.uin, person.pin).json()["errors"][0]["errorCode"]
        == "invalid_auth_challenge"
    )  # three wrong PINs from that source lock the person out from there
    # ... only: the login page at a third address works (the binding attempts were not "from anywhere")
    rp = replace(world.rp(), http=_other_source(world.app, "198.51.100.41"))
    assert id_claims(rp, rp.login_and_token(person.uin, person.pin))["amr"] == ["pin"]
