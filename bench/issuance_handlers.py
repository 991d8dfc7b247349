"""The credential request's use case against the token exchange's, in one process, by thread CPU (run by hand).

    python bench/issuance_handlers.py [--credentials N] [--chunk C] [--profile credential|token] [--database-url URL]
                                      [--redis-url URL]

What ``bench/issuance.py`` measures through HTTP minus the stack both share (uvicorn, Connexion, Flask): the
service functions alone, ``wallet.credential`` (``POST /credential``, one SD-JWT VC) and
``pre_authorized.exchange`` (the pre-authorized token exchange), on PostgreSQL + Redis.

1. drops and re-creates the database, runs ``idbb init-db``, registers a backend API client;
2. before the clock: 2 N issuances with explicit claims (``backend.create``), their offers fetched, N codes
   redeemed for tokens, N c_nonces, N proofs signed with PyJWT;
3. measured: N credential requests and N token exchanges, interleaved in chunks of C so that whatever else the
   machine does weighs on both alike; ``time.thread_time`` of this thread (not the audit sealer's, which both feed
   one event each);
4. prints CPU per operation and the ratio (issue 16's target: a credential request no dearer than a token
   exchange); ``--profile`` writes a cProfile of one side to ``bench-<side>.prof``.
"""

import argparse
import cProfile
import os
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from enrollment import BenchRun, drop_database, server_env
from issuance import CLAIMS, OUTLIVE_THE_RUN, PRE_AUTH, SD_JWT, proofs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=800)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--profile", choices=["credential", "token"])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_handlers")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    run = BenchRun(args.database_url, prefix="idbb-bench-handlers-")
    env = server_env(run.base, run.port, args.database_url, 1, IDBB_REDIS_URL=args.redis_url, **OUTLIVE_THE_RUN)
    run.create_database(env)
    try:
        api = run.add_api_client(env, "bench-backend", "issuance.write issuance.read")
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        os.environ.update(env)
        return measure(args, run.base, api["client_id"])
    finally:
        drop_database(args.database_url)


def measure(args: argparse.Namespace, base: str, client_id: str) -> int:
    from app import create_app
    from app.services.issuance import backend, nonces, offers, wallet
    from app.services.oidc import token_endpoint

    app = create_app().app
    n = args.credentials

    def exchange(code: str) -> dict[str, Any]:
        result = token_endpoint.token({"grant_type": [PRE_AUTH], "pre-authorized_code": [code]}, {}, parsable=True)
        assert result.status == 200, result.body
        return result.body

    with app.test_request_context("/"):
        codes = []
        for _ in range(2 * n):
            made = backend.create(
                {"credentialConfigurationId": SD_JWT, "claims": CLAIMS, "expiresIn": 3600}, client_id=client_id
            )
            issuance_id = parse_qs(urlsplit(made["offerUri"]).query)["credential_offer_uri"][0].rsplit("/", 1)[1]
            codes.append(offers.fetch(issuance_id)["grants"][PRE_AUTH]["pre-authorized_code"])
        tokens = [exchange(code) for code in codes[:n]]
        signed = proofs(base, [nonces.issue() for _ in range(n)])
    jobs = list(zip(tokens, signed, strict=True))

    def credential(job: tuple[dict[str, Any], str]) -> None:
        token, proof = job
        ident = token["authorization_details"][0]["credential_identifiers"][0]
        body = {"credential_identifier": ident, "proofs": {"jwt": [proof]}}
        answer = wallet.credential(body, {"Authorization": "Bearer " + token["access_token"]})
        assert answer.status == 200, answer

    spent = {"credential": 0.0, "token": 0.0}
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    with app.test_request_context("/"):
        for start in range(0, n, args.chunk):
            chunks = {"credential": jobs[start : start + args.chunk], "token": codes[n + start : n + start + args.chunk]}
            for side, items in chunks.items():
                call: Any = credential if side == "credential" else exchange
                if profiler is not None and side == args.profile:
                    profiler.enable()
                began = time.thread_time()
                for item in items:
                    call(item)
                spent[side] += time.thread_time() - began
                if profiler is not None and side == args.profile:
                    profiler.disable()
    from app.services import audit

    audit.stop_all()  # the sealer threads, before the database is dropped
    if profiler is not None:
        profiler.dump_stats(f"bench-{args.profile}.prof")
    per = {side: seconds / n * 1000 for side, seconds in spent.items()}
    print(
        f"credential request {per['credential']:.3f} ms, token exchange {per['token']:.3f} ms of thread CPU "
        f"(N = {n}): ratio {spent['credential'] / spent['token']:.3f}"
        + (" (profiled side inflated)" if profiler is not None else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
