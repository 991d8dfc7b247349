"""Credential issuance benchmark against the real server (run by hand; not a test).

    python bench/issuance.py [--credentials N] [--concurrency C] [--workers W] [--database-url URL]
                             [--redis-url URL]

1. drops and re-creates a PostgreSQL database, sets ``IDBB_*`` (profile ``development``, offers, c_nonces and proofs
   that outlive the run, Redis for the replay store), runs ``idbb init-db``, registers a backend API client with
   ``issuance.write`` (``client_secret_basic``);
2. measures in this process the raw signing rate of an SD-JWT VC and of an mdoc (``app.formats``, one core);
3. starts ``gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w W`` and waits for ``/health``;
4. before the clock: ``POST /v1/issuance`` N times per format (explicit claims), fetches every offer, redeems
   the SD-JWT VC offers' codes for tokens (that is the measured token exchange, phase "token"), redeems the mdoc
   ones, gets a c_nonce per request (``POST /nonce``) and signs every proof with PyJWT;
5. measured: ``GET /health`` (HTTP baseline), N pre-authorized token exchanges, N SD-JWT VC credential requests,
   N mdoc credential requests, each at concurrency C, with CPU milliseconds per operation per process group;
6. prints one table, stops the server and drops the database.
"""

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from enrollment import BenchRun, arm_timeout, for_each, log, run_bench, server_env, start_server, wait_healthy
from jwt.algorithms import ECAlgorithm
from oidc import TRANSPORT_ERRORS, LeanClient, Run, _Connection, cpu_delta, cpu_snapshot

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
SD_JWT = "eu.europa.ec.eudi.pid_vc_sd_jwt"
MDOC = "eu.europa.ec.eudi.pid_mdoc"
CLAIMS = {
    "family_name": "Diallo",
    "given_name": "Amina",
    "birthdate": "1990-04-12",
    "birth_date": "1990-04-12",
    "personal_administrative_number": "1234567890",
}


#: offers, c_nonces, proofs and access tokens minted before the clock must still be good when they are used
OUTLIVE_THE_RUN = {
    "IDBB_CREDENTIAL_OFFER_TTL": "3600",
    "IDBB_C_NONCE_TTL": "3600",
    "IDBB_PROOF_MAX_AGE": "3600",
    "IDBB_ACCESS_TOKEN_TTL": "3600",
}


class JsonClient(LeanClient):
    async def post_json(self, path: str, body: Any, headers: dict[str, str]) -> Any:
        payload = json.dumps(body).encode("utf-8")
        lines = [
            f"POST {path} HTTP/1.1\r\n",
            self._host_header,
            "Content-Type: application/json\r\n",
            f"Content-Length: {len(payload)}\r\n",
            *[f"{k}: {v}\r\n" for k, v in headers.items()],
        ]
        conn = self._idle.pop() if self._idle else _Connection(*await asyncio.open_connection(self.host, self.port))
        try:
            reply, keep_alive = await conn.exchange("".join(lines).encode("latin-1") + b"\r\n" + payload)
        except BaseException:
            conn.close()
            raise
        (self._idle.append(conn) if keep_alive else conn.close())
        return reply


def raw_rates(seconds: float) -> tuple[float, float]:
    """SD-JWT VCs and mdocs signed per second by app.formats alone (one core), with fresh holder keys."""
    from jwcrypto import jwk

    from app.formats import x509
    from app.formats.mdoc import issue_mdoc
    from app.formats.sd_jwt_vc import issue_sd_jwt_vc
    from app.formats.status_list import status_reference

    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k")
    holder = jwk.JWK(**jwk.JWK.generate(kty="EC", crv="P-256").export_public(as_dict=True))
    now = int(time.time())
    claims = {k: CLAIMS[k] for k in ("family_name", "given_name", "birthdate", "personal_administrative_number")}
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        issue_sd_jwt_vc(
            issuer="https://i.example",
            vct="urn:eudi:pid:1",
            claims=claims,
            holder_key=holder,
            key=key,
            alg="ES256",
            iat=now,
            exp=now + 86400,
            status=status_reference(count, "https://i.example/s/1"),
            disclosable=[(k,) for k in claims],
        )
        count += 1
    sd_rate = count / (time.perf_counter() - start)
    moment = datetime.now(UTC).replace(microsecond=0)
    iaca_key, ds_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    iaca = x509.iaca_certificate(
        iaca_key,
        common_name="bench",
        country="ZZ",
        not_before=moment - timedelta(1),
        not_after=moment + timedelta(3650),
        issuer_uri="https://i.example",
    )
    ds = x509.document_signer_certificate(
        iaca_key,
        iaca,
        ds_key.public_key(),
        common_name="ds",
        not_before=moment - timedelta(hours=1),
        not_after=moment + timedelta(400),
        issuer_uri="https://i.example",
    )
    device = ec.generate_private_key(ec.SECP256R1()).public_key()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        issue_mdoc(
            doctype="eu.europa.ec.eudi.pid.1",
            namespaces={
                "eu.europa.ec.eudi.pid.1": {"family_name": "Diallo", "given_name": "Amina", "issuing_country": "ZZ"}
            },
            device_key=device,
            key=ds_key,
            certificate=ds,
            signed=moment,
            valid_from=moment,
            valid_until=moment + timedelta(365),
            status=status_reference(count, "https://i.example/s/1"),
        )
        count += 1
    return sd_rate, count / (time.perf_counter() - start)


def holder() -> tuple[bytes, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem, ECAlgorithm.to_jwk(private.public_key(), as_dict=True)


def set_up(base: str, secret: tuple[str, str], count: int) -> dict[str, list[Any]]:
    """Offers, codes, tokens, nonces and proofs, all before the clock starts (httpx, sequential enough)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        token = http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=secret).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        codes: dict[str, list[str]] = {SD_JWT: [], MDOC: []}
        for config in (SD_JWT, MDOC):
            for _ in range(count):
                created = http.post(
                    "/v1/issuance",
                    headers=auth,
                    json={"credentialConfigurationId": config, "claims": CLAIMS, "expiresIn": 3600},
                )
                assert created.status_code == 201, created.text
                reference = parse_qs(urlsplit(created.json()["offerUri"]).query)["credential_offer_uri"][0]
                offer = http.get(reference[len(base) :]).json()
                codes[config].append(offer["grants"][PRE_AUTH]["pre-authorized_code"])
        mdoc_tokens = [
            http.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": c}).json() for c in codes[MDOC]
        ]
        nonces = [http.post("/nonce").json()["c_nonce"] for _ in range(2 * count)]
    return {"sd_codes": codes[SD_JWT], "mdoc_tokens": mdoc_tokens, "nonces": nonces}


def proofs(base: str, nonces: list[str]) -> list[str]:
    out = []
    for nonce in nonces:
        pem, public = holder()
        out.append(
            pyjwt.encode(
                {"aud": base, "iat": int(time.time()), "nonce": nonce},
                pem,
                algorithm="ES256",
                headers={"typ": "openid4vci-proof+jwt", "jwk": public},
            )
        )
    return out


async def drive(base: str, jobs: list[Any], concurrency: int, send: Any, expected: int) -> Run:
    run = Run()
    client = JsonClient(base)
    try:
        run.elapsed = await for_each(jobs, concurrency, lambda job: run.timed(send(client, job), expected, TRANSPORT_ERRORS))
    finally:
        await client.aclose()
    return run


def body(run: BenchRun, args: argparse.Namespace) -> int:
    env = server_env(
        run.base,
        run.port,
        args.database_url,
        args.workers,
        IDBB_REDIS_URL=args.redis_url,
        IDBB_WORKER_THREADS="2",
        **OUTLIVE_THE_RUN,
    )
    run.create_database(env)
    api = run.add_api_client(env, "bench-backend", "issuance.write issuance.read")
    sd_raw, mdoc_raw = raw_rates(2.0)
    log(f"raw signing: {sd_raw:.0f} SD-JWT VC/s, {mdoc_raw:.0f} mdoc/s (one core, app.formats)")
    run.proc = start_server(env, run.cwd, run.port, args.workers, run.log_path)
    wait_healthy(run.base, run.proc, run.log_path)
    n = args.credentials
    prepared = set_up(run.base, (api["client_id"], api["client_secret"]), n)
    all_proofs = proofs(run.base, prepared["nonces"])
    log(f"set-up done: {n} offers per format, {2 * n} nonces and proofs")
    master = run.proc.pid
    results: list[tuple[str, Run, dict[str, float]]] = []

    def measure(name: str, jobs: list[Any], send: Any, expected: int) -> list[Any]:
        before = cpu_snapshot(master)
        replies: list[Any] = []

        async def keep(client: JsonClient, job: Any) -> Any:
            reply = await send(client, job)
            replies.append(reply)
            return reply

        result = asyncio.run(drive(run.base, jobs, args.concurrency, keep, expected))
        results.append((name, result, cpu_delta(before, cpu_snapshot(master))))
        log(f"{name}: {result.rate:.0f}/s, failures {result.failures} {result.first_error or ''}")
        return replies

    measure("GET /health", list(range(n)), lambda c, _: c.get("/health"), 200)
    replies = measure(
        "token (pre-authorized)",
        prepared["sd_codes"],
        lambda c, code: c.post("/oauth/token", data={"grant_type": PRE_AUTH, "pre-authorized_code": code}),
        200,
    )
    sd_tokens = [r.json() for r in replies]

    def credential_job(token: dict[str, Any], proof: str) -> tuple[dict[str, Any], str]:
        return token, proof

    def send_credential(client: JsonClient, job: tuple[dict[str, Any], str]) -> Any:
        token, proof = job
        ident = token["authorization_details"][0]["credential_identifiers"][0]
        return client.post_json(
            "/credential",
            {"credential_identifier": ident, "proofs": {"jwt": [proof]}},
            {"Authorization": f"Bearer {token['access_token']}"},
        )

    measure(
        "credential dc+sd-jwt",
        [credential_job(t, p) for t, p in zip(sd_tokens, all_proofs[:n], strict=True)],
        send_credential,
        200,
    )
    measure(
        "credential mso_mdoc",
        [credential_job(t, p) for t, p in zip(prepared["mdoc_tokens"], all_proofs[n:], strict=True)],
        send_credential,
        200,
    )
    print(
        f"\n{'phase':28} {'ops/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'server ms/op':>13} {'pg ms/op':>9} "
        f"{'redis':>6} {'client':>7} {'other':>6}"
    )
    for name, result, cpu in results:
        lat = sorted(result.latencies)
        per = 1000 / max(1, len(lat))
        print(
            f"{name:28} {result.rate:8.0f} {lat[len(lat) // 2] * 1000:8.1f} {lat[int(len(lat) * 0.95)] * 1000:8.1f} "
            f"{cpu['server'] * per:13.2f} {cpu['postgres'] * per:9.2f} {cpu['redis'] * per:6.2f} "
            f"{cpu['client'] * per:7.2f} {cpu['other'] * per:6.2f}"
        )
    print(f"raw signing (one core): {sd_raw:.0f} SD-JWT VC/s, {mdoc_raw:.0f} mdoc/s")
    return 0 if all(r.failures == 0 for _, r, _ in results) else 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_issuance")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    arm_timeout(args.timeout)
    run = BenchRun(args.database_url, prefix="idbb-bench-issuance-")
    return run_bench(run, lambda r: body(r, args), keep_database=args.keep_database)


if __name__ == "__main__":
    sys.exit(main())
