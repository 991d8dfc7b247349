"""OpenID Provider benchmark against the real server: token exchanges and complete logins (run by hand; not a test).

    python bench/oidc.py [--exchanges N] [--flows M] [--concurrency C] [--flow-concurrency F] [--workers W]
                         [--client lean|httpx] [--database-url URL] [--redis-url URL]

What it does, all on 127.0.0.1 and bounded by N, M and a global timeout:

1. drops and re-creates a PostgreSQL database for the run, sets ``IDBB_*`` (profile ``development`` with the
   issuer ``http://127.0.0.1:<port>``, a random KEK, ``IDBB_CODE_TTL=600`` so codes minted in the set-up
   outlive the run, Redis for the replay store), runs ``idbb init-db`` and registers an API client for
   client management (``client_secret_basic``);
2. measures the baselines before the server starts: jwcrypto signing of a typical ID token (ES256, RS256; one
   core; and ``cryptography`` alone), argon2id verification at the configured parameters (one thread, and
   two processes for two cores);
3. starts ``gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w W`` and waits for ``/health``;
4. registers two relying parties over HTTP (``POST /client-mgmt/oidc-client``, private_key_jwt with an RSA
   key, ``additionalConfig.id_token_signed_response_alg`` ES256 resp. RS256) and, in this process through the
   app's services against the same database, enrolls citizens with a PIN and mints N authorization codes per
   relying party (``grants.issue_code`` on a request parsed by ``authorize_request.parse``; PKCE S256, a
   verifier per code); warms every path up;
5. ``GET /health`` at concurrency C as the HTTP baseline; then, per algorithm, N token exchanges
   (``POST /oauth/token``: authorization_code + PKCE + private_key_jwt, the client assertions pre-signed with
   PyJWT before the clock starts) at concurrency C; then, per algorithm, M complete login flows at
   concurrency F, each with its own cookies: ``GET /authorize`` (prompt=consent) → ``POST /authorize/login``
   (PIN) → ``POST /authorize/consent`` → ``POST /oauth/token`` → ``GET /oidc/userinfo``;
6. prints one table with the ratios, stops the server (its process group) and drops the database.

The load generator is this process: one asyncio loop with a minimal keep-alive HTTP/1.1 client (``--client
httpx`` for httpx.AsyncClient, which costs 2-3 ms of client CPU per request here against ~0.4 ms). It
shares the machine with the server, PostgreSQL and Redis, so each phase reports CPU milliseconds per
operation for each of them and for everything else on the machine (``other``: other sessions, the kernel),
read from ``/proc``, and samples ``pg_stat_activity`` to show where the server's database connections wait.
"""

import argparse
import asyncio
import base64
import hashlib
import html
import importlib.util
import json
import multiprocessing
import os
import random
import re
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt as pyjwt
import psycopg
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

# the one-step enrollment benchmark next door: database, server and load helpers (``python bench/oidc.py``
# puts bench/ first on sys.path)
from enrollment import (
    BenchRun,
    Run,
    arm_timeout,
    for_each,
    free_port,
    log,
    maintenance_conninfo,
    percentile,
    random_name,
    run_bench,
    server_env,
    start_server,
    stop_server,
    tail,
    wait_healthy,
)
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode
from jwt.algorithms import RSAAlgorithm

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/idbb_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT = "https://rp.example/callback"
SCOPE = "openid profile"
RP_CLAIMS = ["name", "given_name", "family_name", "birthdate", "email"]
ADMIN_SCOPES = "add_oidc_client read_oidc_client"
ALGS = ("ES256", "RS256")
ASSERTION_LIFETIME = 280  # idbb refuses assertions whose exp is more than IDBB_ASSERTION_MAX_LIFETIME (300 s) ahead
TARGET_EXCHANGES = 1000.0
TARGET_FLOW_RATIO = 0.8
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENTS = ("lean", "httpx")

if importlib.util.find_spec("sniffio") is None:
    # httpcore 1.0.x tries ``import sniffio`` on every lock it sets up; without sniffio (anyio >= 4.11 no
    # longer installs it) each failed import searches sys.path again, about a millisecond of client CPU per
    # request (encode/httpcore#1103). A None entry makes the import fail at once; httpcore then assumes asyncio.
    sys.modules["sniffio"] = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------- baselines


def typical_id_token_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://idbb.example.gov",
        "sub": base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode(),
        "aud": "rp-0a1b2c3d",
        "azp": "rp-0a1b2c3d",
        "exp": now + 600,
        "iat": now,
        "auth_time": now - 5,
        "acr": "idbb:acr:static-code",
        "amr": ["pin"],
        "at_hash": "x5Vd2a0qGv0c3m3yPj0Q6w",
        "nonce": secrets.token_urlsafe(8),
        "sid": secrets.token_urlsafe(24),
    }


def jwcrypto_sign_rate(alg: str, seconds: float) -> float:
    """Compact JWS signatures per second, one thread, as ``app.formats.jose.sign_jwt`` makes them."""
    key = (
        jwk.JWK.generate(kty="EC", crv="P-256", kid="bench")
        if alg == "ES256"
        else jwk.JWK.generate(kty="RSA", size=2048, kid="bench")
    )
    claims = typical_id_token_claims()
    header = json_encode({"alg": alg, "kid": key.get("kid"), "typ": "JWT"})
    count = 0
    started = time.perf_counter()
    while True:
        token = jws.JWS(json_encode(claims).encode("utf-8"))
        token.add_signature(key, alg=alg, protected=header)
        token.serialize(compact=True)
        count += 1
        if count % 16 == 0 and time.perf_counter() - started >= seconds:
            break
    return count / (time.perf_counter() - started)


def raw_sign_rate(alg: str, seconds: float) -> float:
    """``cryptography`` signatures per second over a JWS signing input of the same size (no JOSE layer)."""
    message = os.urandom(400)
    if alg == "ES256":
        ec_key = ec.generate_private_key(ec.SECP256R1())

        def sign() -> None:
            ec_key.sign(message, ec.ECDSA(hashes.SHA256()))
    else:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        def sign() -> None:
            rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    count = 0
    started = time.perf_counter()
    while True:
        sign()
        count += 1
        if count % 16 == 0 and time.perf_counter() - started >= seconds:
            break
    return count / (time.perf_counter() - started)


def _argon2_loop(params: tuple[int, int, int, float]) -> tuple[int, float]:
    memory, time_cost, parallelism, seconds = params
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory, parallelism=parallelism)
    stored = hasher.hash("482913")
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        hasher.verify(stored, "482913")
        count += 1
    return count, time.perf_counter() - started


def argon2_rates(memory: int, time_cost: int, parallelism: int, seconds: float) -> tuple[float, float]:
    """argon2id verifications per second: one thread, and two processes (two cores) together."""
    count, elapsed = _argon2_loop((memory, time_cost, parallelism, seconds))
    single = count / elapsed
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_argon2_loop, [(memory, time_cost, parallelism, seconds)] * 2)
    both = sum(c for c, _ in results) / max(e for _, e in results)
    return single, both


# --------------------------------------------------------------------------------------- CPU accounting


def _ticks(pid: int) -> tuple[str, int, int] | None:
    """(comm, ppid, utime + stime in ticks) of a process, from /proc (None when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return comm, int(rest[1]), int(rest[11]) + int(rest[12])


def _machine_busy_ticks() -> int:
    """Busy ticks of all CPUs since boot (/proc/stat: user nice system idle iowait irq softirq steal)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[0] + values[1] + values[2] + values[5] + values[6]


def cpu_snapshot(master_pid: int) -> dict[int, tuple[str, int]]:
    """Ticks per process of interest (the server's master and workers, PostgreSQL, Redis, this process) and,
    under pid 0, the whole machine's busy ticks."""
    out: dict[int, tuple[str, int]] = {0: ("machine", _machine_busy_ticks())}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        info = _ticks(pid)
        if info is None:
            continue
        comm, ppid, ticks = info
        if pid == master_pid or ppid == master_pid:
            out[pid] = ("server", ticks)
        elif comm.startswith("postgres"):
            out[pid] = ("postgres", ticks)
        elif comm.startswith("redis-server"):
            out[pid] = ("redis", ticks)
        elif pid == me:
            out[pid] = ("client", ticks)
    return out


CPU_GROUPS = ("server", "postgres", "redis", "client", "other")


def cpu_delta(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]) -> dict[str, float]:
    """CPU seconds per group between two snapshots (a process born in between counts from zero); ``other``
    is everything else that ran on the machine meanwhile (other sessions' tests, the kernel)."""
    groups = dict.fromkeys((*CPU_GROUPS, "machine"), 0.0)
    for pid, (group, ticks) in after.items():
        start = before.get(pid, (group, 0))[1]
        groups[group] += max(0, ticks - start) / CLK_TCK
    groups["other"] = max(0.0, groups["machine"] - sum(groups[g] for g in CPU_GROUPS if g != "other"))
    return groups


class PgSampler:
    """Samples ``pg_stat_activity`` of the bench database every 50 ms in a thread while a phase runs: how many
    server connections wait on the audit chain's advisory lock, on other locks, sit idle inside a transaction
    (waiting for their Python thread), or run a statement."""

    KINDS = ("advisory lock", "other lock", "idle in transaction", "active")

    def __init__(self, database_url: str) -> None:
        self._info, self._name = maintenance_conninfo(database_url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0
        self.totals = dict.fromkeys(self.KINDS, 0)

    def _run(self) -> None:
        query = (
            "SELECT wait_event_type, wait_event, state FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        )
        try:
            with psycopg.connect(**self._info, autocommit=True) as conn:
                while not self._stop.wait(0.05):
                    rows = conn.execute(query, (self._name,)).fetchall()
                    self.samples += 1
                    for wait_type, wait_event, state in rows:
                        if wait_type == "Lock":
                            self.totals["advisory lock" if wait_event == "advisory" else "other lock"] += 1
                        elif state == "idle in transaction":
                            self.totals["idle in transaction"] += 1
                        elif state == "active":
                            self.totals["active"] += 1
        except psycopg.Error:
            pass

    def __enter__(self) -> "PgSampler":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def summary(self) -> str:
        if not self.samples:
            return "-"
        return " / ".join(f"{self.totals[k] / self.samples:.1f}" for k in self.KINDS)


# --------------------------------------------------------------------------------------- HTTP clients


@dataclass
class Reply:
    """What the load phases read from a response, whichever client fetched it."""

    status_code: int
    headers: dict[str, str]  # lower-case names; the last value of a repeated header
    set_cookies: list[str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[Reply, bool]:
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                headers[name] = value
                if name == "set-cookie":
                    cookies.append(value)
        keep_alive = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while (await self.reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body, keep_alive = await self.reader.read(), False
        return Reply(status, headers, cookies, body), keep_alive

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator shares the two cores with
    the server, and httpx spends one to several milliseconds of CPU per request (its connection pool scans
    every connection per request), far more than this. One idle connection list; callers bound concurrency."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._host_header = f"Host: {parts.netloc}\r\n"
        self._idle: list[_Connection] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        target = f"{path}?{urlencode(params, doseq=True)}" if params else path
        lines = [f"{method} {target} HTTP/1.1\r\n", self._host_header]
        lines += [f"{k}: {v}\r\n" for k, v in (headers or {}).items()]
        body = urlencode(data, doseq=True).encode("ascii") if data is not None else b""
        if data is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded\r\n")
        if data is not None or method == "POST":
            lines.append(f"Content-Length: {len(body)}\r\n")
        request = "".join(lines).encode("latin-1") + b"\r\n" + body
        conn = self._idle.pop() if self._idle else _Connection(*await asyncio.open_connection(self.host, self.port))
        try:
            reply, keep_alive = await conn.exchange(request)
        except BaseException:
            conn.close()
            raise
        if keep_alive:
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def get(self, path: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(self, path: str, *, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
        return await self.request("POST", path, data=data, headers=headers)

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


class HttpxClient:
    """The same interface on httpx.AsyncClient (``--client httpx``), cookies never stored (each flow keeps its own)."""

    def __init__(self, base: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(120.0), follow_redirects=False)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        response = await self._client.request(method, path, params=params, data=data, headers=headers)
        self._client.cookies.clear()
        return Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.headers.get_list("set-cookie"),
            response.content,
        )

    async def get(self, path: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(self, path: str, *, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
        return await self.request("POST", path, data=data, headers=headers)

    async def aclose(self) -> None:
        await self._client.aclose()


Client = LeanClient | HttpxClient
TRANSPORT_ERRORS = (httpx.HTTPError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


def make_client(kind: str, base: str, concurrency: int) -> Client:
    return LeanClient(base) if kind == "lean" else HttpxClient(base, concurrency)


async def drive_requests(kind: str, base: str, jobs: list[Any], concurrency: int, send: Any, expected: int) -> Run:
    """Run ``send(client, job)`` for every job with ``concurrency`` requests in flight (as bench/enrollment.py's
    ``drive``, on either client)."""
    run = Run()
    client = make_client(kind, base, concurrency)
    try:
        run.elapsed = await for_each(jobs, concurrency, lambda job: run.timed(send(client, job), expected, TRANSPORT_ERRORS))
    finally:
        await client.aclose()
    return run


# --------------------------------------------------------------------------------------- relying parties


@dataclass
class RelyingParty:
    alg: str
    client_id: str
    private_key: rsa.RSAPrivateKey  # an object: given PEM, PyJWT re-parses and re-checks the RSA key per call (~45 ms)
    assertion_aud: str

    def assertions(self, count: int) -> list[str]:
        """Pre-signed private_key_jwt assertions (RFC 7523), each with its own jti."""
        now = int(time.time())
        return [
            pyjwt.encode(
                {
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "aud": self.assertion_aud,
                    "iat": now,
                    "exp": now + ASSERTION_LIFETIME,
                    "jti": uuid.uuid4().hex,
                },
                self.private_key,
                algorithm="RS256",
            )
            for _ in range(count)
        ]


def register_rp(base: str, admin_token: str, alg: str) -> RelyingParty:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_id = f"bench-{alg.lower()}-{uuid.uuid4().hex[:6]}"
    request = {
        "clientId": client_id,
        "clientName": f"Bench portal {alg}",
        "relyingPartyId": f"bench-{client_id}",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": [REDIRECT],
        "authContextRefs": ["idbb:acr:static-code"],
        "publicKey": RSAAlgorithm.to_jwk(private.public_key(), as_dict=True),
        "userClaims": RP_CLAIMS,
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
        "additionalConfig": {"id_token_signed_response_alg": alg},
    }
    request_time = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    response = httpx.post(
        base + "/client-mgmt/oidc-client",
        json={"requestTime": request_time, "request": request},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    if response.status_code != 200 or response.json().get("errors"):
        raise RuntimeError(
            f"registering the {alg} relying party failed: HTTP {response.status_code}: {response.text[:2000]}"
        )
    return RelyingParty(alg, client_id, private, base + "/oauth/token")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Citizen:
    uin: str
    pin: str
    identity_id: str


@dataclass
class Code:
    code: str
    verifier: str


def seed_in_process(
    env: dict[str, str], rps: list[RelyingParty], citizens: int, codes_per_rp: int
) -> tuple[list[Citizen], dict[str, list[Code]]]:
    """Enroll citizens with a PIN and mint authorization codes, through the app's services (same database)."""
    from dataclasses import replace

    from sqlalchemy import select

    from app import create_app
    from app.config import Settings
    from app.extensions import db
    from app.models.enrollment import Enrollment
    from app.models.registry import Identity
    from app.services.enrollment import enrollments
    from app.services.oidc import authorize_flow, grants
    from app.services.oidc.authorize_request import parse

    cx = create_app(Settings.from_env(env))
    rng = random.Random()
    people: list[Citizen] = []
    minted: dict[str, list[Code]] = {}
    with cx.app.app_context():
        for n in range(citizens):
            enrollment_id = f"E-bench-{uuid.uuid4().hex[:10]}"
            pin = f"{rng.randint(0, 999999):06d}"
            bio = {
                "firstName": random_name(rng),
                "lastName": f"{random_name(rng)}{n}",
                "dateOfBirth": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "gender": rng.choice("MF"),
                "email": f"citizen{n}@example.org",
                "phoneNumber": f"+2217000{n:05d}",
            }
            enrollments.create(
                enrollment_id,
                {
                    "enrollmentType": "CITIZEN",
                    "biographicData": bio,
                    "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"pin": pin}},
                },
                finalize=True,
                client_id="bench-setup",
                transaction_id=enrollment_id,
            )
            identity_id = db.session.get(Enrollment, enrollment_id).identity_id
            uin = db.session.execute(select(Identity.uin).where(Identity.identity_id == identity_id)).scalar_one()
            people.append(Citizen(uin, pin, identity_id))
        db.session.commit()
        for rp in rps:
            _, challenge = pkce_pair()
            request, _client = parse(
                {
                    "client_id": [rp.client_id],
                    "redirect_uri": [REDIRECT],
                    "response_type": ["code"],
                    "scope": [SCOPE],
                    "state": ["s"],
                    "nonce": [secrets.token_urlsafe(8)],
                    "code_challenge": [challenge],
                    "code_challenge_method": ["S256"],
                },
                available_acrs=authorize_flow.available_acrs(),
            )
            accepted = request.essential_claims() + request.voluntary_claims()  # what the consent page checks
            codes = []
            for n in range(codes_per_rp):
                verifier, challenge = pkce_pair()
                person = people[n % len(people)]
                code = grants.issue_code(
                    replace(request, code_challenge=challenge, nonce=secrets.token_urlsafe(8)),
                    identity_id=person.identity_id,
                    amr=["pin"],
                    acr="idbb:acr:static-code",
                    auth_time=int(time.time()),
                    session_id=None,
                    accepted_claims=accepted,
                    scopes=list(request.scope),
                )
                codes.append(Code(code, verifier))
                if n % 250 == 249:
                    db.session.commit()
            db.session.commit()
            minted[rp.alg] = codes
        db.session.remove()
        db.engine.dispose()
    return people, minted


# --------------------------------------------------------------------------------------- login flows

_FORM = re.compile(r'<form id="(?P<id>[^"]+)"[^>]*>(?P<body>.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"')
_CLAIM_BOX = re.compile(r'<input type="checkbox" name="claims" value="(?P<value>[^"]*)"[^>]*\bchecked\b')


def page_form(text: str, form_id: str) -> tuple[dict[str, str], list[str]] | None:
    """The hidden fields and the checked ``claims`` boxes of one form of a page (None: no such form)."""
    for match in _FORM.finditer(text):
        if match.group("id") == form_id:
            body = match.group("body")
            hidden = {m.group("name"): html.unescape(m.group("value")) for m in _HIDDEN.finditer(body)}
            return hidden, [html.unescape(m.group("value")) for m in _CLAIM_BOX.finditer(body)]
    return None


def take_cookies(response: Reply, jar: dict[str, str]) -> None:
    for line in response.set_cookies:
        name, _, value = line.split(";", 1)[0].partition("=")
        jar[name.strip()] = value.strip()


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}


class FlowFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step


STEPS = ("authorize", "login", "consent", "token", "userinfo")


@dataclass
class FlowRun:
    latencies: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    failures: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    elapsed: float = 0.0

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0


async def one_flow(
    client: Client, issuer: str, rp: RelyingParty, person: Citizen, assertion: str, steps: dict[str, list[float]]
) -> None:
    jar: dict[str, str] = {}  # this flow's browser
    verifier, challenge = pkce_pair()
    state_value = secrets.token_urlsafe(8)
    params = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPE,
        "state": state_value,
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "consent",
    }

    def check(step: str, response: Reply, status: int, started: float) -> None:
        steps[step].append(time.perf_counter() - started)
        if response.status_code != status:
            raise FlowFailed(step, f"HTTP {response.status_code}: {response.text[:1500]}")

    started = time.perf_counter()
    response = await client.get("/authorize", params=params)
    check("authorize", response, 200, started)
    take_cookies(response, jar)
    found = page_form(response.text, "pin-form")
    if found is None:
        raise FlowFailed("authorize", "no pin-form on the login page")
    fields = {**found[0], "method": "pin", "identifier": person.uin, "secret": person.pin}

    started = time.perf_counter()
    response = await client.post("/authorize/login", data=fields, headers=cookie_header(jar))
    check("login", response, 200, started)
    take_cookies(response, jar)
    found = page_form(response.text, "consent-form")
    if found is None:
        raise FlowFailed("login", f"no consent-form after login: {response.text[:600]}")
    hidden, claims = found

    started = time.perf_counter()
    response = await client.post(
        "/authorize/consent", data={**hidden, "claims": claims, "decision": "accept"}, headers=cookie_header(jar)
    )
    check("consent", response, 303, started)
    got = {k: v[0] for k, v in parse_qs(urlsplit(response.headers.get("location", "")).query).items()}
    if got.get("state") != state_value or "code" not in got or got.get("iss") != issuer:
        raise FlowFailed("consent", f"bad redirect {response.headers.get('location')!r}")

    started = time.perf_counter()
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": got["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    check("token", response, 200, started)
    access = response.json()["access_token"]

    started = time.perf_counter()
    response = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    check("userinfo", response, 200, started)


async def drive_flows(
    kind: str, base: str, rp: RelyingParty, people: list[Citizen], assertions: list[str], concurrency: int
) -> FlowRun:
    """Complete logins with ``concurrency`` flows in flight; consecutive flows use different citizens, so
    flows in flight never share an identifier (and its login-throttle row)."""
    run = FlowRun()
    client = make_client(kind, base, concurrency)

    async def flow(n: int) -> None:
        started = time.perf_counter()
        try:
            await one_flow(client, base, rp, people[n % len(people)], assertions[n], run.steps)
            run.latencies.append(time.perf_counter() - started)
        except FlowFailed as failed:
            run.failures[failed.step] = run.failures.get(failed.step, 0) + 1
            run.first_error = run.first_error or str(failed)
        except TRANSPORT_ERRORS as exc:
            run.failures["transport"] = run.failures.get("transport", 0) + 1
            run.first_error = run.first_error or repr(exc)

    try:
        run.elapsed = await for_each(range(len(assertions)), concurrency, flow)
    finally:
        await client.aclose()
    return run


# --------------------------------------------------------------------------------------- token exchanges


def exchange_form(code: Code, assertion: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code.code,
        "redirect_uri": REDIRECT,
        "code_verifier": code.verifier,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }


def jose_alg(token: str) -> str:
    segment = token.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))).get("alg"))


def check_sample_exchange(base: str, rp: RelyingParty, code: Code) -> str:
    """One exchange outside the measurement: the ID token must be signed with the registered algorithm."""
    response = httpx.post(base + "/oauth/token", data=exchange_form(code, rp.assertions(1)[0]), timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"sample {rp.alg} exchange failed: HTTP {response.status_code}: {response.text[:2000]}")
    body = response.json()
    got = jose_alg(body["id_token"])
    if got != rp.alg:
        raise RuntimeError(f"the {rp.alg} relying party got an ID token signed with {got}")
    return f"id_token {got}, access_token {jose_alg(body['access_token'])}"


# --------------------------------------------------------------------------------------- stack floor

FLOOR_SCHEMA = (
    "CREATE TABLE floor_clients (client_id text PRIMARY KEY, public_jwk text NOT NULL, id_token_alg text NOT NULL)",
    "CREATE TABLE floor_codes (code_hash text PRIMARY KEY, client_id text NOT NULL, redirect_uri text NOT NULL, "
    "code_challenge text NOT NULL, nonce text NOT NULL, subject text NOT NULL, used_at bigint, expires_at bigint NOT NULL)",
)


def seed_floor(database_url: str, rps: list[RelyingParty], codes_per_rp: int) -> dict[str, list[Code]]:
    """The floor app's clients (the relying parties' keys and ID-token algorithms) and codes, in the run's database."""
    info, _ = maintenance_conninfo(database_url)
    info = {**info, "dbname": database_url.rsplit("/", 1)[1].split("?", 1)[0]}
    minted: dict[str, list[Code]] = {}
    expires = int(time.time()) + 600
    with psycopg.connect(**info) as conn:
        for statement in FLOOR_SCHEMA:
            conn.execute(statement)
        for rp in rps:
            public = RSAAlgorithm.to_jwk(rp.private_key.public_key())
            conn.execute("INSERT INTO floor_clients VALUES (%s, %s, %s)", (rp.client_id, public, rp.alg))
            codes, rows = [], []
            for _ in range(codes_per_rp):
                code, (verifier, challenge) = secrets.token_urlsafe(32), pkce_pair()
                codes.append(Code(code, verifier))
                rows.append(
                    (
                        hashlib.sha256(code.encode()).hexdigest(),
                        rp.client_id,
                        REDIRECT,
                        challenge,
                        secrets.token_urlsafe(8),
                        secrets.token_urlsafe(32),
                        expires,
                    )
                )
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO floor_codes (code_hash, client_id, redirect_uri, code_challenge, "
                    "nonce, subject, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            minted[rp.alg] = codes
    return minted


# --------------------------------------------------------------------------------------- report


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def per_op(cpu: dict[str, float], ops: int) -> str:
    if not ops:
        return "-"
    return " / ".join(f"{cpu[g] / ops * 1000:.2f}" for g in CPU_GROUPS)


def table(rows: list[tuple[str, ...]], indent: str = "  ", left: tuple[int, ...] = (0,)) -> list[str]:
    """Fixed-width columns: those in ``left`` left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows if len(r) > i) for i in range(max(len(r) for r in rows))]
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i in left else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        out.append(indent + "   ".join(cells).rstrip())
    return out


# --------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=2000, help="token exchanges per algorithm (default 2000)")
    parser.add_argument("--flows", type=int, default=300, help="complete login flows per algorithm (default 300)")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="requests in flight for token exchanges and /health (default 32)"
    )
    parser.add_argument(
        "--flow-concurrency",
        type=int,
        default=16,
        help="login flows in flight (default 16: at 8 the 2 cores were about 78 % busy)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--citizens",
        type=int,
        default=None,
        help="enrolled citizens the flows log in as (default max(32, 4 x flow concurrency))",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to DROP and re-create for the run (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help=f"Redis for the replay store, or '' for the SQL store (default {DEFAULT_REDIS_URL})",
    )
    parser.add_argument("--health-requests", type=int, default=3000, help="GET /health requests (default 3000)")
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="lean",
        help="load generator: a minimal keep-alive HTTP/1.1 client (default) or httpx.AsyncClient",
    )
    parser.add_argument("--baseline-seconds", type=float, default=2.0, help="seconds per baseline (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="global time limit in seconds (default 600)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the stack-floor baseline (bench/floor_app.py; it needs Redis)"
    )
    args = parser.parse_args()
    for name in ("exchanges", "flows", "concurrency", "flow_concurrency", "workers", "health_requests"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.citizens is None:
        args.citizens = max(32, 4 * args.flow_concurrency)
    return args


def main() -> int:
    args = parse_args()
    arm_timeout(args.timeout)
    return run_bench(
        BenchRun(args.database_url, "idbb-bench-oidc-"), lambda run: measure(run, args), keep_database=args.keep_database
    )


def measure(run: BenchRun, args: argparse.Namespace) -> int:
    """The benchmark proper; ``run_bench`` cleans up after it."""
    cwd, base = run.cwd, run.base
    floor_log = run.workdir / "floor.log"
    # codes minted in the set-up must outlive the run (RFC 6749's 10-minute maximum)
    env = server_env(
        base,
        run.port,
        args.database_url,
        args.workers,
        IDBB_CODE_TTL="600",
        **({"IDBB_REDIS_URL": args.redis_url} if args.redis_url else {}),
    )
    log(
        f"repo {cwd}; database {args.database_url}; redis {args.redis_url or '(none: SQL replay store)'}; "
        f"port {run.port}; workers {args.workers}; {args.exchanges} exchanges at concurrency {args.concurrency} and "
        f"{args.flows} flows at concurrency {args.flow_concurrency} per algorithm; {os.cpu_count()} CPU(s)"
    )
    run.create_database(env)
    admin = run.add_api_client(env, "bench-admin", ADMIN_SCOPES)

    from app.config import Settings

    settings = Settings.from_env(env)
    argon = (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
    load_before = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    log("baselines: jwcrypto and raw signing, argon2id ...")
    sign_rate = {alg: jwcrypto_sign_rate(alg, args.baseline_seconds) for alg in ALGS}
    raw_rate = {alg: raw_sign_rate(alg, args.baseline_seconds / 2) for alg in ALGS}
    argon_single, argon_two = argon2_rates(*argon, args.baseline_seconds)

    proc = run.start(env, args.workers)
    admin_token = run.access_token(admin, ADMIN_SCOPES)
    rps = {alg: register_rp(base, admin_token, alg) for alg in ALGS}
    log("relying parties registered over HTTP: " + ", ".join(f"{rp.client_id} ({alg})" for alg, rp in rps.items()))

    warm = 2 * args.concurrency
    log(f"in-process set-up: {args.citizens} citizens with a PIN, {args.exchanges + warm} codes per relying party ...")
    seeded = time.perf_counter()
    people, codes = seed_in_process(env, list(rps.values()), args.citizens, args.exchanges + warm + 1)
    log(f"set-up done in {time.perf_counter() - seeded:.1f} s")

    async def get_health(client: Client, _: int) -> Reply:
        return await client.get("/health")

    def exchanger(rp: RelyingParty) -> Any:
        async def send(client: Client, job: tuple[Code, str]) -> Reply:
            return await client.post("/oauth/token", data=exchange_form(*job))

        return send

    pg_waits: dict[str, str] = {}

    def measured(phase: str, coroutine: Any, master: int | None = None) -> tuple[Any, dict[str, float]]:
        master = master or proc.pid
        before = cpu_snapshot(master)
        with PgSampler(args.database_url) as sampler:
            result = asyncio.run(coroutine)
        pg_waits[phase] = sampler.summary()
        return result, cpu_delta(before, cpu_snapshot(master))

    kind = args.client
    # warm-up: both workers, every path (templates, key caches, connection pools)
    asyncio.run(drive_requests(kind, base, list(range(4 * args.concurrency)), args.concurrency, get_health, 200))
    samples: dict[str, str] = {}
    for alg, rp in rps.items():
        samples[alg] = check_sample_exchange(base, rp, codes[alg].pop())
        warm_codes, codes[alg] = codes[alg][:warm], codes[alg][warm:]
        warmed = asyncio.run(
            drive_requests(
                kind, base, list(zip(warm_codes, rp.assertions(warm), strict=True)), args.concurrency, exchanger(rp), 200
            )
        )
        flows = asyncio.run(
            drive_flows(kind, base, rp, people, rp.assertions(2 * args.flow_concurrency), args.flow_concurrency)
        )
        if warmed.failures or flows.failed:
            raise RuntimeError(f"warm-up failed for {alg}: {warmed.first_error or flows.first_error}")
    log("warm-up done: " + "; ".join(f"{alg}: {s}" for alg, s in samples.items()))

    log(f"GET /health: {args.health_requests} requests ...")
    health, health_cpu = measured(
        "health", drive_requests(kind, base, list(range(args.health_requests)), args.concurrency, get_health, 200)
    )
    exchanges: dict[str, Run] = {}
    exchange_cpu: dict[str, dict[str, float]] = {}
    for alg, rp in rps.items():
        jobs = list(zip(codes[alg][: args.exchanges], rp.assertions(args.exchanges), strict=True))
        log(f"{alg}: {len(jobs)} token exchanges ...")
        exchanges[alg], exchange_cpu[alg] = measured(
            f"exchange {alg}", drive_requests(kind, base, jobs, args.concurrency, exchanger(rp), 200)
        )
    flow_runs: dict[str, FlowRun] = {}
    flow_cpu: dict[str, dict[str, float]] = {}
    for alg, rp in rps.items():
        assertions = rp.assertions(args.flows)
        log(f"{alg}: {args.flows} login flows ...")
        flow_runs[alg], flow_cpu[alg] = measured(
            f"flow {alg}", drive_flows(kind, base, rp, people, assertions, args.flow_concurrency)
        )

    floor: dict[str, Run] = {}
    floor_cpu: dict[str, dict[str, float]] = {}
    if args.redis_url and not args.no_floor:
        stop_server(proc)  # idbb is done: the floor gets the machine to itself
        floor_port = free_port()
        floor_base = f"http://127.0.0.1:{floor_port}"
        floor_rps = {alg: replace(rp, assertion_aud=floor_base + "/oauth/token") for alg, rp in rps.items()}
        floor_codes = seed_floor(args.database_url, list(floor_rps.values()), args.exchanges + warm)
        floor_env = {
            **env,
            "FLOOR_DATABASE_URL": args.database_url,
            "FLOOR_REDIS_URL": args.redis_url,
            "FLOOR_ISSUER": floor_base,
            "PYTHONPATH": str(cwd),
        }
        floor_proc = start_server(
            floor_env,
            cwd,
            floor_port,
            args.workers,
            floor_log,
            target="floor_app:app",
            extra=("--chdir", str(cwd / "bench")),
        )
        try:
            wait_healthy(floor_base, floor_proc, floor_log)
            for alg, rp in floor_rps.items():
                warm_codes, floor_codes[alg] = floor_codes[alg][:warm], floor_codes[alg][warm:]
                warmed = asyncio.run(
                    drive_requests(
                        kind,
                        floor_base,
                        list(zip(warm_codes, rp.assertions(warm), strict=True)),
                        args.concurrency,
                        exchanger(rp),
                        200,
                    )
                )
                if warmed.failures:
                    raise RuntimeError(f"stack floor warm-up failed for {alg}: {warmed.first_error}")
            for alg, rp in floor_rps.items():
                jobs = list(zip(floor_codes[alg], rp.assertions(args.exchanges), strict=True))
                log(f"{alg}: {len(jobs)} token exchanges on the stack floor (bench/floor_app.py) ...")
                floor[alg], floor_cpu[alg] = measured(
                    f"floor {alg}",
                    drive_requests(kind, floor_base, jobs, args.concurrency, exchanger(rp), 200),
                    floor_proc.pid,
                )
        finally:
            stop_server(floor_proc)

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    cpus = os.cpu_count() or 1
    # one exchange signs an RS256 access token and the ID token; two cores sign in parallel
    per_exchange_bound = {alg: 2 / (1 / sign_rate["RS256"] + 1 / sign_rate[alg]) for alg in ALGS}

    def busy(cpu: dict[str, float], elapsed: float) -> str:
        return f"{cpu['machine'] / elapsed / cpus * 100:.0f}% ({cpu['other'] / elapsed / cpus * 100:.0f}%)"

    ex, fl = exchanges, flow_runs
    rows: list[tuple[str, ...]] = [("", *ALGS)]
    rows += [
        ("token exchanges/s", *(f"{ex[a].rate:.1f}" for a in ALGS)),
        (
            "  p50 / p99 ms",
            *(f"{ms(percentile(ex[a].latencies, 50))} / {ms(percentile(ex[a].latencies, 99))}" for a in ALGS),
        ),
        ("  failures", *(f"{ex[a].failures} of {len(ex[a].latencies)}" for a in ALGS)),
        ("  CPU ms/exchange server/pg/redis/client/other", *(per_op(exchange_cpu[a], len(ex[a].latencies)) for a in ALGS)),
        ("  machine busy (other processes)", *(busy(exchange_cpu[a], ex[a].elapsed) for a in ALGS)),
        ("  PG conns: advisory-lock wait/other lock/idle in txn/active", *(pg_waits[f"exchange {a}"] for a in ALGS)),
        ("login flows/s", *(f"{fl[a].rate:.2f}" for a in ALGS)),
        (
            "  p50 / p99 ms",
            *(f"{ms(percentile(fl[a].latencies, 50))} / {ms(percentile(fl[a].latencies, 99))}" for a in ALGS),
        ),
        ("  failures", *(f"{fl[a].failed} of {args.flows}" for a in ALGS)),
        ("  CPU ms/flow server/pg/redis/client/other", *(per_op(flow_cpu[a], fl[a].done) for a in ALGS)),
        ("  machine busy (other processes)", *(busy(flow_cpu[a], fl[a].elapsed) for a in ALGS)),
        ("  PG conns: advisory-lock wait/other lock/idle in txn/active", *(pg_waits[f"flow {a}"] for a in ALGS)),
        *(
            (
                f"  step p50 / p99 ms {step}",
                *(f"{ms(percentile(fl[a].steps[step], 50))} / {ms(percentile(fl[a].steps[step], 99))}" for a in ALGS),
            )
            for step in STEPS
        ),
        ("jwcrypto sign/s, 1 core (typical ID token)", *(f"{sign_rate[a]:.0f}" for a in ALGS)),
        ("  cryptography alone, 1 core", *(f"{raw_rate[a]:.0f}" for a in ALGS)),
        ("  signing bound/s, 2 cores (RS256 AT + ID token)", *(f"{per_exchange_bound[a]:.0f}" for a in ALGS)),
        ("exchanges/s : jwcrypto sign/s of the ID token alg", *(f"{ex[a].rate / sign_rate[a]:.3f}" for a in ALGS)),
        ("exchanges/s : signing bound (2 cores)", *(f"{ex[a].rate / per_exchange_bound[a]:.3f}" for a in ALGS)),
        (f"exchanges/s : target {TARGET_EXCHANGES:.0f}/s", *(f"{ex[a].rate / TARGET_EXCHANGES:.3f}" for a in ALGS)),
        ("exchanges/s : GET /health req/s", *(f"{ex[a].rate / health.rate:.3f}" for a in ALGS)),
        ("flows/s : argon2id verify/s (2 processes)", *(f"{fl[a].rate / argon_two:.3f}" for a in ALGS)),
        (
            f"  target flows/s >= {TARGET_FLOW_RATIO} x argon2id/s met",
            *("yes" if fl[a].rate >= TARGET_FLOW_RATIO * argon_two else "NO" for a in ALGS),
        ),
    ]
    if floor:
        # CPU seconds the floor and /health cost the machine per request (the server, PostgreSQL, Redis, the client)
        floor_s = {a: sum(floor_cpu[a][g] for g in CPU_GROUPS[:-1]) / len(floor[a].latencies) for a in ALGS}
        health_s = sum(health_cpu[g] for g in CPU_GROUPS[:-1]) / len(health.latencies)
        # a flow hashes the PIN once and makes 5 requests: the token exchange and 4 at least as dear as /health
        flow_bound = {a: cpus / (1 / argon_single + floor_s[a] + 4 * health_s) for a in ALGS}
        rows += [
            ("stack floor exchanges/s (bench/floor_app.py)", *(f"{floor[a].rate:.1f}" for a in ALGS)),
            (
                "  p50 / p99 ms",
                *(f"{ms(percentile(floor[a].latencies, 50))} / {ms(percentile(floor[a].latencies, 99))}" for a in ALGS),
            ),
            ("  failures", *(f"{floor[a].failures} of {len(floor[a].latencies)}" for a in ALGS)),
            (
                "  CPU ms/exchange server/pg/redis/client/other",
                *(per_op(floor_cpu[a], len(floor[a].latencies)) for a in ALGS),
            ),
            ("exchanges/s : stack floor", *(f"{ex[a].rate / floor[a].rate:.3f}" for a in ALGS)),
            (f"stack floor : target {TARGET_EXCHANGES:.0f}/s", *(f"{floor[a].rate / TARGET_EXCHANGES:.3f}" for a in ALGS)),
            ("flow bound/s: CPU of argon2id + floor exchange + 4 x /health", *(f"{flow_bound[a]:.1f}" for a in ALGS)),
            ("  flow bound : argon2id verify/s (2 processes)", *(f"{flow_bound[a] / argon_two:.3f}" for a in ALGS)),
        ]
    baseline_rows = [
        ("argon2id verify/s, 1 thread", f"{argon_single:.1f}", f"m={argon[0]} KiB, t={argon[1]}, p={argon[2]}"),
        ("argon2id verify/s, 2 processes", f"{argon_two:.1f}", ""),
        (
            "GET /health req/s",
            f"{health.rate:.0f}",
            f"p50 {ms(percentile(health.latencies, 50))} ms, p99 {ms(percentile(health.latencies, 99))} ms, "
            f"failures {health.failures}, CPU ms/req server/pg/redis/client/other "
            f"{per_op(health_cpu, len(health.latencies))}, machine busy {busy(health_cpu, health.elapsed)}",
        ),
    ]
    lines = [
        "",
        f"idbb OIDC benchmark  ({time.strftime('%Y-%m-%d %H:%M:%S')}, {cpus} CPU(s) shared by client, server, "
        f"PostgreSQL and Redis; load average {load_before} before, {load} after)",
        f"  server: gunicorn + UvicornWorker, {args.workers} worker(s), PostgreSQL, "
        f"{'Redis' if args.redis_url else 'SQL'} replay store, profile development; RPs: private_key_jwt "
        f"(RS256 assertions, pre-signed), PKCE S256, scope '{SCOPE}', userinfo signed RS256; client: {kind}",
        f"  exchanges: {args.exchanges} per algorithm at concurrency {args.concurrency}, codes minted in-process; "
        f"flows: {args.flows} per algorithm at concurrency {args.flow_concurrency} over {len(people)} citizens "
        f"(prompt=consent: every flow shows the consent page)",
        "",
        *table(rows),
        "",
        *table(baseline_rows, left=(0, 2)),
    ]
    for alg in ALGS:
        if exchanges[alg].first_error:
            lines.append(f"  first {alg} exchange error: {exchanges[alg].first_error}")
        if alg in floor and floor[alg].first_error:
            lines.append(f"  first {alg} stack-floor error: {floor[alg].first_error}")
        if flow_runs[alg].first_error:
            lines.append(f"  first {alg} flow error ({flow_runs[alg].failures}): {flow_runs[alg].first_error}")
    if health.first_error:
        lines.append(f"  first health error: {health.first_error}")
    print("\n".join(lines), flush=True)
    failed = (
        health.failures
        + sum(r.failures for r in exchanges.values())
        + sum(r.failed for r in flow_runs.values())
        + sum(r.failures for r in floor.values())
    )
    if failed:
        print(f"\nserver log (last lines):\n{tail(run.log_path)}", flush=True)
    return 0 if failed == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
