"""Datastore benchmark against the real server (run by hand; not a test): authentic-source bulk upload, then
offers from the documents (issue 18).

    python bench/datastore.py [--documents N] [--offers M] [--concurrency C] [--workers W]
                              [--database-url URL] [--redis-url URL]

1. drops and re-creates a PostgreSQL database, runs ``idbb init-db``, registers an API client with the datastore,
   identity and issuance scopes (``client_secret_basic``), starts ``idbb serve`` with W workers (gunicorn +
   uvicorn workers, 2 Flask threads each) and gets one access token;
2. measured, one after the other: ``GET /health`` N times at concurrency C (the same-run HTTP baseline); one
   ``POST /api/v1/identity/mapping/bulk`` of N mappings and one ``POST /api/v1/datastore/bulk`` of N diploma
   documents (each one transaction: mappings/s and documents/s); then N ``POST /v1/issuance`` with a document as
   ``subject`` at concurrency C (offers/s), and as many person-free offers of the wallet chooser ``GET
   /offers/diploma/native`` (JSON, with its SVG QR code), with CPU milliseconds per operation per process group;
3. prints one table, stops the server and drops the database.
"""

import argparse
import asyncio
import sys
import time
from typing import Any

import httpx
from enrollment import BenchRun, arm_timeout, log, run_bench, server_env
from issuance import JsonClient, drive
from oidc import Run, cpu_delta, cpu_snapshot

SOURCE = "hr.example.org"
SCOPES = "datastore.read datastore.write identity.read identity.write issuance.write issuance.read"


def mapping(n: int) -> dict[str, Any]:
    return {
        "authentic_source": SOURCE,
        "authentic_source_person_id": f"EMP-{n:06d}",
        "attributes": {"family_name": f"Family{n}", "given_name": f"Given{n}", "birth_date": "1990-05-15"},
    }


def document(n: int) -> dict[str, Any]:
    return {
        "meta": {"authentic_source": SOURCE, "scope": "diploma", "document_id": f"diploma-{n:06d}"},
        "identity_mapping_ids": [f"EMP-{n:06d}"],
        "document_data": {
            "degree_type": "Bachelor of Science",
            "field_of_study": "Computer Science",
            "issuing_institution": "Example University",
            "graduation_date": "2025-05-15",
            "gpa": "3.8",
            "credits_earned": 120,
        },
    }


def body(run: BenchRun, args: argparse.Namespace) -> int:
    env = server_env(
        run.base,
        run.port,
        args.database_url,
        args.workers,
        IDBB_REDIS_URL=args.redis_url,
        IDBB_ACCESS_TOKEN_TTL="3600",
        IDBB_CREDENTIAL_OFFER_TTL="3600",
        IDBB_WORKER_THREADS="2",
        IDBB_THROTTLE_PER_SOURCE="0",  # the wallet chooser is throttled per source; the load comes from one address
    )
    run.create_database(env)
    api = run.add_api_client(env, "bench-source", SCOPES)
    run.start(env, args.workers)
    token = run.access_token(api, SCOPES)
    auth = {"Authorization": f"Bearer {token}"}
    n = args.documents
    master = run.proc.pid if run.proc is not None else 0
    rows: list[tuple[str, float, int, dict[str, float], list[float]]] = []

    def concurrent(name: str, jobs: list[Any], send: Any, expected: int) -> Run:
        before = cpu_snapshot(master)
        result = asyncio.run(drive(run.base, jobs, args.concurrency, send, expected))
        rows.append((name, result.rate, result.failures, cpu_delta(before, cpu_snapshot(master)), result.latencies))
        log(f"{name}: {result.rate:.0f}/s, failures {result.failures} {result.first_error or ''}")
        return result

    def bulk(name: str, path: str, payload: dict[str, Any], count: int) -> bool:
        before = cpu_snapshot(master)
        start = time.perf_counter()
        response = httpx.post(run.base + path, json=payload, headers=auth, timeout=900)
        elapsed = time.perf_counter() - start
        ok = response.status_code == 200 and response.json() == {"count": count}
        rows.append((name, count / elapsed, 0 if ok else 1, cpu_delta(before, cpu_snapshot(master)), [elapsed] * count))
        log(f"{name}: {count} in {elapsed:.1f} s = {count / elapsed:.0f}/s ({response.status_code})")
        return ok

    concurrent("GET /health", list(range(n)), lambda c, _: c.get("/health"), 200)
    ok = bulk(
        "mappings (one bulk)", "/api/v1/identity/mapping/bulk", {"mappings": {f"m{i}": mapping(i) for i in range(n)}}, n
    )
    ok = (
        bulk("documents (one bulk)", "/api/v1/datastore/bulk", {"documents": {f"d{i}": document(i) for i in range(n)}}, n)
        and ok
    )

    def offer(client: JsonClient, i: int) -> Any:
        return client.post_json(
            "/v1/issuance",
            {"subject": {"authentic_source": SOURCE, "scope": "diploma", "document_id": f"diploma-{i:06d}"}},
            auth,
        )

    offers = concurrent("offers (POST /v1/issuance)", list(range(min(n, args.offers or n))), offer, 201)
    chooser = concurrent(
        "chooser (GET /offers/diploma/native)",
        list(range(min(n, args.offers or n))),
        lambda c, _: c.get("/offers/diploma/native", headers={"Accept": "application/json"}),
        200,
    )
    print(f"\n{'phase':30} {'ops/s':>8} {'p50 ms':>8} {'server ms/op':>13} {'pg ms/op':>9} {'failures':>9}")
    for name, rate, failures, cpu, lat in rows:
        per = 1000 / max(1, len(lat))
        median = sorted(lat)[len(lat) // 2] * 1000 if lat else 0.0
        print(f"{name:30} {rate:8.0f} {median:8.1f} {cpu['server'] * per:13.2f} {cpu['postgres'] * per:9.2f} {failures:9d}")
    return 0 if ok and offers.failures == chooser.failures == 0 else 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--offers", type=int, default=0, help="offers to make (default: one per document)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_datastore")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    arm_timeout(args.timeout)
    run = BenchRun(args.database_url, prefix="idbb-bench-datastore-")
    return run_bench(run, lambda r: body(r, args), keep_database=args.keep_database)


if __name__ == "__main__":
    sys.exit(main())
