"""One-step OSIA enrollment benchmark against the real server (run by hand; not a test).

    python bench/enrollment.py [--requests N] [--concurrency C] [--workers W] [--database-url URL]

What it does, all on 127.0.0.1 and bounded by N and a global timeout:

1. drops and re-creates a PostgreSQL database for the run (through the ``postgres`` maintenance DB),
   sets ``IDBB_*`` (profile ``development``: Authlib refuses an https issuer over plain http, so the
   issuer is ``http://127.0.0.1:<port>``; a random KEK), runs ``idbb init-db`` and registers an API
   client with ``idbb clients add-api bench --auth client_secret_basic``;
2. starts ``gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w W`` and waits for ``/health``;
3. gets an access token (client_credentials, HTTP Basic), then sends N one-step enrollments
   (``POST /v1/enrollments/{id}?transactionId=..&finalize=true``): random biographic data, 10 WSQ-shaped
   fingerprints (~12 KB each), one real PNG portrait (~30 KB) and a PDF document part; every
   answer must be 204;
4. measures two baselines in the same run: AES-256-GCM sealing of the same binary parts
   (``cryptography`` AESGCM, in this process) and ``GET /health`` at the same concurrency;
5. prints a report, stops the server (its process group) and drops the database.

The request bodies are built and serialised before the clock starts, so the client spends its CPU
on HTTP only; the client still shares the machine with the server (read the figures as ratios).
"""

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/idbb_bench"
FINGERS = (
    "RIGHT_THUMB",
    "RIGHT_INDEX",
    "RIGHT_MIDDLE",
    "RIGHT_RING",
    "RIGHT_LITTLE",
    "LEFT_THUMB",
    "LEFT_INDEX",
    "LEFT_MIDDLE",
    "LEFT_RING",
    "LEFT_LITTLE",
)
WSQ_SIZE = 12 * 1024  # a 500 dpi finger at ~15:1
FACE_SIDE = (176, 176)  # greyscale random pixels: a ~30 KB PNG that does not compress
PDF_FILLER = 16 * 1024
SCOPES = "enroll.write enroll.read"
SYLLABLES = (
    "ba",
    "ko",
    "mi",
    "ra",
    "tu",
    "ne",
    "sa",
    "di",
    "lo",
    "fa",
    "ji",
    "we",
    "zo",
    "ha",
    "pu",
    "ya",
    "ke",
    "ma",
    "ni",
    "ru",
    "te",
    "bo",
    "ga",
    "li",
    "so",
    "vi",
    "da",
    "mo",
    "na",
    "ti",
    "xa",
    "qi",
)
CITIES = ("Dakar", "Kigali", "Nairobi", "Accra", "Lomé", "Cotonou", "Addis Ababa", "Tallinn", "Manila", "Lima")


class BenchTimeout(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------- payloads


def wsq_bytes(rng: random.Random) -> bytes:
    """WSQ-shaped: SOI (FF A0), a comment marker (FF A8), random "compressed" data, EOI (FF A1)."""
    return b"\xff\xa0\xff\xa8" + rng.randbytes(WSQ_SIZE - 6) + b"\xff\xa1"


def png_bytes(rng: random.Random) -> bytes:
    """A real, decodable greyscale PNG of random pixels (random data keeps it near 30 KB)."""
    width, height = FACE_SIDE
    raw = b"".join(b"\x00" + rng.randbytes(width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def pdf_bytes(rng: random.Random) -> bytes:
    """A one-page PDF whose content stream is random filler (a scanned birth certificate, roughly)."""
    stream = rng.randbytes(PDF_FILLER)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def random_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


@dataclass
class Enrollment:
    enrollment_id: str
    body: bytes  # serialised JSON, ready to send
    binaries: list[bytes]  # the parts the server seals (for the AES-GCM baseline)


def make_enrollment(rng: random.Random, taken: set[tuple[str, str, str]]) -> Enrollment:
    while True:  # names differ per request so the biographic duplicate check never fires
        first, last = random_name(rng), random_name(rng)
        dob = f"{rng.randint(1940, 2007)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if (first, last, dob) not in taken:
            taken.add((first, last, dob))
            break
    fingers = [wsq_bytes(rng) for _ in FINGERS]
    face = png_bytes(rng)
    pdf = pdf_bytes(rng)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {
        "enrollmentType": "CITIZEN",
        "enrollmentFlags": {"timeout": 3600},
        "requestData": {"priority": 1, "requestType": "FIRST_ISSUANCE"},
        "contextualData": {"enrollmentDate": now, "operatorName": f"op-{rng.randint(1, 99)}"},
        "biographicData": {
            "firstName": first,
            "lastName": last,
            "dateOfBirth": dob,
            "gender": rng.choice("MF"),
            "nationality": rng.choice(("SEN", "RWA", "KEN", "GHA", "EST", "PHL")),
            "address": {
                "street": f"{rng.randint(1, 250)} {random_name(rng)} Street",
                "city": rng.choice(CITIES),
                "postalCode": f"{rng.randint(10000, 99999)}",
                "country": "SEN",
            },
            "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.org",
            "phoneNumber": f"+221{rng.randint(700000000, 799999999)}",
        },
        "biometricData": [
            *(
                {
                    "biometricType": "FINGER",
                    "biometricSubType": finger,
                    "image": b64(data),
                    "compression": "WSQ",
                    "resolution": 500,
                    "impressionType": "LIVE_SCAN_PLAIN",
                    "captureDate": now,
                }
                for finger, data in zip(FINGERS, fingers, strict=True)
            ),
            {
                "biometricType": "FACE",
                "biometricSubType": "PORTRAIT",
                "image": b64(face),
                "mimeType": "image/png",
                "width": FACE_SIDE[0],
                "height": FACE_SIDE[1],
                "bitdepth": 8,
                "captureDate": now,
            },
        ],
        "documentData": [
            {"documentType": "BIRTH_CERTIFICATE", "parts": [{"pages": [1], "data": b64(pdf), "mimeType": "application/pdf"}]}
        ],
    }
    return Enrollment(f"bench-{uuid.uuid4().hex}", json.dumps(body, separators=(",", ":")).encode(), [*fingers, face, pdf])


# --------------------------------------------------------------------------------------- setup


def repo_root() -> Path:
    here = Path(__file__).resolve().parent.parent
    return here if (here / "app" / "asgi.py").is_file() else Path("/work/main")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def maintenance_conninfo(database_url: str) -> tuple[dict[str, Any], str]:
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql") or not url.database:
        raise SystemExit(f"--database-url must be a PostgreSQL URL naming a database, not {database_url!r}")
    info = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "dbname": "postgres",
        "connect_timeout": 10,
    }
    if url.password:
        info["password"] = url.password
    return info, url.database


def recreate_database(database_url: str) -> None:
    info, name = maintenance_conninfo(database_url)
    with psycopg.connect(**info, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(database_url: str) -> None:
    info, name = maintenance_conninfo(database_url)
    with psycopg.connect(**info, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_summary(database_url: str) -> dict[str, Any]:
    info, name = maintenance_conninfo(database_url)
    info["dbname"] = name
    with psycopg.connect(**info) as conn:
        outcomes = dict(conn.execute("SELECT coalesce(outcome, status), count(*) FROM enrollments GROUP BY 1").fetchall())
        return {
            "enrollments": outcomes,
            "identities": conn.execute("SELECT count(*) FROM identities").fetchone()[0],  # type: ignore[index]
            "blobs": conn.execute("SELECT count(*) FROM blobs").fetchone()[0],  # type: ignore[index]
            "audit_events": conn.execute("SELECT count(*) FROM audit_events").fetchone()[0],  # type: ignore[index]
            "audit_pending": conn.execute("SELECT count(*) FROM audit_pending").fetchone()[0],  # type: ignore[index]
            "database_size": conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0],
        }  # type: ignore[index]


def idbb_command() -> list[str]:
    script = Path(sys.executable).parent / "idbb"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([*idbb_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"idbb {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def start_server(
    env: dict[str, str],
    cwd: Path,
    port: int,
    workers: int,
    log_path: Path,
    *,
    target: str = "app.asgi:app",
    extra: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """gunicorn with uvicorn workers serving ``target`` (idbb by default), in its own session."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        target,
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "/dev/null",
        "--graceful-timeout",
        "10",
        *extra,
    ]
    log_file = open(log_path, "wb")  # the child keeps its own descriptor
    try:
        return subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log_file.close()


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; its log:\n{tail(log_path)}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"/health did not answer 200 within {timeout:.0f} s; server log:\n{tail(log_path)}")


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # gunicorn's master and its workers (own session)
        proc.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------- load


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int | str, int] = field(default_factory=dict)
    failures: int = 0
    first_error: str | None = None
    elapsed: float = 0.0

    def record(self, status: int | str, seconds: float, expected: int, body: str | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)
        if status != expected:
            self.failures += 1
            if self.first_error is None:
                self.first_error = f"HTTP {status}: {(body or '')[:2000]}"

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    async def timed(self, request: Awaitable[Any], expected: int, errors: tuple[type[BaseException], ...]) -> None:
        """Await one request and record its status and latency; a transport error in ``errors`` is a failure."""
        started = time.perf_counter()
        try:
            response = await request
            status: int | str = response.status_code
            body = response.text if status != expected else None
        except errors as exc:
            status, body = type(exc).__name__, repr(exc)
        self.record(status, time.perf_counter() - started, expected, body)


async def for_each(jobs: Iterable[Any], concurrency: int, handle: Callable[[Any], Awaitable[None]]) -> float:
    """Await ``handle(job)`` for every job, ``concurrency`` at a time; returns the wall-clock seconds it took."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await handle(job)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def drive(jobs: list[Any], concurrency: int, send: Any, expected: int) -> Run:
    """Run ``send(client, job)`` for every job with ``concurrency`` requests in flight."""
    run = Run()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0)) as client:
        run.elapsed = await for_each(
            jobs, concurrency, lambda job: run.timed(send(client, job), expected, (httpx.HTTPError,))
        )
    return run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def seal_baseline(samples: list[Enrollment], min_seconds: float = 2.0, max_ops: int = 200_000) -> tuple[float, float]:
    """AES-256-GCM seals per second, one op = every binary part of one enrollment (as the server stores them:
    a fresh key object, random 96-bit nonce and the blob id as associated data). Returns (ops/s, MB/s)."""
    key = AESGCM.generate_key(bit_length=256)
    ops = 0
    sealed_bytes = 0
    started = time.perf_counter()
    while ops < max_ops:
        parts = samples[ops % len(samples)].binaries
        for data in parts:
            blob_id = uuid.uuid4().hex.encode("ascii")
            AESGCM(key).encrypt(os.urandom(12), data, blob_id)
            sealed_bytes += len(data)
        ops += 1
        if time.perf_counter() - started >= min_seconds:
            break
    elapsed = time.perf_counter() - started
    return ops / elapsed, sealed_bytes / elapsed / 1e6


# --------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="one-step enrollments to send (default 300)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to DROP and re-create for the run (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--health-requests",
        type=int,
        default=None,
        help="GET /health requests for the baseline (default max(2000, 5 x requests))",
    )
    parser.add_argument("--timeout", type=float, default=600, help="global time limit in seconds (default 600)")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    for name in ("requests", "concurrency", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.health_requests is None:
        args.health_requests = max(2000, 5 * args.requests)
    return args


def arm_timeout(seconds: float) -> None:
    """Stop the whole run after ``seconds`` (SIGALRM raises BenchTimeout wherever it is)."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"global timeout of {seconds:.0f} s reached")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(seconds)))


def server_env(base: str, port: int, database_url: str, workers: int, **extra: str) -> dict[str, str]:
    """The server's environment: this process's minus any IDBB_*, plus a fresh KEK and the run's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
    env.update(
        {
            "IDBB_PROFILE": "development",  # Authlib wants https for an https issuer; we serve plain http locally
            "IDBB_ISSUER": base,
            "IDBB_KEK": base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"),
            "IDBB_DATABASE_URL": database_url,
            "IDBB_LOG_LEVEL": "WARNING",
            "IDBB_HOST": "127.0.0.1",
            "IDBB_PORT": str(port),
            "IDBB_WORKERS": str(workers),
            **extra,
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@dataclass
class BenchRun:
    """One benchmark run's port, working folder, database and server; ``run_bench`` always cleans them up."""

    database_url: str
    prefix: str
    cwd: Path = field(default_factory=repo_root)
    port: int = field(default_factory=free_port)
    workdir: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = None
    database_made: bool = False

    def __post_init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def create_database(self, env: dict[str, str]) -> None:
        """DROP and re-create the run's database and migrate it (``idbb init-db``)."""
        recreate_database(self.database_url)
        self.database_made = True
        log("idbb init-db: " + run_cli(["init-db"], env, self.cwd).strip())

    def add_api_client(self, env: dict[str, str], name: str, scopes: str) -> dict[str, Any]:
        """Register an API client (``client_secret_basic``) with the CLI; returns its id, secret and scopes."""
        return json.loads(
            run_cli(["clients", "add-api", name, "--scopes", scopes, "--auth", "client_secret_basic"], env, self.cwd)
        )

    def start(self, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
        """Start idbb and wait for ``/health``."""
        self.proc = start_server(env, self.cwd, self.port, workers, self.log_path)
        wait_healthy(self.base, self.proc, self.log_path)
        log(f"server up (pid {self.proc.pid}); log {self.log_path}")
        return self.proc

    def access_token(self, client: dict[str, Any], scopes: str) -> str:
        """A ``client_credentials`` access token for an API client made by ``add_api_client``."""
        response = httpx.post(
            self.base + "/oauth/token",
            auth=(client["client_id"], client["client_secret"]),
            data={"grant_type": "client_credentials", "scope": scopes},
            timeout=30,
        )
        if response.status_code != 200:
            raise RuntimeError(f"token request failed: HTTP {response.status_code}: {response.text[:2000]}")
        return str(response.json()["access_token"])


def run_bench(
    run: BenchRun,
    body: Callable[[BenchRun], int],
    *,
    keep_database: bool,
    keep_logs: Callable[[int], bool] = lambda code: code != 0,
) -> int:
    """Run ``body`` and clean up whatever happens: stop the server (its process group), drop the database
    unless ``keep_database``, and remove the working folder unless ``keep_logs(code)`` (the server log is
    then kept for reading). Returns ``body``'s exit code, 3 for the global timeout, 1 for any other failure."""
    code = 1
    try:
        code = body(run)
    except Exception as exc:
        log(f"ABORTED: {exc}" if isinstance(exc, BenchTimeout) else f"FAILED: {type(exc).__name__}: {exc}")
        if run.proc is not None:
            print(f"server log (last lines):\n{tail(run.log_path)}", flush=True)
        code = 3 if isinstance(exc, BenchTimeout) else 1
    finally:
        signal.alarm(0)
        stop_server(run.proc)
        if run.proc is not None:
            log(f"server stopped (exit {run.proc.returncode})")
        if run.database_made and not keep_database:
            try:
                drop_database(run.database_url)
                log("database dropped")
            except psycopg.Error as exc:
                log(f"could not drop the database: {exc}")
        if keep_logs(code):
            log(f"server log kept: {run.log_path}")
        else:
            shutil.rmtree(run.workdir, ignore_errors=True)
    return code


def main() -> int:
    args = parse_args()
    arm_timeout(args.timeout)
    return run_bench(
        BenchRun(args.database_url, "idbb-bench-"), lambda run: measure(run, args), keep_database=args.keep_database
    )


def measure(run: BenchRun, args: argparse.Namespace) -> int:
    """The benchmark proper; ``run_bench`` cleans up after it."""
    base = run.base
    env = server_env(base, run.port, args.database_url, args.workers)
    log(
        f"repo {run.cwd}; database {args.database_url}; port {run.port}; workers {args.workers}; "
        f"requests {args.requests}; concurrency {args.concurrency}; {os.cpu_count()} CPU(s)"
    )
    run.create_database(env)
    made = run.add_api_client(env, "bench", SCOPES)
    log(f"API client {made['client_id']!r} registered with scopes {made['scopes']}")

    log(f"building {args.requests} request bodies ...")
    rng = random.Random()
    taken: set[tuple[str, str, str]] = set()
    samples = [make_enrollment(rng, taken) for _ in range(args.requests)]
    payload_kb = statistics.fmean(len(s.body) for s in samples) / 1024
    binary_kb = statistics.fmean(sum(map(len, s.binaries)) for s in samples) / 1024

    load_before = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    log("AES-256-GCM baseline ...")
    seal_ops, seal_mb = seal_baseline(samples)

    run.start(env, args.workers)
    auth_headers = {"Authorization": f"Bearer {run.access_token(made, SCOPES)}", "Content-Type": "application/json"}

    async def get_health(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.get(base + "/health")

    async def post_enrollment(client: httpx.AsyncClient, job: Enrollment) -> httpx.Response:
        url = f"{base}/v1/enrollments/{job.enrollment_id}"
        params = {"transactionId": f"tx-{uuid.uuid4().hex[:12]}", "finalize": "true"}
        return await client.post(url, params=params, content=job.body, headers=auth_headers)

    asyncio.run(drive(list(range(max(50, args.concurrency * 4))), args.concurrency, get_health, 200))  # warm-up
    log(f"GET /health baseline: {args.health_requests} requests ...")
    health = asyncio.run(drive(list(range(args.health_requests)), args.concurrency, get_health, 200))
    log(f"enrollments: {args.requests} requests ...")
    enroll = asyncio.run(drive(samples, args.concurrency, post_enrollment, 204))

    summary = database_summary(args.database_url)
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    ratio = enroll.rate / health.rate if health.rate else float("nan")
    lines = [
        "",
        f"idbb one-step enrollment benchmark  ({time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPU(s), "
        f"client and server on this machine; load average {load_before} before, {load} after)",
        f"  server              gunicorn + UvicornWorker, {args.workers} worker(s), PostgreSQL, profile development",
        f"  requests            {args.requests} at concurrency {args.concurrency}",
        f"  payload             {payload_kb:.1f} KB JSON per enrollment ({binary_kb:.1f} KB binary: 10 WSQ x "
        f"{WSQ_SIZE // 1024} KB, PNG face {len(samples[0].binaries[10]) / 1024:.1f} KB, "
        f"PDF {len(samples[0].binaries[11]) / 1024:.1f} KB)",
        f"  enrollments/s       {enroll.rate:.1f}   ({enroll.elapsed:.2f} s wall)",
        f"  latency p50 / p99   {percentile(enroll.latencies, 50) * 1000:.1f} ms / "
        f"{percentile(enroll.latencies, 99) * 1000:.1f} ms   (max {max(enroll.latencies) * 1000:.1f} ms)",
        f"  failures            {enroll.failures} of {args.requests}   statuses {enroll.statuses}",
        f"  health req/s        {health.rate:.1f}   ({args.health_requests} GET /health, p50 "
        f"{percentile(health.latencies, 50) * 1000:.1f} ms, failures {health.failures})",
        f"  seal ops/s          {seal_ops:.1f}   (AES-256-GCM of one enrollment's {binary_kb:.0f} KB binary parts, "
        f"12 seals per op, 1 thread; {seal_mb:.0f} MB/s)",
        f"  ratio               enrollments/s / health req/s = {ratio:.4f}   "
        f"(enrollments/s / seal ops/s = {enroll.rate / seal_ops:.5f})",
        f"  database after run  {summary}",
    ]
    if enroll.first_error:
        lines.append(f"  first enrollment error: {enroll.first_error}")
    if health.first_error:
        lines.append(f"  first health error: {health.first_error}")
    print("\n".join(lines), flush=True)
    if enroll.failures or health.failures:
        print(f"\nserver log (last lines):\n{tail(run.log_path)}", flush=True)
    return 0 if enroll.failures == 0 and health.failures == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
