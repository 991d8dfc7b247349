"""Wallet login by QR across two server processes: the browser's long polls on one, the wallet on the other.

Two real ``uvicorn app.asgi:app`` processes share a PostgreSQL database (a dedicated one, created here and
dropped after, so the other tests' TRUNCATEs never meet these servers) and Redis, whose pub/sub carries the
long-poll wake-ups between them. Polls wait 10 s, so a missed wake-up shows as a 10 s answer; the test
asks for the answer within 100 ms of the wallet's call.

Runs when ``IDBB_TEST_DATABASE_URL`` names PostgreSQL and ``IDBB_TEST_REDIS_URL`` is set; with ``CI=true``
a PostgreSQL run without Redis fails instead of skipping.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ISSUER, TEST_DB, TEST_REDIS, ApiClient, new_ec_key, random_kek
from tests.flows.linked_helpers import (
    ALL_ACRS,
    WALLET,
    Wallet,
    WalletKey,
    bind_wallet_key,
    id_token_claims,
    ok,
    open_login_page,
    tokens_for,
    userinfo_claims,
    wla,
)
from tests.flows.oidc_helpers import Citizen, enroll_citizen, register_rp
from tests.mailbox import free_port

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[3]
POLL_TIMEOUT = 10.0
PROMPT = 0.1  # seconds between the wallet's answer and the browser's
PARTNER = "partner"  # the relying party's back office: registers its client and binds wallet keys
PARTNER_SCOPES = "add_oidc_client read_oidc_client wallet_binding"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


# --- a dedicated database and two servers -----------------------------------------------------------


@pytest.fixture(scope="module")
def twoproc_database() -> Iterator[str]:
    """A fresh PostgreSQL database next to the test one, dropped after the module."""
    import psycopg

    if not TEST_REDIS:
        message = "set IDBB_TEST_REDIS_URL: the two processes wake each other through Redis"
        if in_ci():
            pytest.fail(message + " (CI=true: this test must run in the PostgreSQL run)", pytrace=False)
        pytest.skip(message)
    url = make_url(str(TEST_DB))
    name = f"idbb_twoproc_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _done(proc: subprocess.Popen[str]) -> None:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"{' '.join(str(a) for a in proc.args)} failed:\n{out}"


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _start(name: str, env: dict[str, str], folder: Path) -> Server:
    port = free_port()
    log = folder / f"server-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Server(name, f"http://127.0.0.1:{port}", proc, log)


def _wait_healthy(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"server {server.name} exited with {server.proc.returncode}:\n{server.tail()}", pytrace=False)
        try:
            if httpx.get(server.base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server {server.name} did not become healthy:\n{server.tail()}", pytrace=False)


def _stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()  # this process only: it was started by this module
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)


@dataclass
class Pair:
    a: httpx.Client
    b: httpx.Client
    partner: tuple[bytes, dict[str, Any]]
    citizen: Citizen

    def token(self, http: httpx.Client) -> str:
        return ApiClient(PARTNER, *self.partner, http).token()


def _seed_citizen(database_url: str, kek: str) -> Citizen:
    """Enrolled in-process (the one service call these tests make); the servers see it in the database."""
    from app import create_app
    from app.config import Settings
    from app.extensions import db

    cx = create_app(Settings(profile="development", database_url=database_url, issuer=ISSUER, kek=kek))
    citizen = enroll_citizen(cx)
    with cx.app.app_context():
        db.engine.dispose()
    return citizen


@pytest.fixture(scope="module")
def pair(twoproc_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """``idbb init-db``, then the two servers start while the operator registers the partner's API client
    (``idbb clients add-api``) and a citizen is enrolled."""
    folder = tmp_path_factory.mktemp("twoproc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    kek = random_kek()
    env.update(
        {
            "IDBB_PROFILE": "development",
            "IDBB_ISSUER": ISSUER,
            "IDBB_DATABASE_URL": twoproc_database,
            "IDBB_REDIS_URL": str(TEST_REDIS),
            "IDBB_KEK": kek,
            "IDBB_LONG_POLL_TIMEOUT": str(POLL_TIMEOUT),
            "IDBB_LOG_LEVEL": "WARNING",
        }
    )
    _done(_cli(["init-db"], env))
    servers = [_start("A", env, folder), _start("B", env, folder)]
    clients: list[httpx.Client] = []
    try:
        pem, public = new_ec_key()
        operator = _cli(["clients", "add-api", PARTNER, "--scopes", PARTNER_SCOPES, "--public-key", json.dumps(public)], env)
        citizen = _seed_citizen(twoproc_database, kek)
        _done(operator)
        for server in servers:
            _wait_healthy(server)
        clients = [httpx.Client(base_url=s.base, timeout=POLL_TIMEOUT + 10) for s in servers]
        yield Pair(clients[0], clients[1], (pem, public), citizen)
    finally:
        for http in clients:
            http.close()
        for server in servers:
            _stop(server)


# --- the test -----------------------------------------------------------------------------------------


def in_background(fn: Callable[[], dict[str, Any]]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        start = time.perf_counter()
        try:
            result["answer"] = fn()
        except httpx.TimeoutException:
            result["error"] = "no answer at all: the long poll hung past its own timeout"
        result["returned"] = time.perf_counter()
        result["waited"] = result["returned"] - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("browser_on,wallet_on", [("a", "b"), ("b", "a")])
def test_the_wallet_on_one_process_wakes_the_browser_on_the_other(pair, browser_on, wallet_on):
    browser_http, wallet_http = getattr(pair, browser_on), getattr(pair, wallet_on)
    rp = register_rp(browser_http, pair.token(browser_http), acrs=ALL_ACRS)
    key = bind_wallet_key(wallet_http, PARTNER, pair.token(wallet_http), pair.citizen, WalletKey.new())
    wallet = Wallet(wallet_http)
    browser = open_login_page(rp)
    code = browser.new_code()

    poll, status = in_background(lambda: browser.link_status(code))
    time.sleep(0.5)  # the browser is waiting on its process now
    details = ok(wallet.link(code))
    linked_at = time.perf_counter()
    poll.join(POLL_TIMEOUT + 15)
    assert "answer" in status, status
    assert ok(status["answer"])["linkStatus"] == "LINKED"
    assert status["waited"] >= 0.4, "the poll did not wait for the wallet"
    assert status["returned"] - linked_at < PROMPT, f"LINKED came {status['returned'] - linked_at:.3f} s late"

    poll, got = in_background(lambda: browser.link_auth_code(code))
    time.sleep(0.3)
    linked_id = details["linkTransactionId"]
    ok(wallet.authenticate(linked_id, pair.citizen.uin, [wla(key.wla_token(pair.citizen.uin))]))
    time.sleep(0.3)
    assert "answer" not in got, "a code came before the consent"
    ok(wallet.consent(linked_id, details["voluntaryClaims"], [], key=key))
    consented_at = time.perf_counter()
    poll.join(POLL_TIMEOUT + 15)
    assert "answer" in got, got
    assert got["returned"] - consented_at < PROMPT, f"the code came {got['returned'] - consented_at:.3f} s late"

    tokens = tokens_for(rp, ok(got["answer"]))
    claims = id_token_claims(rp, tokens)
    assert claims["acr"] == WALLET and claims["amr"] == ["swk"]
    rp.http = wallet_http  # userinfo on the other process
    assert userinfo_claims(rp, tokens)["name"] == "Amina Diallo"
