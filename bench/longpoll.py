"""Long-poll benchmark against the real server: held link-status polls, a quick endpoint beside them, and
wake-up latency after the wallet acts (run by hand; not a test).

    python bench/longpoll.py [--polls N] [--wakes M] [--workers W] [--database-url URL] [--redis-url URL]
                             [--timeout S]

Issue 4 asks that one 2-worker server hold at least 5,000 waiting ``POST /linked-authorization/link-status``
polls (GovStack §8 "Wallet – QR Code") while a quick endpoint keeps p99 < 50 ms, and that a held poll answers
within 100 ms (p99) of the wallet linking its transaction. What it does, all on 127.0.0.1 and bounded by N,
M and a global timeout:

1. raises this process's open-file limit to its hard limit (the gunicorn workers inherit it), drops and
   re-creates a PostgreSQL database for the run, sets ``IDBB_*`` (profile ``development``, Redis for the
   long-poll wake-ups across workers, ``IDBB_LONG_POLL_TIMEOUT`` longer than the run so no poll times out,
   long link-code and authorization-transaction lifetimes), runs ``idbb init-db``, starts
   ``gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w W`` and registers a relying party over HTTP
   (``authContextRefs``: ``idbb:acr:linked-wallet``, ``idbb:acr:static-code``);
2. in this process, through the app's services against the same database: N + warm-up authorization
   transactions (``authorize_request.parse`` of one request, one ``AuthTransaction`` row each, as
   ``GET /authorize`` makes them) and one link code each (``linked_authorization.new_link_code``);
3. warm-up: a few polls woken by the wallet (every worker's Redis listener subscribes, every path runs once);
   a first-look probe: link-status polls of unknown transactions on both workers, which the first database
   look must refuse at once (no answer means polls never get past ``Wakeups.subscribe``); baseline of the
   quick endpoints without held polls: ``GET /health`` (the target's endpoint) and
   ``GET /.well-known/openid-configuration``, Q requests each at concurrency C over connections pinned to both
   workers; worker RSS from ``/proc``;
4. ramp: N link-status polls, each on its own keep-alive connection, opened in batches; then waits until
   the server's CPU is quiet (every poll has made its first database look and waits on its asyncio future)
   and counts the held polls on both sides: unanswered on the client, established connections per worker on
   the server (``/proc/net/tcp`` socket inodes matched against each worker's ``/proc/<pid>/fd``);
5. while they are held: idle CPU of the server, RSS per worker (and per held poll), and the quick endpoints
   again (same Q, C);
6. wake-ups: M held polls drawn at random (both workers), one every 1/R s: the wallet call
   (``POST /linked-authorization/link-transaction`` {linkCode}) and the time until that poll's LINKED answer,
   from the wallet's reply and from the wallet call's start; the wallet calls land on either worker, so many
   wake-ups cross workers through Redis pub/sub. The poll's ``linkedDateTime`` (taken when the server's
   ``link_transaction`` starts; same clock) splits the wallet call into "before the handler" and "handler to
   reply" and times the wake-up from the server's decision; ``pg_stat_activity`` is sampled meanwhile;
7. prints one table with the targets, the server log's warnings and errors, closes the connections, stops the
   server (its process group) and drops the database.

The load generator is this process: one asyncio loop holding N sockets, raw HTTP/1.1 on asyncio streams (the
connection class of bench/oidc.py). It shares the two cores with the server, PostgreSQL and Redis, so each
phase reports CPU milliseconds per operation for each of them and for everything else on the machine
(``other``), read from ``/proc``.
"""

import argparse
import asyncio
import json
import math
import os
import random
import re
import resource
import secrets
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

# the benches next door (``python bench/longpoll.py`` puts bench/ first on sys.path)
from enrollment import (
    BenchRun,
    BenchTimeout,
    arm_timeout,
    for_each,
    log,
    percentile,
    run_bench,
    server_env,
)
from jwt.algorithms import RSAAlgorithm
from oidc import PgSampler, Reply, _Connection, _ticks, cpu_delta, cpu_snapshot, ms, per_op, pkce_pair, table

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/idbb_bench_longpoll"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIRECT = "https://rp.example/callback"
SCOPE = "openid profile"
ACRS = ["idbb:acr:linked-wallet", "idbb:acr:static-code"]
ADMIN_SCOPES = "add_oidc_client read_oidc_client"
XSRF = "bench-xsrf-token"
STATUS_PATH = "/linked-authorization/link-status"
#: The ``idbb_browser`` cookie of every seeded transaction: link-code and link-status answer only that browser.
BROWSER = secrets.token_urlsafe(16)
LINK_PATH = "/linked-authorization/link-transaction"
QUICK_PATHS = ("/health", "/.well-known/openid-configuration")
TARGET_HELD = 5000
TARGET_QUICK_P99 = 0.050  # GET /health; discovery is reported beside it
TARGET_WAKE_P99 = 0.100
TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)
LOG_PATTERN = re.compile(r"Traceback|ERROR|CRITICAL|WARNING|Too many open files|QueuePool|timed out|Errno", re.I)


# --------------------------------------------------------------------------------------- set-up


def register_rp(base: str, admin_token: str) -> str:
    """A relying party for the QR login (private_key_jwt; the key is never used: no code is exchanged)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_id = f"bench-qr-{uuid.uuid4().hex[:6]}"
    request = {
        "clientId": client_id,
        "clientName": "Bench QR portal",
        "relyingPartyId": f"bench-{client_id}",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": [REDIRECT],
        "authContextRefs": ACRS,
        "publicKey": RSAAlgorithm.to_jwk(private.public_key(), as_dict=True),
        "userClaims": ["name", "given_name", "family_name", "birthdate", "email"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    response = httpx.post(
        base + "/client-mgmt/oidc-client",
        json={"requestTime": request_time(), "request": request},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    if response.status_code != 200 or response.json().get("errors"):
        raise RuntimeError(f"registering the relying party failed: HTTP {response.status_code}: {response.text[:2000]}")
    return client_id


def seed_in_process(env: dict[str, str], client_id: str, count: int) -> list[tuple[str, str]]:
    """``count`` pending authorization transactions with one link code each: (transactionId, linkCode)."""
    from app import create_app
    from app.clock import clock
    from app.config import Settings
    from app.extensions import db
    from app.models.login import AuthTransaction
    from app.services.oidc import authorize_flow
    from app.services.oidc.authorize_request import parse
    from app.services.stored_secrets import digest
    from app.services.wallet import linked_authorization

    settings = Settings.from_env(env)
    cx = create_app(settings)
    with cx.app.app_context():
        _, challenge = pkce_pair()
        request, _client = parse(
            {
                "client_id": [client_id],
                "redirect_uri": [REDIRECT],
                "response_type": ["code"],
                "scope": [SCOPE],
                "state": ["s"],
                "nonce": [secrets.token_urlsafe(8)],
                "code_challenge": [challenge],
                "code_challenge_method": ["S256"],
                "acr_values": [" ".join(ACRS)],
            },
            available_acrs=authorize_flow.available_acrs(),
        )
        stored = request.as_dict()
        now = clock.now()
        ids = []
        browser = BROWSER  # one browser cookie for all: link-code and link-status answer only its browser
        for n in range(count):
            txn_id = secrets.token_urlsafe(24)
            db.session.add(
                AuthTransaction(
                    transaction_id=txn_id,
                    client_id=client_id,
                    browser_hash=digest(browser),
                    csrf=secrets.token_urlsafe(24),
                    request=stored,
                    status="pending",
                    created_at=now,
                    expires_at=now + timedelta(seconds=settings.authorize_ttl),
                )
            )
            ids.append(txn_id)
            if n % 500 == 499:
                db.session.commit()
        db.session.commit()
        pairs = [(txn_id, linked_authorization.new_link_code(txn_id, browser=browser)["linkCode"]) for txn_id in ids]
        db.session.remove()
        db.engine.dispose()
    return pairs


def raise_nofile() -> tuple[int, int]:
    """Soft open-file limit up to the hard one (the server started afterwards inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# --------------------------------------------------------------------------------------- /proc views


def worker_pids(master: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _ticks(int(entry))
            if info is not None and info[1] == master:
                out.append(int(entry))
    return sorted(out)


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def server_sockets(port: int, pids: list[int]) -> dict[int, int]:
    """Established server-side connections of the listening ``port``: client port → worker pid."""
    remote_of: dict[str, int] = {}
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table_path).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                remote_of[parts[9]] = int(parts[2].rsplit(":", 1)[1], 16)
    out: dict[int, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                remote = remote_of.get(target[8:-1])
                if remote is not None:
                    out[remote] = pid
    return out


def server_ticks(pids: list[int]) -> int:
    return sum(info[2] for info in map(_ticks, pids) if info is not None)


# --------------------------------------------------------------------------------------- HTTP


def request_time() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def json_request(host: str, path: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps({"requestTime": request_time(), "request": payload}, separators=(",", ":")).encode()
    head = [
        f"POST {path} HTTP/1.1\r\n",
        f"Host: {host}\r\n",
        "Content-Type: application/json\r\n",
        *(f"{k}: {v}\r\n" for k, v in (headers or {}).items()),
        f"Content-Length: {len(body)}\r\n\r\n",
    ]
    return "".join(head).encode("latin-1") + body


def get_request(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("latin-1")


def envelope_of(reply: Reply | None) -> dict[str, Any]:
    if reply is None or reply.status_code != 200:
        return {}
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class Poll:
    txn: str
    code: str
    conn: _Connection | None = None
    client_port: int = 0
    worker: int = 0
    task: "asyncio.Task[None] | None" = None
    answered_at: float | None = None
    answered_wall: float = 0.0
    reply: Reply | None = None
    error: str | None = None
    woken: bool = False

    @property
    def held(self) -> bool:
        return self.conn is not None and self.answered_at is None


@dataclass
class QuickRun:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in QUICK_PATHS})
    per_worker: dict[int, list[float]] = field(default_factory=dict)
    failures: int = 0
    first_error: str | None = None
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def all(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]


@dataclass
class Wake:
    worker: int  # the poll's worker
    wallet_port: int = 0
    wallet_worker: int = 0
    started: float = 0.0
    replied: float = 0.0
    answered: float | None = None
    error: str | None = None
    # wall-clock times (the server's clock is this machine's): the wallet call, and the link decision read
    # from the poll's linkedDateTime (taken when the server's link_transaction starts; millisecond resolution)
    started_wall: float = 0.0
    replied_wall: float = 0.0
    linked_wall: float | None = None
    answered_wall: float = 0.0


class Server:
    """Where the bench reaches the server: host header, port, master pid and its workers."""

    def __init__(self, port: int, master: int) -> None:
        self.host = f"127.0.0.1:{port}"
        self.port = port
        self.master = master
        self.workers = worker_pids(master)

    async def connect(self) -> tuple[_Connection, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return _Connection(reader, writer), int(writer.get_extra_info("sockname")[1])


async def run_poll(server: Server, poll: Poll) -> None:
    assert poll.conn is not None
    try:
        poll.reply, _ = await poll.conn.exchange(
            json_request(
                server.host,
                STATUS_PATH,
                {"transactionId": poll.txn, "linkCode": poll.code},
                {"X-XSRF-TOKEN": XSRF, "Cookie": f"idbb_browser={BROWSER}"},
            )
        )
    except TRANSPORT_ERRORS as exc:
        poll.error = repr(exc)
    finally:
        poll.answered_at, poll.answered_wall = time.perf_counter(), time.time()


async def open_polls(server: Server, polls: list[Poll], batch: int) -> None:
    """Each poll on its own connection, ``batch`` connections opened at a time."""

    async def one(poll: Poll) -> None:
        try:
            poll.conn, poll.client_port = await server.connect()
        except TRANSPORT_ERRORS as exc:
            poll.error, poll.answered_at = f"connect: {exc!r}", time.perf_counter()
            return
        poll.task = asyncio.create_task(run_poll(server, poll))

    for start in range(0, len(polls), batch):
        await asyncio.gather(*(one(p) for p in polls[start : start + batch]))
        await asyncio.sleep(0)  # let the batch's requests go out before the next batch connects


def assign_workers(server: Server, polls: list[Poll]) -> dict[int, int]:
    seen = server_sockets(server.port, server.workers)
    for poll in polls:
        if poll.conn is not None:
            poll.worker = seen.get(poll.client_port, 0)
    counts: dict[int, int] = {pid: 0 for pid in server.workers}
    for pid in seen.values():
        counts[pid] = counts.get(pid, 0) + 1
    return counts


async def pinned_connections(server: Server, per_worker: int) -> list[tuple[_Connection, int]]:
    """``per_worker`` x workers connections, each with the worker that accepted it: ``per_worker`` on every
    worker if the kernel's hand-out allows within a few rounds (a connection goes to whichever worker accepts
    first), the rest on any worker; (connection, worker pid; 0 if unknown)."""
    opened: list[tuple[_Connection, int]] = []
    chosen: dict[int, list[_Connection]] = {pid: [] for pid in server.workers}
    for _ in range(16):
        batch = [await server.connect() for _ in range(max(4, per_worker * len(server.workers)))]
        opened += batch
        seen = server_sockets(server.port, server.workers)
        for conn, port in batch:
            pid = seen.get(port, 0)
            if pid in chosen and len(chosen[pid]) < per_worker:
                chosen[pid].append(conn)
        if all(len(c) >= per_worker for c in chosen.values()):
            break
    out = [(conn, pid) for pid, conns in chosen.items() for conn in conns]
    minimum = per_worker * len(server.workers)
    seen = server_sockets(server.port, server.workers)
    for conn, port in opened:
        if any(conn is c for c, _ in out):
            continue
        if len(out) < minimum:
            out.append((conn, seen.get(port, 0)))
        else:
            conn.close()
    return out


async def probe_first_look(server: Server, count: int, wait: float = 5.0) -> list[tuple[float | None, int]]:
    """link-status of unknown transactions, ``count`` on every worker: the first database look answers
    invalid_transaction_id at once, so no answer within ``wait`` means polls never get to their first look.
    (seconds or None, worker pid)."""
    opened = await pinned_connections(server, count)

    async def one(conn: _Connection) -> float | None:
        request = json_request(
            server.host,
            STATUS_PATH,
            {"transactionId": f"bench-unknown-{uuid.uuid4().hex[:12]}", "linkCode": "BENCHUNKNOWNCODE"},
            {"X-XSRF-TOKEN": XSRF},
        )
        started = time.perf_counter()
        try:
            reply, _ = await asyncio.wait_for(conn.exchange(request), wait)
        except (TimeoutError, *TRANSPORT_ERRORS):
            return None
        errors = envelope_of(reply).get("errors") or [{}]
        return time.perf_counter() - started if errors[0].get("errorCode") == "invalid_transaction_id" else None

    answers = await asyncio.gather(*(one(conn) for conn, _ in opened))
    for conn, _ in opened:
        conn.close()
    return [(answer, pid) for answer, (_, pid) in zip(answers, opened, strict=True)]


async def settle(server: Server, window: float = 0.5, quiet_ticks: int = 3, limit: float = 300) -> float:
    """Wait until the workers use less than ``quiet_ticks`` of CPU per ``window``; returns the seconds waited."""
    started = time.perf_counter()
    previous = server_ticks(server.workers)
    while time.perf_counter() - started < limit:
        await asyncio.sleep(window)
        now = server_ticks(server.workers)
        if now - previous <= quiet_ticks:
            break
        previous = now
    return time.perf_counter() - started


async def quick_phase(server: Server, requests: int, concurrency: int) -> QuickRun:
    """``requests`` GETs per quick path at ``concurrency``, over connections pinned to every worker."""
    run = QuickRun()
    per_worker = max(1, math.ceil(2 * concurrency / max(1, len(server.workers))))
    idle = await pinned_connections(server, per_worker)
    random.shuffle(idle)
    jobs = [QUICK_PATHS[n % len(QUICK_PATHS)] for n in range(requests * len(QUICK_PATHS))]

    async def get(path: str) -> None:
        conn, pid = idle.pop(0)  # round robin over the pinned connections
        started = time.perf_counter()
        try:
            reply, keep = await conn.exchange(get_request(server.host, path))
        except TRANSPORT_ERRORS as exc:
            run.failures += 1
            run.first_error = run.first_error or f"{path}: {exc!r}"
            conn, pid = (await server.connect())[0], 0
            idle.append((conn, pid))
            return
        elapsed = time.perf_counter() - started
        run.latencies[path].append(elapsed)
        run.per_worker.setdefault(pid, []).append(elapsed)
        if reply.status_code != 200:
            run.failures += 1
            run.first_error = run.first_error or f"{path}: HTTP {reply.status_code}: {reply.text[:500]}"
        if keep:
            idle.append((conn, pid))
        else:
            conn.close()
            idle.append(((await server.connect())[0], 0))

    before = cpu_snapshot(server.master)
    run.elapsed = await for_each(jobs, concurrency, get)
    run.cpu = cpu_delta(before, cpu_snapshot(server.master))
    for conn, _ in idle:
        conn.close()
    return run


async def wake_phase(server: Server, polls: list[Poll], rate: float, answer_timeout: float) -> list[Wake]:
    """The wallet links each poll's transaction, one every 1/rate s; returns the timings. The wallet's
    connections are opened before the clock starts (more only if calls overlap)."""
    pool: list[tuple[_Connection, int]] = [await server.connect() for _ in range(4)]
    kept: list[tuple[_Connection, int]] = list(pool)
    wakes: list[Wake] = []

    async def wallet_call(poll: Poll, wake: Wake) -> Reply:
        reused = bool(pool)
        conn, wake.wallet_port = pool.pop() if pool else await server.connect()
        request = json_request(server.host, LINK_PATH, {"linkCode": poll.code})
        wake.started, wake.started_wall = time.perf_counter(), time.time()
        try:
            reply, keep = await conn.exchange(request)
        except (asyncio.IncompleteReadError, ConnectionError):
            conn.close()
            if not reused:
                raise
            # the server closed an idle keep-alive connection (uvicorn's 5 s): retry once on a new one,
            # as browsers and wallets do
            conn, wake.wallet_port = await server.connect()
            wake.started, wake.started_wall = time.perf_counter(), time.time()
            try:
                reply, keep = await conn.exchange(request)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        wake.replied, wake.replied_wall = time.perf_counter(), time.time()
        if keep:
            pool.append((conn, wake.wallet_port))
            kept.append((conn, wake.wallet_port))
        else:
            conn.close()
        return reply

    async def one(poll: Poll, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        wake = Wake(poll.worker)
        wakes.append(wake)
        poll.woken = True
        try:
            reply = await wallet_call(poll, wake)
        except TRANSPORT_ERRORS as exc:
            wake.error = f"wallet: {exc!r}"
            return
        body = envelope_of(reply)
        if reply.status_code != 200 or body.get("errors") or "linkTransactionId" not in (body.get("response") or {}):
            wake.error = f"wallet: HTTP {reply.status_code}: {reply.text[:500]}"
            return
        assert poll.task is not None
        try:
            await asyncio.wait_for(asyncio.shield(poll.task), answer_timeout)
        except TimeoutError:
            wake.error = f"no answer within {answer_timeout:.0f} s of the wallet call"
            return
        wake.answered, wake.answered_wall = poll.answered_at, poll.answered_wall
        answer = envelope_of(poll.reply).get("response") or {}
        if poll.error or answer.get("linkStatus") != "LINKED":
            wake.error = f"poll: {poll.error or (poll.reply.text[:500] if poll.reply else 'no reply')}"
            return
        try:
            wake.linked_wall = (
                datetime.strptime(answer["linkedDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
            )
        except (KeyError, TypeError, ValueError):
            wake.linked_wall = None

    start = time.perf_counter() + 0.05
    await asyncio.gather(*(one(poll, start + n / rate) for n, poll in enumerate(polls)))
    seen = server_sockets(server.port, server.workers)  # after the clock: scanning /proc takes a while
    for wake in wakes:
        wake.wallet_worker = seen.get(wake.wallet_port, 0)
    for conn, _ in kept:
        conn.close()
    return wakes


# --------------------------------------------------------------------------------------- the held phase


@dataclass
class Results:
    polls: list[Poll] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)
    warm_ok: int = 0
    warm_total: int = 0
    warm_error: str | None = None
    probes: list[tuple[float | None, int]] = field(default_factory=list)
    quick_base: QuickRun | None = None
    quick_held: QuickRun | None = None
    rss_base: dict[int, int] = field(default_factory=dict)
    rss_held: dict[int, int] = field(default_factory=dict)
    fds_held: dict[int, int] = field(default_factory=dict)
    client_rss: tuple[int, int] = (0, 0)
    ramp_seconds: float = 0.0
    connect_seconds: float = 0.0
    ramp_cpu: dict[str, float] = field(default_factory=dict)
    idle_cpu: dict[str, float] = field(default_factory=dict)
    idle_seconds: float = 0.0
    server_view: dict[int, int] = field(default_factory=dict)
    held_after_ramp: int = 0
    early_after_ramp: int = 0
    wakes: list[Wake] = field(default_factory=list)
    wake_cpu: dict[str, float] = field(default_factory=dict)
    wake_pg: str = "-"
    wake_seconds: float = 0.0
    held_at_end: int = 0
    early_at_end: list[Poll] = field(default_factory=list)


async def held_phase(
    server: Server, pairs: list[tuple[str, str]], warm: int, args: argparse.Namespace, results: Results
) -> None:
    results.workers = server.workers
    # warm-up: polls woken by the wallet on both workers (subscribes each worker's Redis listener)
    warm_polls = [Poll(t, c) for t, c in pairs[:warm]]
    await open_polls(server, warm_polls, args.batch)
    await settle(server)
    assign_workers(server, warm_polls)
    warm_wakes = await wake_phase(server, [p for p in warm_polls if p.held], 50.0, args.answer_timeout)
    results.warm_total, results.warm_ok = len(warm_polls), sum(1 for w in warm_wakes if w.error is None)
    if results.warm_ok != results.warm_total:
        results.warm_error = next((w.error for w in warm_wakes if w.error), None) or next(
            (p.error or (p.reply.text[:500] if p.reply else "?") for p in warm_polls if not p.woken), "?"
        )
        log(f"warning: warm-up woke {results.warm_ok} of {results.warm_total} polls; first problem: {results.warm_error}")
    results.probes = await probe_first_look(server, 4)
    answered = [a for a, _ in results.probes if a is not None]
    log(f"first-look probe: {len(answered)} of {len(results.probes)} unknown-transaction polls answered")
    for poll in warm_polls:
        if poll.conn is not None:
            poll.conn.close()
    await quick_phase(server, 50, args.quick_concurrency)
    await settle(server)

    log(
        f"baseline without held polls: {args.quick_requests} requests per quick path at concurrency "
        f"{args.quick_concurrency} ..."
    )
    results.quick_base = await quick_phase(server, args.quick_requests, args.quick_concurrency)
    await settle(server)
    results.rss_base = {pid: rss_kib(pid) for pid in server.workers}
    client_rss_before = rss_kib(os.getpid())

    polls = results.polls = [Poll(t, c) for t, c in pairs[warm:]]
    log(f"ramp: {len(polls)} link-status polls, {args.batch} connections at a time ...")
    before = cpu_snapshot(server.master)
    started = time.perf_counter()
    await open_polls(server, polls, args.batch)
    results.connect_seconds = time.perf_counter() - started
    waited = await settle(server)
    results.ramp_seconds = time.perf_counter() - started - min(waited, 0.5)
    results.ramp_cpu = cpu_delta(before, cpu_snapshot(server.master))
    results.server_view = assign_workers(server, polls)
    results.held_after_ramp = sum(1 for p in polls if p.held)
    results.early_after_ramp = sum(1 for p in polls if p.answered_at is not None)
    log(
        f"ramp done in {results.ramp_seconds:.1f} s: {results.held_after_ramp} held, "
        f"{results.early_after_ramp} answered or failed; server connections per worker {results.server_view}"
    )

    before = cpu_snapshot(server.master)
    await asyncio.sleep(args.idle_seconds)
    results.idle_cpu, results.idle_seconds = cpu_delta(before, cpu_snapshot(server.master)), args.idle_seconds
    results.rss_held = {pid: rss_kib(pid) for pid in server.workers}
    results.fds_held = {pid: open_fds(pid) for pid in server.workers}
    results.client_rss = (client_rss_before, rss_kib(os.getpid()))

    log(f"while {sum(1 for p in polls if p.held)} polls are held: quick paths ...")
    results.quick_held = await quick_phase(server, args.quick_requests, args.quick_concurrency)

    held = [p for p in polls if p.held]
    sample = random.sample(held, min(args.wakes, len(held)))
    log(f"wake-ups: {len(sample)} wallet link-transaction calls at {args.wake_rate:.0f}/s ...")
    before = cpu_snapshot(server.master)
    started = time.perf_counter()
    with PgSampler(args.database_url) as sampler:
        results.wakes = await wake_phase(server, sample, args.wake_rate, args.answer_timeout)
    results.wake_seconds = time.perf_counter() - started
    results.wake_cpu = cpu_delta(before, cpu_snapshot(server.master))
    results.wake_pg = sampler.summary()
    await asyncio.sleep(0.5)
    results.held_at_end = sum(1 for p in polls if p.held)
    results.early_at_end = [p for p in polls if p.answered_at is not None and not p.woken]
    for poll in polls:
        if poll.conn is not None:
            poll.conn.close()
        if poll.task is not None and not poll.task.done():
            poll.task.cancel()
    await asyncio.sleep(0.1)


def run_held_phase(server: Server, pairs: list[tuple[str, str]], warm: int, args: argparse.Namespace) -> Results:
    """``held_phase`` on one event loop; the global timeout (SIGALRM) cancels it there."""
    results = Results()
    timed_out = False

    async def main() -> None:
        nonlocal timed_out
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        previous = signal.getsignal(signal.SIGALRM)

        def on_alarm() -> None:
            nonlocal timed_out
            timed_out = True
            task.cancel()

        loop.add_signal_handler(signal.SIGALRM, on_alarm)
        try:
            await held_phase(server, pairs, warm, args, results)
        finally:
            loop.remove_signal_handler(signal.SIGALRM)
            signal.signal(signal.SIGALRM, previous)

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        if timed_out:
            raise BenchTimeout(f"global timeout of {args.timeout:.0f} s reached") from None
        raise
    return results


# --------------------------------------------------------------------------------------- report


def p50_p99_max(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))} / {ms(max(values))} ms"


def server_log_findings(path: Path, limit: int = 8) -> tuple[int, list[str]]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 0, []
    hits = [line for line in lines if LOG_PATTERN.search(line) and "DeprecationWarning" not in line]
    distinct: list[str] = []
    for line in hits:
        short = re.sub(r"^\[[^]]*\] ", "", line)[:220]
        if short not in distinct:
            distinct.append(short)
        if len(distinct) >= limit:
            break
    return len(hits), distinct


def report(results: Results, args: argparse.Namespace, log_path: Path, load_before: str) -> tuple[list[str], bool]:
    names = {pid: f"w{n + 1}" for n, pid in enumerate(results.workers)}
    polls = results.polls
    early = results.early_at_end
    failed = [p for p in polls if p.error]
    early_answers = [p for p in early if not p.error]
    held = results.held_after_ramp
    base, during = results.quick_base, results.quick_held
    assert base is not None and during is not None
    wakes = results.wakes
    ok = [w for w in wakes if w.error is None and w.answered is not None]
    after_reply = [w.answered - w.replied for w in ok if w.answered is not None]
    after_start = [w.answered - w.started for w in ok if w.answered is not None]
    wallet = [w.replied - w.started for w in wakes if w.replied]
    decided = [w for w in ok if w.linked_wall is not None]
    after_decision = [w.answered_wall - w.linked_wall for w in decided if w.linked_wall is not None]
    to_decision = [w.linked_wall - w.started_wall for w in decided if w.linked_wall is not None]
    decision_to_reply = [w.replied_wall - w.linked_wall for w in decided if w.linked_wall is not None]
    before_reply = sum(1 for v in after_reply if v < 0)
    rss_delta = sum(results.rss_held.values()) - sum(results.rss_base.values())
    cpus = os.cpu_count() or 1

    def worker_split(values: dict[int, int]) -> str:
        return " + ".join(f"{names.get(pid, str(pid))} {count}" for pid, count in sorted(values.items()))

    def busy(cpu: dict[str, float], elapsed: float) -> str:
        if not cpu or elapsed <= 0:
            return "-"
        return (
            f"machine busy {cpu['machine'] / elapsed / cpus * 100:.0f}% (other processes "
            f"{cpu['other'] / elapsed / cpus * 100:.0f}%)"
        )

    def quick_rows(label: str, run: QuickRun) -> list[tuple[str, ...]]:
        rows = [(f"{label} GET {path}", p50_p99_max(run.latencies[path]), "") for path in QUICK_PATHS]
        per = "; ".join(
            f"{names.get(pid, '?')} p99 {ms(percentile(v, 99))} ms ({len(v)})" for pid, v in sorted(run.per_worker.items())
        )
        rows.append(("  per worker", f"{run.failures} failed", per))
        rows.append(
            ("  CPU ms/req server/pg/redis/client/other", per_op(run.cpu, len(run.all())), busy(run.cpu, run.elapsed))
        )
        return rows

    quick_p99 = percentile(during.latencies[QUICK_PATHS[0]], 99)  # the target's quick endpoint: GET /health
    other_p99 = max(percentile(during.latencies[p], 99) for p in QUICK_PATHS[1:])
    base_p99 = percentile(base.latencies[QUICK_PATHS[0]], 99)
    wake_p99 = percentile(after_reply, 99) if after_reply else float("inf")
    probes_ok = bool(results.probes) and all(a is not None for a, _ in results.probes)
    held_ok = held >= TARGET_HELD and not failed and not early and probes_ok  # held *after* their first look
    quick_ok = quick_p99 < TARGET_QUICK_P99 and during.failures == 0
    wake_ok = wake_p99 < TARGET_WAKE_P99 and len(ok) == len(wakes) and len(wakes) > 0

    wake_per_worker: dict[int, list[float]] = {}
    for w in ok:
        if w.answered is not None:
            wake_per_worker.setdefault(w.worker, []).append(w.answered - w.replied)
    cross = sum(1 for w in ok if w.wallet_worker and w.wallet_worker != w.worker)
    probe_ok = [a for a, _ in results.probes if a is not None]
    probe_workers = sorted({names.get(w, "?") for _, w in results.probes})
    rows: list[tuple[str, ...]] = [
        (
            "first-look probe: link-status, unknown transaction",
            f"{len(probe_ok)} of {len(results.probes)} answered",
            (f"max {ms(max(probe_ok))} ms" if probe_ok else "none within 5 s: polls never reach their first database look")
            + f" (workers {', '.join(probe_workers)})",
        ),
        (
            "polls held after the ramp",
            f"{held} of {len(polls)}",
            f"server connections {worker_split(results.server_view)}; ramp {results.ramp_seconds:.1f} s "
            f"({len(polls) / max(results.ramp_seconds, 1e-9):.0f} polls/s; connects {results.connect_seconds:.1f} s)",
        ),
        (
            "  answered before any wallet call / failed",
            f"{len(early_answers)} / {len(failed)}",
            f"still held at the end {results.held_at_end} (expected {len(polls) - len(wakes)})",
        ),
        (
            "  ramp CPU ms/poll server/pg/redis/client/other",
            per_op(results.ramp_cpu, len(polls)),
            busy(results.ramp_cpu, results.ramp_seconds),
        ),
        (
            "  server CPU while held and idle",
            f"{results.idle_cpu.get('server', 0) / results.idle_seconds * 100:.1f}%",
            f"of one core, over {results.idle_seconds:.0f} s; {busy(results.idle_cpu, results.idle_seconds)}",
        ),
        (
            "  worker RSS without / with held polls (MiB)",
            " + ".join(f"{results.rss_base.get(p, 0) // 1024}" for p in results.workers)
            + " / "
            + " + ".join(f"{results.rss_held.get(p, 0) // 1024}" for p in results.workers),
            f"{rss_delta / max(held, 1):.1f} KiB per held poll; open fds "
            + " + ".join(str(results.fds_held.get(p, 0)) for p in results.workers)
            + f"; client RSS {results.client_rss[0] // 1024} → {results.client_rss[1] // 1024} MiB",
        ),
        ("quick endpoints, no held polls  (p50 / p99 / max)", "", ""),
        *quick_rows(" ", base),
        (f"quick endpoints, {held} polls held  (p50 / p99 / max)", "", ""),
        *quick_rows(" ", during),
        (
            "wake: poll LINKED after the wallet's reply",
            p50_p99_max(after_reply),
            f"{len(ok)} of {len(wakes)} woken; {before_reply} answered before the wallet's reply arrived (negative)",
        ),
        ("wake: poll LINKED after the wallet call's start", p50_p99_max(after_start), ""),
        (
            "wake: poll LINKED after the link decision (linkedDateTime)",
            p50_p99_max(after_decision),
            "the server's link_transaction start → the poll's answer (commit, publish, wake, look, reply)",
        ),
        (
            "wake: the wallet call (link-transaction)",
            p50_p99_max(wallet),
            f"{cross} of {len(ok)} woken across workers (Redis pub/sub)",
        ),
        ("  call start → link decision", p50_p99_max(to_decision), "HTTP, middleware, waiting for a Flask thread"),
        (
            "  link decision → wallet's reply",
            p50_p99_max(decision_to_reply),
            f"queries, audit, COMMIT, publish, reply; PG conns advisory-lock wait/other lock/idle in txn/active "
            f"{results.wake_pg}",
        ),
        (
            "  per poll worker p99 after the reply",
            "; ".join(
                f"{names.get(pid, '?')} {ms(percentile(v, 99))} ms ({len(v)})" for pid, v in sorted(wake_per_worker.items())
            ),
            "",
        ),
        (
            "  CPU ms/wake server/pg/redis/client/other",
            per_op(results.wake_cpu, len(wakes)),
            f"{len(wakes) / max(results.wake_seconds, 1e-9):.1f} wakes/s; {busy(results.wake_cpu, results.wake_seconds)}",
        ),
        (
            f"target: held polls >= {TARGET_HELD}",
            "met" if held_ok else "NOT met",
            f"{held} held" + ("" if probes_ok else " but stuck before their first look (see the probe)"),
        ),
        (
            f"target: quick p99 < {TARGET_QUICK_P99 * 1000:.0f} ms while held",
            "met" if quick_ok else "NOT met",
            f"GET {QUICK_PATHS[0]} p99 {ms(quick_p99)} ms ({ms(base_p99)} ms with no held polls; discovery "
            f"{ms(other_p99)} ms)",
        ),
        (
            f"target: wake p99 < {TARGET_WAKE_P99 * 1000:.0f} ms",
            "met" if wake_ok else "NOT met",
            f"p99 {ms(wake_p99)} ms after the wallet's reply" if after_reply else "no held poll answered a wallet call",
        ),
    ]
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "",
        f"idbb long-poll benchmark  ({time.strftime('%Y-%m-%d %H:%M:%S')}, {cpus} CPU(s) shared by client, server, "
        f"PostgreSQL and Redis; load average {load_before} before, {load} after)",
        f"  server: gunicorn + UvicornWorker, {args.workers} worker(s) ({', '.join(f'{n}={p}' for p, n in names.items())}), "
        f"PostgreSQL, Redis wake-ups, IDBB_LONG_POLL_TIMEOUT {args.poll_timeout:.0f} s; "
        f"open-file limit {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}",
        f"  polls: {len(polls)} link-status on as many connections, {args.batch} opened at a time; quick paths: "
        f"{args.quick_requests} requests each at concurrency {args.quick_concurrency}; wakes: {len(wakes)} at "
        f"{args.wake_rate:.0f}/s; warm-up {results.warm_ok}/{results.warm_total} woken",
        "",
        *table(rows, left=(0, 2)),
    ]
    if base.first_error or during.first_error:
        lines.append(f"  first quick error: {base.first_error or during.first_error}")
    if failed:
        lines.append(f"  first poll failure ({len(failed)}): {failed[0].error}")
    if early_answers:
        reply = early_answers[0].reply
        lines.append(f"  first early answer ({len(early_answers)}): {reply.text[:500] if reply else '?'}")
    if results.warm_error:
        lines.append(f"  warm-up: {results.warm_ok} of {results.warm_total} woken; first problem: {results.warm_error}")
    first_wake_error = next((w.error for w in wakes if w.error), None)
    if first_wake_error:
        lines.append(f"  first wake error ({sum(1 for w in wakes if w.error)}): {first_wake_error}")
    count, distinct = server_log_findings(log_path)
    lines.append(f"  server log: {count} warning/error line(s)" + (":" if distinct else ""))
    lines += [f"    {line}" for line in distinct]
    return lines, held_ok and quick_ok and wake_ok


# --------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=5000, help="link-status polls to hold (default 5000)")
    parser.add_argument("--wakes", type=int, default=300, help="held polls the wallet wakes (default 300)")
    parser.add_argument("--wake-rate", type=float, default=20.0, help="wallet calls per second (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--batch", type=int, default=250, help="poll connections opened at a time (default 250)")
    parser.add_argument(
        "--quick-requests",
        type=int,
        default=500,
        help="requests per quick path (/health, discovery) per measurement (default 500)",
    )
    parser.add_argument("--quick-concurrency", type=int, default=4, help="quick requests in flight (default 4)")
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=10.0,
        help="seconds a woken poll may take to answer before it counts as failed (default 10)",
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=3.0, help="seconds of idle holding for the server's idle CPU (default 3)"
    )
    parser.add_argument(
        "--db-pool-size", type=int, default=None, help="IDBB_DB_POOL_SIZE per worker (default: the server's default)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to DROP and re-create for the run (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help=f"Redis for the cross-worker wake-ups (default {DEFAULT_REDIS_URL})"
    )
    parser.add_argument("--timeout", type=float, default=900, help="global time limit in seconds (default 900)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    for name in ("polls", "wakes", "workers", "batch", "quick_requests", "quick_concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.wakes > args.polls:
        parser.error("--wakes must not exceed --polls")
    if not args.redis_url:
        parser.error("--redis-url is required: the workers wake each other's polls through Redis")
    args.poll_timeout = args.timeout + 120  # no poll may time out during the run
    return args


def main() -> int:
    args = parse_args()
    arm_timeout(args.timeout)
    return run_bench(
        BenchRun(args.database_url, "idbb-bench-longpoll-"),
        lambda run: measure(run, args),
        keep_database=args.keep_database,
        keep_logs=lambda code: code not in (0, 2),
    )


def measure(run: BenchRun, args: argparse.Namespace) -> int:
    """The benchmark proper; ``run_bench`` cleans up after it."""
    nofile = raise_nofile()
    needed = args.polls + 200
    if nofile[0] < needed:
        log(f"warning: open-file limit {nofile[0]} is below the {needed} sockets the client needs")
    lifetime = str(int(args.timeout) + 600)
    extra = {
        "IDBB_REDIS_URL": args.redis_url,
        "IDBB_LONG_POLL_TIMEOUT": str(args.poll_timeout),
        "IDBB_LINK_CODE_TTL": lifetime,
        "IDBB_AUTHORIZE_TTL": lifetime,
        "IDBB_LINKED_TRANSACTION_TTL": lifetime,
    }
    if args.db_pool_size:
        extra["IDBB_DB_POOL_SIZE"] = str(args.db_pool_size)
    env = server_env(run.base, run.port, args.database_url, args.workers, **extra)
    warm = 8 * args.workers
    log(
        f"repo {run.cwd}; database {args.database_url}; redis {args.redis_url}; port {run.port}; "
        f"workers {args.workers}; {args.polls} polls, {args.wakes} wakes; open-file limit {nofile[0]}; "
        f"{os.cpu_count()} CPU(s)"
    )
    run.create_database(env)
    admin = run.add_api_client(env, "bench-admin", ADMIN_SCOPES)
    load_before = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    proc = run.start(env, args.workers)
    client_id = register_rp(run.base, run.access_token(admin, ADMIN_SCOPES))
    log(
        f"relying party {client_id} registered over HTTP; in-process set-up: {args.polls + warm} transactions "
        f"with a link code each ..."
    )
    seeded = time.perf_counter()
    pairs = seed_in_process(env, client_id, args.polls + warm)
    log(f"set-up done in {time.perf_counter() - seeded:.1f} s")

    server = Server(run.port, proc.pid)
    if len(server.workers) != args.workers:
        raise RuntimeError(f"expected {args.workers} workers under pid {proc.pid}, found {server.workers}")
    results = run_held_phase(server, pairs, warm, args)
    lines, met = report(results, args, run.log_path, load_before)
    print("\n".join(lines), flush=True)
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
