"""Issue 14: no enrollment oracle on the OTP pages, throttles per transaction, client and source, a person
lockout that is not a denial-of-service lever, and concurrent first logins of one person — over HTTP, the way
the attacks ran.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app import create_app
from app.config import Settings
from tests.conftest import TEST_DB
from tests.flows.oidc_helpers import Citizen, RelyingParty, forms, query
from tests.mailbox import free_port

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
    import uvicorn

    cx = create_app(settings.with_(worker_threads=16, db_pool_size=20))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(cx, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    yield Live(f"http://127.0.0.1:{port}", server, thread)
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
        answer = http.post(form["action"], data={**form["fields"], "identifier": who.uin, "secret": who.pin},
                           headers={"Cookie": _browser_cookie(page)})
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
