"""Fixtures for the browser tests: a real ``idbb serve`` process and a headless Chromium.

The server runs in a subprocess on 127.0.0.1 with a free high port, on a fresh SQLite file, under
the development profile with issuer ``http://localhost:<port>`` (Chromium treats localhost as a
secure context, so it keeps idbb's ``Secure`` cookies over plain http). A relying party and a
citizen are written to that database in-process, through idbb's own services, before it starts.

Chromium: ``IDBB_CHROMIUM`` (a path) if set, else Debian's ``/usr/bin/chromium``, else the browser
``playwright install`` downloaded. Without any of them the tests skip, except under ``CI=true``,
where they fail: CI must prove the pages work in a real browser. The redirect URI is served by a
stub relying party on another high port, so the browser really lands there.
"""

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import random_kek
from tests.flows.oidc_helpers import Citizen, enroll_citizen, new_rsa_key
from tests.mailbox import free_port

SYSTEM_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Claims the test relying party may ask for; with ``scope=openid profile`` the first four are shown.
RP_CLAIMS = ["name", "given_name", "family_name", "birthdate", "email"]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless Chromium against a real idbb server process")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI=true, where a skipped browser test would prove nothing."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@dataclass
class Server:
    issuer: str
    client_id: str
    private_pem: bytes
    redirect_uri: str
    citizen: Citizen
    log: Path
    callbacks: list[str] = field(default_factory=list)


CALLBACK_PAGE = b"<!doctype html><title>Relying party</title><p id=rp>back at the relying party</p>"


def _relying_party(port: int, seen: list[str]) -> ThreadingHTTPServer:
    """A stub relying party on ``port``: answers every GET with a small page and records its path.

    (Playwright's ``page.route`` cannot stand in for it: a route sees only the first request of a
    redirect chain, and idbb reaches the redirect URI through a 303.)"""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(CALLBACK_PAGE)))
            self.end_headers()
            self.wfile.write(CALLBACK_PAGE)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _seed(database_url: str, issuer: str, kek: str, redirect_uri: str, acrs: list[str]) -> tuple[str, bytes, Citizen]:
    """Migrate, create keys, register a relying party for ``acrs`` and enroll a citizen with a PIN (in-process)."""
    from app import create_app
    from app.config import Settings
    from app.extensions import db
    from app.services import database, keys
    from app.services.oidc import oidc_clients

    cx = create_app(Settings(profile="development", database_url=database_url, issuer=issuer, kek=kek))
    pem, public = new_rsa_key()
    client_id = f"rp-{uuid.uuid4().hex[:8]}"
    with cx.app.app_context():
        database.upgrade(db.engine)
        keys.ensure_keys(actor="test")
        oidc_clients.create(
            {
                "clientId": client_id,
                "clientName": "Ministry portal",
                "relyingPartyId": "ministry",
                # Any request leaving localhost is aborted by the tests; the logo is simply not shown.
                "logoUri": "https://rp.example/logo.png",
                "redirectUris": [redirect_uri],
                "authContextRefs": acrs,
                "publicKey": public,
                "userClaims": RP_CLAIMS,
                "grantTypes": ["authorization_code"],
                "clientAuthMethods": ["private_key_jwt"],
            },
            actor="test",
        )
    citizen = enroll_citizen(cx, pin="482913")
    with cx.app.app_context():
        db.engine.dispose()  # the server process owns the file from here on
    return client_id, pem, citizen


@contextmanager
def serve_idbb(folder: Path, acrs: list[str], **settings: str) -> Iterator[Server]:
    """``idbb serve`` in a subprocess on a seeded SQLite database (``IDBB_*`` ``settings`` added), and a stub
    relying party; both stopped on leaving."""
    port = free_port()
    issuer = f"http://localhost:{port}"
    rp_port = free_port()
    redirect_uri = f"http://localhost:{rp_port}/callback"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
    env.update(
        {
            "IDBB_PROFILE": "development",
            "IDBB_DATABASE_URL": f"sqlite:///{folder / 'idbb.db'}",
            "IDBB_ISSUER": issuer,
            "IDBB_KEK": random_kek(),
            "IDBB_LOG_LEVEL": "WARNING",
        }
    )
    env.update({f"IDBB_{name.upper()}": value for name, value in settings.items()})
    client_id, pem, citizen = _seed(env["IDBB_DATABASE_URL"], issuer, env["IDBB_KEK"], redirect_uri, acrs)
    log = folder / "server.log"
    callbacks: list[str] = []
    relying_party = _relying_party(rp_port, callbacks)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"idbb serve exited with {proc.returncode}:\n{log.read_text()}", pytrace=False)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"idbb serve did not answer /health within 30 s:\n{log.read_text()}", pytrace=False)
            time.sleep(0.1)
        yield Server(issuer, client_id, pem, redirect_uri, citizen, log, callbacks)
    finally:
        relying_party.shutdown()
        relying_party.server_close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def idbb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server for PIN login; stopped after the module."""
    with serve_idbb(tmp_path_factory.mktemp("browser-idbb"), ["idbb:acr:static-code"]) as server:
        yield server


def _executable(bundled: str) -> str | None:
    """The Chromium binary to launch (None: Playwright's own), or ``unavailable`` when there is none."""
    override = os.environ.get("IDBB_CHROMIUM")
    if override:
        if not Path(override).is_file():
            unavailable(f"IDBB_CHROMIUM={override} does not exist")
        return override
    if Path(SYSTEM_CHROMIUM).is_file():
        return SYSTEM_CHROMIUM
    if bundled and Path(bundled).is_file():
        return None
    unavailable(
        f"no Chromium: install Debian's chromium ({SYSTEM_CHROMIUM}), set IDBB_CHROMIUM, "
        "or run `playwright install chromium`"
    )
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium for the module (module scope: Playwright's loop is gone before other tests run)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    manager = sync_playwright().start()
    try:
        try:
            bundled = manager.chromium.executable_path
        except PlaywrightError:
            bundled = ""
        executable = _executable(bundled)
        try:
            browser = manager.chromium.launch(headless=True, executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            unavailable(f"Chromium ({executable or bundled}) did not start: {exc}")
        yield browser
        browser.close()
    finally:
        manager.stop()
