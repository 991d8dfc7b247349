"""Fuzz every OpenAPI document in ``openapi/`` with schemathesis against a real ``idbb serve``.

Run it by hand (or from ``.ci/run``)::

    .venv/bin/python -m tests.fuzz.run                     # every document, the CI budget
    .venv/bin/python -m tests.fuzz.run --max-examples 200 openapi/oidc.yaml
    .venv/bin/python -m tests.fuzz.run --report-dir /tmp/fuzz -- --checks all   # after --: for schemathesis

Why a real server and not the Flask test client: schemathesis then sends real bytes over HTTP (odd
encodings, raw path characters, wrong content types) through uvicorn and Connexion, the way a
client on the network does, and the server runs exactly as ``idbb serve`` runs in production.

What it does:

1. makes a temporary directory with a fresh SQLite database, seeded in-process through idbb's own
   services with the demo data (``app/services/ops/demo.py``: a relying party, two enrolled people,
   the demo API clients) and one more API client, ``fuzz-admin``, that holds every scope idbb
   checks (``KNOWN_SCOPES``, ``wallet_binding`` included) and authenticates with a client secret;
2. starts ``idbb serve`` on a free port of 127.0.0.1 and waits for ``/health``;
3. for each document, gets a fresh ``client_credentials`` token for ``fuzz-admin`` and runs
   ``schemathesis run`` on it with ``tests/fuzz/schemathesis.toml`` (checks, per-surface
   exclusions and their reasons live there) and a bounded number of cases per operation; the
   bearer token is sent only to documents that declare a security scheme (a stray
   ``Authorization`` header would turn every request at the token endpoint into a client
   authentication failure and hide the rest of its code);
4. prints the case counts per document, then ``fuzz: N passed, M failed`` (documents), and exits
   non-zero if any document failed (any 5xx, a response body off its documented schema, an accepted
   request it does not allow where that check applies, or schemathesis itself erroring);
5. stops the server on every exit: normal, exception, SIGINT/SIGTERM (turned into SystemExit so
   ``finally`` runs), and even SIGKILL of this process (the server asks the kernel for SIGTERM
   when its parent dies, ``PR_SET_PDEATHSIG``).

The server's log (tracebacks of any 5xx) is printed when a document fails, and kept with the
schemathesis reports under ``--report-dir`` if one is given.
"""

import argparse
import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
FUZZ_CLIENT = "fuzz-admin"
#: Cases per operation (``--max-examples``): 45 operations x this, plus the coverage phase's
#: boundary cases (most of osia-enrollment's), about 6,000 cases in 2.5 minutes on a 2-core machine.
DEFAULT_MAX_EXAMPLES = 50
#: A fixed seed: a CI failure reproduces with the same command; change it by hand to explore.
DEFAULT_SEED = 14


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the harness dies, however it dies (Linux only)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def seed(database_url: str, issuer: str, kek: str, folder: Path) -> str:
    """Migrate and seed the database in-process; return the fuzz client's secret."""
    from app import create_app
    from app.config import Settings
    from app.extensions import db
    from app.services import api_clients
    from app.services.ops import demo

    cx = create_app(Settings(profile="development", database_url=database_url, issuer=issuer, kek=kek, notifier="outbox"))
    with cx.app.app_context():
        demo.seed(folder / "demo")
        made = api_clients.register(
            FUZZ_CLIENT,
            name="Fuzzing client",
            scopes=sorted(api_clients.KNOWN_SCOPES),
            auth_method="client_secret_basic",
            actor="fuzz",
        )
        db.engine.dispose()  # the server process owns the file from here on
    assert made.secret
    return made.secret


def start_server(folder: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    log.close()
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"idbb serve exited with {proc.returncode}:\n{(folder / 'server.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("idbb serve did not answer /health within 60 s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def token(base: str, secret: str) -> str:
    """A fresh access token holding every scope (client_credentials, client_secret_basic)."""
    from app.services.api_clients import KNOWN_SCOPES

    basic = base64.b64encode(f"{FUZZ_CLIENT}:{secret}".encode()).decode()
    answer = httpx.post(
        f"{base}/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials", "scope": " ".join(sorted(KNOWN_SCOPES))},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def has_security(document: Path) -> bool:
    spec = yaml.safe_load(document.read_text(encoding="utf-8"))
    return bool((spec.get("components") or {}).get("securitySchemes"))


def case_count(report: Path) -> int:
    """Test cases schemathesis sent for one document, from its NDJSON event stream."""
    count = 0
    if not report.exists():
        return count
    for line in report.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            count += len(event["ScenarioFinished"].get("recorder", {}).get("cases", {}) or {})
    return count


def fuzz(
    document: Path, base: str, bearer: str | None, args: argparse.Namespace, reports: Path, workdir: Path
) -> tuple[int, int]:
    """Run schemathesis on one document; return its exit code and the number of cases it sent."""
    ndjson = reports / f"{document.stem}.ndjson"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        "--url",
        base,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--report",
        "ndjson,junit",
        "--report-ndjson-path",
        str(ndjson),
        "--report-junit-path",
        str(reports / f"{document.stem}.junit.xml"),
        str(document),
    ]
    if bearer:
        command[-1:-1] = ["-H", f"Authorization: Bearer {bearer}"]
    command[-1:-1] = args.extra
    print(f"== fuzz {document.relative_to(ROOT)}", flush=True)
    started = time.monotonic()
    # cwd: the temporary folder, so schemathesis' and hypothesis' caches go away with it
    code = subprocess.call(command, cwd=workdir, preexec_fn=_die_with_parent)
    cases = case_count(ndjson)
    print(f"== {document.name}: exit {code}, {cases} cases, {time.monotonic() - started:.0f} s", flush=True)
    return code, cases


def print_server_errors(log: Path) -> None:
    """The server's error records, one line each: path, exception and its message (the traceback is in the log).

    Printed whenever there are any: an exception the server logged but answered below 500 is worth a look too."""
    seen: set[str] = set()
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") not in ("ERROR", "CRITICAL"):
            continue
        last = (record.get("exc_info") or "").strip().splitlines()[-1:] or [record.get("message", "")]
        summary = f"  {record.get('path', '?')}: {last[0][:300]}"
        if summary not in seen:
            if not seen:
                print("== server errors (full tracebacks: server.log in --report-dir)")
            seen.add(summary)
            print(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("documents", nargs="*", type=Path, help="OpenAPI documents (default: every openapi/*.yaml)")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="cases per operation")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--report-dir", type=Path, default=None, help="keep reports and the server log here")
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)  # after "--": options for schemathesis run
    args = parser.parse_args(argv[:cut])
    args.extra = argv[cut + 1 :]
    documents = [d.resolve() for d in args.documents] or sorted((ROOT / "openapi").glob("*.yaml"))

    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGINT, _raise_exit)
    folder = Path(tempfile.mkdtemp(prefix="idbb-fuzz-"))
    proc: subprocess.Popen[bytes] | None = None
    results: dict[str, tuple[int, int]] = {}
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        kek = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
        env.update(
            {
                "IDBB_PROFILE": "development",
                "IDBB_DATABASE_URL": f"sqlite:///{folder / 'idbb.db'}",
                "IDBB_ISSUER": base,
                "IDBB_KEK": kek,
                "IDBB_NOTIFIER": "outbox",
                "IDBB_LOG_LEVEL": "WARNING",
            }
        )
        secret = seed(env["IDBB_DATABASE_URL"], base, kek, folder)
        proc = start_server(folder, env, port)
        reports = args.report_dir.resolve() if args.report_dir else folder / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        for document in documents:
            bearer = token(base, secret) if has_security(document) else None
            results[document.name] = fuzz(document, base, bearer, args, reports, folder)
            if proc.poll() is not None:
                print(f"idbb serve died during {document.name}", file=sys.stderr)
                results[document.name] = (1, results[document.name][1])
                break
    finally:
        stop(proc)
        if (folder / "server.log").exists():
            print_server_errors(folder / "server.log")
        if args.report_dir and (folder / "server.log").exists():
            shutil.copy(folder / "server.log", args.report_dir / "server.log")
        shutil.rmtree(folder, ignore_errors=True)
    print("== fuzz summary (cases per document)")
    for name, (code, cases) in results.items():
        print(f"  {name:28} {cases:6} cases  {'ok' if code == 0 else f'FAILED (exit {code})'}")
    print(f"  {'total':28} {sum(c for _, c in results.values()):6} cases")
    failed = sum(code != 0 for code, _ in results.values()) + len(documents) - len(results)
    print(f"fuzz: {len(documents) - failed} passed, {failed} failed")  # one per document, CI's closing-line format
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
