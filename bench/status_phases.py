"""Phase timings of the 100,000-credential bulk revoke and re-publication, in this process (run by hand; not a test).

    python bench/status_phases.py [--credentials N] [--lists L] [--database-url URL] [--redis-url URL]

Seeds the same data as ``bench/status.py`` (its ``seed``), then, without an HTTP server, wraps the steps of the
bulk change and of the publication with timers (wall and this process's CPU seconds) and prints them with the
CPU seconds of this process's PostgreSQL backend: selection count, the status rows' UPDATE (with the outbox events
on PostgreSQL), the audit/outbox writing, marking lists changed; reading the entries and building the bits, zlib,
signing the JWT and the CWT. The database is dropped at the end.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import status as bench  # bench/status.py, next to this file
from enrollment import BenchRun, drop_database, server_env

TIMES: dict[str, list[float]] = {}


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            entry = TIMES.setdefault(name, [0.0, 0.0, 0])
            entry[0] += time.perf_counter() - wall
            entry[1] += time.process_time() - cpu
            entry[2] += 1

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_status_phases")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    run = BenchRun(args.database_url, prefix="idbb-bench-phases-")
    env = server_env(
        run.base,
        run.port,
        args.database_url,
        1,
        IDBB_REDIS_URL=args.redis_url,
        IDBB_STATUS_LIST_SIZE=str(bench.LIST_SIZE),
        IDBB_LIFECYCLE_BULK_THRESHOLD=str(args.credentials * 2),
        IDBB_STATUS_PUBLISH_DELAY="0",
    )
    run.create_database(env)
    try:
        api = run.add_api_client(env, "bench-revoker", "issuance.revoke issuance.read")
        lists = bench.seed(env, api["client_id"], args.credentials, args.lists)
        from sqlalchemy import text

        from app import create_app
        from app.config import Settings
        from app.extensions import db, state
        from app.formats import status_list
        from app.services.lifecycle import changes, jobs
        from app.services.status import publication

        jobs._counts = timed("selection count", jobs._counts)  # type: ignore[assignment]
        changes._update_returning = timed("UPDATE entries (+ outbox on PG)", changes._update_returning)  # type: ignore[assignment]
        changes._announce = timed("audit (+ outbox on SQLite)", changes._announce)  # type: ignore[assignment]
        publication.mark_changed = timed("mark lists changed", publication.mark_changed)  # type: ignore[assignment]
        publication._array = timed("publish: read entries, build bits", publication._array)  # type: ignore[assignment]
        status_list.StatusArray.compress = timed("publish: zlib (level 9)", status_list.StatusArray.compress)  # type: ignore[method-assign]
        publication.sign_status_list_jwt = timed("publish: sign JWT (with zlib)", publication.sign_status_list_jwt)  # type: ignore[assignment]
        publication.sign_status_list_cwt = timed("publish: sign CWT (zlib reused)", publication.sign_status_list_cwt)  # type: ignore[assignment]
        cx = create_app(Settings.from_env())
        with cx.app.app_context():
            for list_id in lists:
                publication.published(list_id)
            TIMES.clear()
            backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()

            def pg_cpu() -> float:
                raw = Path(f"/proc/{backend}/stat").read_text()
                rest = raw[raw.rindex(")") + 2 :].split()
                return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")

            p0, t0, c0 = pg_cpu(), time.perf_counter(), time.process_time()
            code, answer = jobs.bulk(
                {"action": "revoke", "configurationId": bench.CONFIG, "reason": "bench"}, client_id=api["client_id"]
            )
            p1, t1, c1 = pg_cpu(), time.perf_counter(), time.process_time()
            assert code == 200 and answer["count"] == args.credentials, answer
            db.session.remove()
            state().cache.clear()
            for list_id in lists:
                publication.published(list_id)
            p2, t2, c2 = pg_cpu(), time.perf_counter(), time.process_time()
            db.engine.dispose()
        print(f"bulk revoke: {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU here, {p1 - p0:.2f} s CPU in PostgreSQL")
        print(f"re-publish {len(lists)} lists: {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU here, {p2 - p1:.2f} s PG")
        for name, (wall, cpu, calls) in TIMES.items():
            print(f"  {name:38} {wall:7.3f} s wall {cpu:7.3f} s CPU  x{calls}")
    finally:
        drop_database(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
