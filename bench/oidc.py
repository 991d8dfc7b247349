"""OpenID Provider benchmark against the real server: token exchanges and complete logins (run by hand; not a test).

    python bench/oidc.py [--exchanges N] [--flows N] [--concurrency C] [--flow-concurrency C] [--workers W]
                         [--database-url URL] [--redis-url URL]

What it does, all on 127.0.0.1 and bounded by N and a global timeout:

1. drops and re-creates a PostgreSQL database for the run, sets ``IDBB_*`` (profile ``development`` with the
   issuer ``http://127.0.0.1:<port>``, a random KEK, ``IDBB_CODE_TTL=600`` so codes minted in the set-up
   outlive the run, Redis for the replay store), runs ``idbb init-db`` and registers an API client for
   client management (``client_secret_basic``);
2. measures the baselines while nothing else runs: jwcrypto signing of a typical ID token (ES256, RS256; one
   core), argon2id verification at the configured parameters (one thread, and two processes for two cores);
3. starts ``gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w W`` and waits for ``/health``;
4. registers two relying parties over HTTP (``POST /client-mgmt/oidc-client``, private_key_jwt with an RSA
   key, ``additionalConfig.id_token_signed_response_alg`` ES256 resp. RS256) and, in this process through the
   app's services against the same database, enrolls citizens with a PIN and mints N authorization codes per
   relying party (``grants.issue_code`` on a request parsed by ``authorize_request.parse``; PKCE S256, a
   verifier per code);
5. for each algorithm: N token exchanges (``POST /oauth/token``, authorization_code + PKCE + private_key_jwt,
   the client assertions pre-signed with PyJWT before the clock starts) at concurrency C; then M complete
   login flows at concurrency F, each with its own cookies: ``GET /authorize`` (prompt=consent) →
   ``POST /authorize/login`` (PIN) → ``POST /authorize/consent`` → ``POST /oauth/token`` → ``GET /oidc/userinfo``;
6. ``GET /health`` at concurrency C as the HTTP baseline; prints one table with the ratios, stops the server
   (its process group) and drops the database.

The load generator is this process (one asyncio loop, httpx); it shares the machine with the server,
PostgreSQL and Redis, so CPU seconds per operation are reported for each of them (from ``/proc``).
"""

import argparse
import asyncio
import base64
import hashlib
import html
import json
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt as pyjwt
import psycopg
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

# the one-step enrollment benchmark next door: database, server and load helpers (``python bench/oidc.py``
# puts bench/ first on sys.path)
from enrollment import (
    BenchTimeout,
    Run,
    drive,
    drop_database,
    free_port,
    log,
    percentile,
    random_name,
    recreate_database,
    repo_root,
    run_cli,
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


# --------------------------------------------------------------------------------------- baselines

def typical_id_token_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "https://idbb.example.gov", "sub": base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode(),
            "aud": "rp-0a1b2c3d", "azp": "rp-0a1b2c3d", "exp": now + 600, "iat": now, "auth_time": now - 5,
            "acr": "idbb:acr:static-code", "amr": ["pin"], "at_hash": "x5Vd2a0qGv0c3m3yPj0Q6w",
            "nonce": secrets.token_urlsafe(8), "sid": secrets.token_urlsafe(24)}


def jwcrypto_sign_rate(alg: str, seconds: float) -> float:
    """Compact JWS signatures per second, one thread, as ``app.formats.jose.sign_jwt`` makes them."""
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="bench") if alg == "ES256" else \
        jwk.JWK.generate(kty="RSA", size=2048, kid="bench")
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
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    return comm, int(rest[1]), int(rest[11]) + int(rest[12])


def cpu_snapshot(master_pid: int) -> dict[int, tuple[str, int]]:
    """Ticks per process of interest: the server (master and workers), PostgreSQL, Redis, this process."""
    out: dict[int, tuple[str, int]] = {}
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


def cpu_delta(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]) -> dict[str, float]:
    """CPU seconds per group between two snapshots (a process born in between counts from zero)."""
    groups = {"server": 0.0, "postgres": 0.0, "redis": 0.0, "client": 0.0}
    for pid, (group, ticks) in after.items():
        start = before.get(pid, (group, 0))[1]
        groups[group] += max(0, ticks - start) / CLK_TCK
    return groups


# --------------------------------------------------------------------------------------- relying parties

@dataclass
class RelyingParty:
    alg: str
    client_id: str
    private_pem: bytes
    assertion_aud: str

    def assertions(self, count: int) -> list[str]:
        """Pre-signed private_key_jwt assertions (RFC 7523), each with its own jti."""
        now = int(time.time())
        return [pyjwt.encode({"iss": self.client_id, "sub": self.client_id, "aud": self.assertion_aud, "iat": now,
                              "exp": now + ASSERTION_LIFETIME, "jti": uuid.uuid4().hex},
                             self.private_pem, algorithm="RS256") for _ in range(count)]


def register_rp(base: str, admin_token: str, alg: str) -> RelyingParty:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    client_id = f"bench-{alg.lower()}-{uuid.uuid4().hex[:6]}"
    request = {
        "clientId": client_id, "clientName": f"Bench portal {alg}", "relyingPartyId": f"bench-{client_id}",
        "logoUri": "https://rp.example/logo.png", "redirectUris": [REDIRECT], "authContextRefs": ["idbb:acr:static-code"],
        "publicKey": RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "userClaims": RP_CLAIMS,
        "grantTypes": ["authorization_code"], "clientAuthMethods": ["private_key_jwt"],
        "additionalConfig": {"id_token_signed_response_alg": alg},
    }
    request_time = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    response = httpx.post(base + "/client-mgmt/oidc-client", json={"requestTime": request_time, "request": request},
                          headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
    if response.status_code != 200 or response.json().get("errors"):
        raise RuntimeError(f"registering the {alg} relying party failed: HTTP {response.status_code}: "
                           f"{response.text[:2000]}")
    return RelyingParty(alg, client_id, pem, base + "/oauth/token")


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


def seed_in_process(env: dict[str, str], rps: list[RelyingParty], citizens: int,
                    codes_per_rp: int) -> tuple[list[Citizen], dict[str, list[Code]]]:
    """Enroll citizens with a PIN and mint authorization codes, through the app's services (same database)."""
    from dataclasses import replace

    from sqlalchemy import select

    from app import create_app
    from app.config import Settings
    from app.extensions import db
    from app.models.enrollment import Enrollment
    from app.models.registry import Identity
    from app.services import authorize_flow, enrollments, grants
    from app.services.authorize_request import parse

    cx = create_app(Settings.from_env(env))
    rng = random.Random()
    people: list[Citizen] = []
    minted: dict[str, list[Code]] = {}
    with cx.app.app_context():
        for n in range(citizens):
            enrollment_id = f"E-bench-{uuid.uuid4().hex[:10]}"
            pin = f"{rng.randint(0, 999999):06d}"
            bio = {"firstName": random_name(rng), "lastName": f"{random_name(rng)}{n}",
                   "dateOfBirth": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   "gender": rng.choice("MF"), "email": f"citizen{n}@example.org", "phoneNumber": f"+2217000{n:05d}"}
            enrollments.create(enrollment_id, {
                "enrollmentType": "CITIZEN", "biographicData": bio,
                "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"pin": pin}},
            }, finalize=True, client_id="bench-setup", transaction_id=enrollment_id)
            identity_id = db.session.get(Enrollment, enrollment_id).identity_id
            uin = db.session.execute(select(Identity.uin).where(Identity.identity_id == identity_id)).scalar_one()
            people.append(Citizen(uin, pin, identity_id))
        db.session.commit()
        for rp in rps:
            _, challenge = pkce_pair()
            request, _client = parse({"client_id": [rp.client_id], "redirect_uri": [REDIRECT], "response_type": ["code"],
                                      "scope": [SCOPE], "state": ["s"], "nonce": [secrets.token_urlsafe(8)],
                                      "code_challenge": [challenge], "code_challenge_method": ["S256"]},
                                     available_acrs=authorize_flow.available_acrs())
            accepted = request.essential_claims() + request.voluntary_claims()  # what the consent page checks
            codes = []
            for n in range(codes_per_rp):
                verifier, challenge = pkce_pair()
                person = people[n % len(people)]
                code = grants.issue_code(replace(request, code_challenge=challenge, nonce=secrets.token_urlsafe(8)),
                                         identity_id=person.identity_id, amr=["pin"], acr="idbb:acr:static-code",
                                         auth_time=int(time.time()), session_id=None, accepted_claims=accepted,
                                         scopes=list(request.scope))
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


def take_cookies(response: httpx.Response, jar: dict[str, str]) -> None:
    for line in response.headers.get_list("set-cookie"):
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


async def one_flow(client: httpx.AsyncClient, base: str, rp: RelyingParty, person: Citizen, assertion: str,
                   steps: dict[str, list[float]]) -> None:
    jar: dict[str, str] = {}  # this flow's browser
    verifier, challenge = pkce_pair()
    state_value = secrets.token_urlsafe(8)
    params = {"client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": SCOPE,
              "state": state_value, "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256", "prompt": "consent"}

    def check(step: str, response: httpx.Response, status: int, started: float) -> None:
        steps[step].append(time.perf_counter() - started)
        if response.status_code != status:
            raise FlowFailed(step, f"HTTP {response.status_code}: {response.text[:1500]}")

    started = time.perf_counter()
    response = await client.get(base + "/authorize", params=params)
    check("authorize", response, 200, started)
    take_cookies(response, jar)
    found = page_form(response.text, "pin-form")
    if found is None:
        raise FlowFailed("authorize", "no pin-form on the login page")
    fields = {**found[0], "method": "pin", "identifier": person.uin, "secret": person.pin}

    started = time.perf_counter()
    response = await client.post(base + "/authorize/login", data=fields, headers=cookie_header(jar))
    check("login", response, 200, started)
    take_cookies(response, jar)
    found = page_form(response.text, "consent-form")
    if found is None:
        raise FlowFailed("login", f"no consent-form after login: {response.text[:600]}")
    hidden, claims = found

    started = time.perf_counter()
    response = await client.post(base + "/authorize/consent", data={**hidden, "claims": claims, "decision": "accept"},
                                 headers=cookie_header(jar))
    check("consent", response, 303, started)
    got = {k: v[0] for k, v in parse_qs(urlsplit(response.headers.get("location", "")).query).items()}
    if got.get("state") != state_value or "code" not in got or got.get("iss") != base:
        raise FlowFailed("consent", f"bad redirect {response.headers.get('location')!r}")

    started = time.perf_counter()
    response = await client.post(base + "/oauth/token", data={
        "grant_type": "authorization_code", "code": got["code"], "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})
    check("token", response, 200, started)
    access = response.json()["access_token"]

    started = time.perf_counter()
    response = await client.get(base + "/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    check("userinfo", response, 200, started)


async def drive_flows(base: str, rp: RelyingParty, people: list[Citizen], assertions: list[str],
                      concurrency: int) -> FlowRun:
    """Complete logins with ``concurrency`` flows in flight; consecutive flows use different citizens, so
    flows in flight never share an identifier (and its login-throttle row)."""
    run = FlowRun()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(len(assertions)):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0), follow_redirects=False) as client:

        async def worker() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                client.cookies.clear()  # cookies travel in explicit headers, one jar per flow
                started = time.perf_counter()
                try:
                    await one_flow(client, base, rp, people[n % len(people)], assertions[n], run.steps)
                    run.latencies.append(time.perf_counter() - started)
                except FlowFailed as failed:
                    run.failures[failed.step] = run.failures.get(failed.step, 0) + 1
                    run.first_error = run.first_error or str(failed)
                except httpx.HTTPError as exc:
                    run.failures["transport"] = run.failures.get("transport", 0) + 1
                    run.first_error = run.first_error or repr(exc)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.elapsed = time.perf_counter() - started
    return run


# --------------------------------------------------------------------------------------- token exchanges

def exchange_form(code: Code, assertion: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code.code, "redirect_uri": REDIRECT,
            "code_verifier": code.verifier, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


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


# --------------------------------------------------------------------------------------- report

def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def per_op(cpu: dict[str, float], ops: int) -> str:
    if not ops:
        return "-"
    return " / ".join(f"{cpu[g] / ops * 1000:.2f}" for g in ("server", "postgres", "redis", "client"))


def table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows if len(r) > i) for i in range(max(len(r) for r in rows))]
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        out.append(indent + "   ".join(cells).rstrip())
    return out


# --------------------------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=2000, help="token exchanges per algorithm (default 2000)")
    parser.add_argument("--flows", type=int, default=300, help="complete login flows per algorithm (default 300)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="requests in flight for token exchanges and /health (default 32)")
    parser.add_argument("--flow-concurrency", type=int, default=8, help="login flows in flight (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--citizens", type=int, default=None,
                        help="enrolled citizens the flows log in as (default max(32, 4 x flow concurrency))")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help=f"PostgreSQL database to DROP and re-create for the run (default {DEFAULT_DATABASE_URL})")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help=f"Redis for the replay store, or '' for the SQL store (default {DEFAULT_REDIS_URL})")
    parser.add_argument("--health-requests", type=int, default=3000, help="GET /health requests (default 3000)")
    parser.add_argument("--baseline-seconds", type=float, default=2.0, help="seconds per baseline (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="global time limit in seconds (default 600)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    for name in ("exchanges", "flows", "concurrency", "flow_concurrency", "workers", "health_requests"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.citizens is None:
        args.citizens = max(32, 4 * args.flow_concurrency)
    return args


def main() -> int:
    args = parse_args()

    def on_alarm(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"global timeout of {args.timeout:.0f} s reached")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(args.timeout)))

    cwd = repo_root()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="idbb-bench-oidc-"))
    log_path = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
    env.update({
        "IDBB_PROFILE": "development",  # Authlib wants https for an https issuer; we serve plain http locally
        "IDBB_ISSUER": base,
        "IDBB_KEK": base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"),
        "IDBB_DATABASE_URL": args.database_url,
        "IDBB_LOG_LEVEL": "WARNING",
        "IDBB_HOST": "127.0.0.1",
        "IDBB_PORT": str(port),
        "IDBB_WORKERS": str(args.workers),
        "IDBB_CODE_TTL": "600",  # codes minted in the set-up must outlive the run (RFC 6749's 10-minute maximum)
    })
    if args.redis_url:
        env["IDBB_REDIS_URL"] = args.redis_url
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    proc = None
    database_made = False
    code = 1
    try:
        log(f"repo {cwd}; database {args.database_url}; redis {args.redis_url or '(none: SQL replay store)'}; "
            f"port {port}; workers {args.workers}; {args.exchanges} exchanges at concurrency {args.concurrency} and "
            f"{args.flows} flows at concurrency {args.flow_concurrency} per algorithm; {os.cpu_count()} CPU(s)")
        recreate_database(args.database_url)
        database_made = True
        log("idbb init-db: " + run_cli(["init-db"], env, cwd).strip())
        made = json.loads(run_cli(["clients", "add-api", "bench-admin", "--scopes", ADMIN_SCOPES,
                                   "--auth", "client_secret_basic"], env, cwd))
        admin_id, admin_secret = made["client_id"], made["client_secret"]

        from app.config import Settings

        settings = Settings.from_env(env)
        argon = (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
        load_before = " / ".join(f"{v:.2f}" for v in os.getloadavg())
        log("baselines: jwcrypto and raw signing, argon2id ...")
        sign_rate = {alg: jwcrypto_sign_rate(alg, args.baseline_seconds) for alg in ALGS}
        raw_rate = {alg: raw_sign_rate(alg, args.baseline_seconds / 2) for alg in ALGS}
        argon_single, argon_two = argon2_rates(*argon, args.baseline_seconds)

        proc = start_server(env, cwd, port, args.workers, log_path)
        wait_healthy(base, proc, log_path)
        log(f"server up (pid {proc.pid}); log {log_path}")

        response = httpx.post(base + "/oauth/token", auth=(admin_id, admin_secret),
                              data={"grant_type": "client_credentials", "scope": ADMIN_SCOPES}, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"admin token request failed: HTTP {response.status_code}: {response.text[:2000]}")
        admin_token = response.json()["access_token"]
        rps = {alg: register_rp(base, admin_token, alg) for alg in ALGS}
        log("relying parties registered over HTTP: " + ", ".join(f"{rp.client_id} ({alg})" for alg, rp in rps.items()))

        warm = 2 * args.concurrency
        log(f"in-process set-up: {args.citizens} citizens with a PIN, {args.exchanges + warm} codes per relying party ...")
        seeded = time.perf_counter()
        people, codes = seed_in_process(env, list(rps.values()), args.citizens, args.exchanges + warm + 1)
        log(f"set-up done in {time.perf_counter() - seeded:.1f} s")

        async def get_health(client: httpx.AsyncClient, _: int) -> httpx.Response:
            return await client.get(base + "/health")

        def exchanger(rp: RelyingParty) -> Any:
            async def send(client: httpx.AsyncClient, job: tuple[Code, str]) -> httpx.Response:
                return await client.post(base + "/oauth/token", data=exchange_form(*job))
            return send

        # warm-up: both workers, every path (templates, key caches, connection pools)
        asyncio.run(drive(list(range(4 * args.concurrency)), args.concurrency, get_health, 200))
        samples: dict[str, str] = {}
        for alg, rp in rps.items():
            samples[alg] = check_sample_exchange(base, rp, codes[alg].pop())
            warm_codes, codes[alg] = codes[alg][:warm], codes[alg][warm:]
            warmed = asyncio.run(drive(list(zip(warm_codes, rp.assertions(warm), strict=True)), args.concurrency,
                                       exchanger(rp), 200))
            flows = asyncio.run(drive_flows(base, rp, people, rp.assertions(2 * args.flow_concurrency),
                                            args.flow_concurrency))
            if warmed.failures or flows.failed:
                raise RuntimeError(f"warm-up failed for {alg}: {warmed.first_error or flows.first_error}")
        log("warm-up done: " + "; ".join(f"{alg}: {s}" for alg, s in samples.items()))

        log(f"GET /health: {args.health_requests} requests ...")
        before = cpu_snapshot(proc.pid)
        health = asyncio.run(drive(list(range(args.health_requests)), args.concurrency, get_health, 200))
        health_cpu = cpu_delta(before, cpu_snapshot(proc.pid))

        exchanges: dict[str, Run] = {}
        exchange_cpu: dict[str, dict[str, float]] = {}
        for alg, rp in rps.items():
            jobs = list(zip(codes[alg][:args.exchanges], rp.assertions(args.exchanges), strict=True))
            log(f"{alg}: {len(jobs)} token exchanges ...")
            before = cpu_snapshot(proc.pid)
            exchanges[alg] = asyncio.run(drive(jobs, args.concurrency, exchanger(rp), 200))
            exchange_cpu[alg] = cpu_delta(before, cpu_snapshot(proc.pid))

        flow_runs: dict[str, FlowRun] = {}
        flow_cpu: dict[str, dict[str, float]] = {}
        for alg, rp in rps.items():
            assertions = rp.assertions(args.flows)
            log(f"{alg}: {args.flows} login flows ...")
            before = cpu_snapshot(proc.pid)
            flow_runs[alg] = asyncio.run(drive_flows(base, rp, people, assertions, args.flow_concurrency))
            flow_cpu[alg] = cpu_delta(before, cpu_snapshot(proc.pid))

        load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
        # one exchange signs an RS256 access token and the ID token; two cores sign in parallel
        per_exchange_bound = {alg: 2 / (1 / sign_rate["RS256"] + 1 / sign_rate[alg]) for alg in ALGS}
        rows: list[tuple[str, ...]] = [("", *ALGS)]
        rows += [
            ("token exchanges/s", *(f"{exchanges[a].rate:.1f}" for a in ALGS)),
            ("  p50 / p99 ms", *(f"{ms(percentile(exchanges[a].latencies, 50))} / "
                                 f"{ms(percentile(exchanges[a].latencies, 99))}" for a in ALGS)),
            ("  failures", *(f"{exchanges[a].failures} of {len(exchanges[a].latencies)}" for a in ALGS)),
            ("  CPU ms/exchange server/pg/redis/client", *(per_op(exchange_cpu[a], len(exchanges[a].latencies))
                                                           for a in ALGS)),
            ("login flows/s", *(f"{flow_runs[a].rate:.2f}" for a in ALGS)),
            ("  p50 / p99 ms", *(f"{ms(percentile(flow_runs[a].latencies, 50))} / "
                                 f"{ms(percentile(flow_runs[a].latencies, 99))}" for a in ALGS)),
            ("  failures", *(f"{flow_runs[a].failed} of {args.flows}" for a in ALGS)),
            ("  CPU ms/flow server/pg/redis/client", *(per_op(flow_cpu[a], flow_runs[a].done) for a in ALGS)),
            *((f"  step p50 ms {step}", *(ms(percentile(flow_runs[a].steps[step], 50)) for a in ALGS))
              for step in STEPS),
            ("jwcrypto sign/s, 1 core", *(f"{sign_rate[a]:.0f}" for a in ALGS)),
            ("  cryptography only, 1 core", *(f"{raw_rate[a]:.0f}" for a in ALGS)),
            ("  exchange signing bound, 2 cores (AT RS256 + IDT)", *(f"{per_exchange_bound[a]:.0f}" for a in ALGS)),
            ("exchanges/s : jwcrypto sign/s (IDT alg)", *(f"{exchanges[a].rate / sign_rate[a]:.3f}" for a in ALGS)),
            ("exchanges/s : exchange signing bound", *(f"{exchanges[a].rate / per_exchange_bound[a]:.3f}"
                                                       for a in ALGS)),
            (f"exchanges/s : target {TARGET_EXCHANGES:.0f}/s", *(f"{exchanges[a].rate / TARGET_EXCHANGES:.3f}"
                                                                 for a in ALGS)),
            ("flows/s : argon2id verify/s (2 procs)", *(f"{flow_runs[a].rate / argon_two:.3f}" for a in ALGS)),
            (f"  meets target >= {TARGET_FLOW_RATIO}", *("yes" if flow_runs[a].rate >= TARGET_FLOW_RATIO * argon_two
                                                          else "NO" for a in ALGS)),
        ]
        health_rows = [
            ("argon2id verify/s, 1 thread", f"{argon_single:.1f}",
             f"(m={argon[0]} KiB, t={argon[1]}, p={argon[2]})"),
            ("argon2id verify/s, 2 processes", f"{argon_two:.1f}", ""),
            ("GET /health req/s", f"{health.rate:.0f}",
             f"(concurrency {args.concurrency}; p50 {ms(percentile(health.latencies, 50))} ms, "
             f"p99 {ms(percentile(health.latencies, 99))} ms; failures {health.failures}; CPU ms/req "
             f"server/pg/redis/client {per_op(health_cpu, len(health.latencies))})"),
            ("exchanges/s : health req/s", " / ".join(f"{exchanges[a].rate / health.rate:.3f}" for a in ALGS),
             "(ES256 / RS256)"),
        ]
        lines = [
            "",
            f"idbb OIDC benchmark  ({time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPU(s), client, server, "
            f"PostgreSQL and Redis on this machine; load average {load_before} before, {load} after)",
            f"  server: gunicorn + UvicornWorker, {args.workers} worker(s), PostgreSQL, "
            f"{'Redis' if args.redis_url else 'SQL'} replay store, profile development; RPs: private_key_jwt "
            f"(RS256 assertions, pre-signed), PKCE S256, scope '{SCOPE}', userinfo signed RS256",
            f"  exchanges: {args.exchanges} per algorithm at concurrency {args.concurrency}, codes minted in-process; "
            f"flows: {args.flows} per algorithm at concurrency {args.flow_concurrency} over {len(people)} citizens "
            f"(prompt=consent: every flow shows the consent page)",
            "",
            *table(rows),
            "",
            *table(health_rows),
        ]
        for alg in ALGS:
            if exchanges[alg].first_error:
                lines.append(f"  first {alg} exchange error: {exchanges[alg].first_error}")
            if flow_runs[alg].first_error:
                lines.append(f"  first {alg} flow error ({flow_runs[alg].failures}): {flow_runs[alg].first_error}")
        if health.first_error:
            lines.append(f"  first health error: {health.first_error}")
        print("\n".join(lines), flush=True)
        failed = health.failures + sum(r.failures for r in exchanges.values()) + sum(r.failed for r in flow_runs.values())
        if failed:
            print(f"\nserver log (last lines):\n{tail(log_path)}", flush=True)
        code = 0 if failed == 0 else 2
    except BenchTimeout as exc:
        log(f"ABORTED: {exc}")
        if proc is not None:
            print(f"server log (last lines):\n{tail(log_path)}", flush=True)
        code = 3
    except Exception as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        if proc is not None:
            print(f"server log (last lines):\n{tail(log_path)}", flush=True)
        code = 1
    finally:
        signal.alarm(0)
        stop_server(proc)
        if proc is not None:
            log(f"server stopped (exit {proc.returncode})")
        if database_made and not args.keep_database:
            try:
                drop_database(args.database_url)
                log("database dropped")
            except psycopg.Error as exc:
                log(f"could not drop the database: {exc}")
        if code == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"server log kept: {log_path}")
    return code


if __name__ == "__main__":
    sys.exit(main())
