"""The ``idbb`` command as an operator uses it, on a database of its own."""

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main as cli
from tests.conftest import random_kek
from tests.mailbox import free_port


@pytest.fixture
def env(tmp_path, monkeypatch):
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("IDBB_DATABASE_URL", db_url)
    monkeypatch.setenv("IDBB_ISSUER", "https://idbb.example.gov")
    monkeypatch.setenv("IDBB_KEK", random_kek())
    monkeypatch.setenv("IDBB_PROFILE", "production")
    return db_url


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_serve_refuses_an_unmigrated_database(env):
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code != 0
    assert "idbb init-db" in result.output


def test_unsafe_configuration_fails_at_start_with_a_clear_message(env, monkeypatch):
    from app.config import DEMO_KEK

    monkeypatch.setenv("IDBB_KEK", DEMO_KEK)
    result = CliRunner().invoke(cli, ["init-db"])
    assert result.exit_code != 0
    assert "demo key-encryption key" in result.output


def test_init_db_then_register_api_client_then_rotate_keys(env, tmp_path):
    first = run("init-db")
    assert first.exit_code == 0 and "4 new signing key" in first.output  # RSA, EC, OKP + RSA encryption
    again = run("init-db")
    assert "0 new signing key" in again.output  # idempotent

    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    public = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    key_file = tmp_path / "pub.jwk.json"
    key_file.write_text(public)
    made = run("clients", "add-api", "registry-office", "--scopes", "add_oidc_client,read_oidc_client",
               "--public-key", str(key_file))
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["scopes"] == ["add_oidc_client", "read_oidc_client"]

    secret = run("clients", "add-api", "batch", "--scopes", "read_oidc_client", "--auth", "client_secret_basic")
    assert "client_secret" in secret.output

    bad = CliRunner().invoke(cli, ["clients", "add-api", "x", "--scopes", "superuser", "--public-key", str(key_file)])
    assert bad.exit_code != 0 and "invalid_scope" in bad.output

    listed = run("clients", "list")
    assert "registry-office" in listed.output and "batch" in listed.output
    assert "client_secret" not in listed.output

    rotated = run("keys", "rotate", "--kty", "EC")
    assert rotated.exit_code == 0 and "published" in rotated.output
    assert len(run("keys", "list").output.strip().splitlines()) == 5
    assert run("audit", "verify").exit_code == 0


def test_demo_serves_jwks_health_ready_metrics_and_client_management(tmp_path):
    """`idbb demo` on a fresh directory: a real server process answering on a real port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.time() < deadline, "demo server did not come up"
            time.sleep(0.2)
        assert httpx.get(base + "/ready").json()["status"] == "ready"
        assert httpx.get(base + "/.well-known/jwks.json").json()["keys"][0]["kty"] == "RSA"
        assert "idbb_http_requests_total" in httpx.get(base + "/metrics").text
        secret = (tmp_path / "idbb-demo" / "demo-admin-basic.secret").read_text().strip()
        token = httpx.post(base + "/oauth/token", auth=("demo-admin-basic", secret),
                           data={"grant_type": "client_credentials"}).json()["access_token"]
        got = httpx.get(base + "/client-mgmt/oidc-client/demo-rp", headers={"Authorization": f"Bearer {token}"})
        assert got.json()["response"]["clientId"] == "demo-rp"
        enrolled = httpx.get(base + "/v1/enrollments/DEMO-0001?transactionId=t",
                             headers={"Authorization": f"Bearer {token}"})
        assert enrolled.json()["status"] == "FINALIZED"
        assert (tmp_path / "idbb-demo.db").exists()
        assert oct((tmp_path / "idbb-demo" / "demo-admin.private.jwk.json").stat().st_mode & 0o777) == "0o600"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "demo-admin" in out and "jwks.json" in out
    assert out.count("demo identity") == 2 and "PIN 482913" in out


