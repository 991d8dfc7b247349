"""The ``idbb`` command as an operator uses it, on a database of its own."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

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
    made = run(
        "clients",
        "add-api",
        "registry-office",
        "--scopes",
        "add_oidc_client,read_oidc_client",
        "--public-key",
        str(key_file),
    )
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
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
        token = httpx.post(
            base + "/oauth/token", auth=("demo-admin-basic", secret), data={"grant_type": "client_credentials"}
        ).json()["access_token"]
        got = httpx.get(base + "/client-mgmt/oidc-client/demo-rp", headers={"Authorization": f"Bearer {token}"})
        assert got.json()["response"]["clientId"] == "demo-rp"
        logo = got.json()["response"]["logoUri"]  # the demo's own logo, not Swagger UI's favicon
        assert logo == base + "/ui/static/demo-rp-logo.svg"
        assert httpx.get(logo).headers["content-type"].startswith("image/svg+xml")
        enrolled = httpx.get(
            base + "/v1/enrollments/DEMO-0001?transactionId=t", headers={"Authorization": f"Bearer {token}"}
        )
        assert enrolled.json()["status"] == "FINALIZED"
        assert (tmp_path / "idbb-demo.db").exists()
        assert oct((tmp_path / "idbb-demo" / "demo-admin.private.jwk.json").stat().st_mode & 0o777) == "0o600"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "demo-admin" in out and "jwks.json" in out
    assert out.count("demo identity") == 2 and "PIN 482913" in out


# --- the front door: `idbb demo --no-serve` as a newcomer runs it, then `idbb ...` in the same folder ----------


@pytest.fixture
def demo_dir(tmp_path, monkeypatch):
    """A fresh folder with no IDBB_* variable set, as on a newcomer's machine; the demo made there."""
    for name in [n for n in os.environ if n.startswith("IDBB_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    made = CliRunner().invoke(cli, ["demo", "--no-serve", "--port", "8765"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    return made.stdout


def test_demo_lists_every_api_documentation_and_no_stray_keys_line(demo_dir):
    from app.config import Settings

    documents = sorted(p.stem for p in Path(Settings().openapi_dir).glob("*.yaml"))
    assert len(documents) >= 9
    for name in documents:
        assert f"http://127.0.0.1:8765/docs/{name}/" in demo_dir
    assert not [line for line in demo_dir.splitlines() if line.lstrip().startswith("{")]


def test_demo_prints_the_token_request_for_the_login_url_it_prints(demo_dir):
    """The curl after the login URL carries that URL's PKCE verifier and redirect URI, at the demo's issuer,
    with a client assertion made by this idbb (not a placeholder)."""
    from urllib.parse import parse_qs, urlsplit

    from app.formats.pkce import s256

    login = next(line.strip() for line in demo_dir.splitlines() if "/authorize?" in line)
    params = {k: v[0] for k, v in parse_qs(urlsplit(login).query).items()}
    request = demo_dir[demo_dir.index(login) :]
    verifier = re.search(r"code_verifier=(\S+)", request).group(1)
    assert s256(verifier) == params["code_challenge"] and params["client_id"] == "demo-rp"
    assert "curl -s http://127.0.0.1:8765/oauth/token -d grant_type=authorization_code" in request
    assert f"redirect_uri={params['redirect_uri']}" in request
    assert re.search(r"client_assertion=\$\([^)]*(idbb|-m app\.cli) clients assertion demo-rp\)", request)


def test_demo_rp_can_use_every_login_method(demo_dir):
    listed = run("clients", "list")
    acrs = next(line for line in listed.stdout.splitlines() if line.startswith("demo-rp\t")).split("\t")[3].split()
    assert {
        "idbb:acr:static-code",
        "idbb:acr:generated-code",
        "idbb:acr:linked-wallet",
        "idbb:acr:linked-wallet-static-code",
    } <= set(acrs)


def test_operator_commands_in_the_demo_folder_find_the_demo(demo_dir):
    """`idbb clients list` there failed for want of IDBB_KEK; the demo's settings file supplies its profile,
    database and issuer, so the client assertion's default aud follows the demo's --port."""
    import jwt

    listed = run("clients", "list")
    assert listed.exit_code == 0 and {"demo-rp", "demo-admin", "demo-admin-basic"} <= {
        line.split("\t")[0] for line in listed.stdout.splitlines()
    }
    assert run("keys", "list").exit_code == 0 and run("audit", "verify").exit_code == 0
    made = run("clients", "assertion", "demo-rp")  # the key defaults to the demo's ./idbb-demo/demo-rp...
    claims = jwt.decode(made.stdout.strip(), options={"verify_signature": False})
    assert claims["aud"] == "http://127.0.0.1:8765/oauth/token" and claims["iss"] == "demo-rp"


def test_the_environment_wins_over_the_demo_settings_file(demo_dir, monkeypatch):
    import jwt

    monkeypatch.setenv("IDBB_ISSUER", "http://127.0.0.1:9999")
    claims = jwt.decode(run("clients", "assertion", "demo-rp").stdout.strip(), options={"verify_signature": False})
    assert claims["aud"] == "http://127.0.0.1:9999/oauth/token"


def test_the_demo_settings_file_never_lets_production_take_the_demo_kek(demo_dir, monkeypatch):
    """A production deployment run in a demo folder: its IDBB_PROFILE ignores the file, so it still needs its
    own KEK and refuses the demo one; a file naming production or carrying a key is refused outright."""
    from app.config import DEMO_KEK

    monkeypatch.setenv("IDBB_PROFILE", "production")
    monkeypatch.setenv("IDBB_ISSUER", "https://idbb.example.gov")
    no_kek = CliRunner().invoke(cli, ["clients", "list"])
    assert no_kek.exit_code != 0 and "IDBB_KEK" in no_kek.output
    monkeypatch.setenv("IDBB_KEK", DEMO_KEK)
    demo_kek = CliRunner().invoke(cli, ["clients", "list"])
    assert demo_kek.exit_code != 0 and "demo key-encryption key" in demo_kek.output
    monkeypatch.delenv("IDBB_PROFILE")
    monkeypatch.delenv("IDBB_KEK")
    settings = Path("idbb-demo.env")
    original = settings.read_text()
    for bad, says in (
        (original.replace("IDBB_PROFILE=development", "IDBB_PROFILE=production"), "IDBB_PROFILE"),
        (original + f"IDBB_KEK={DEMO_KEK}\n", "IDBB_KEK is never read from a settings file"),
    ):
        settings.write_text(bad)
        refused = CliRunner().invoke(cli, ["clients", "list"])
        assert refused.exit_code != 0 and says in refused.output
        assert "demo-rp" not in refused.stdout


def test_no_deprecation_warning_on_an_idbb_command(demo_dir):
    """Connexion's import of starlette.testclient warned (StarletteDeprecationWarning) on every command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDBB_")}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "clients", "list"],  # Python's default filters
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "demo-rp" in done.stdout
    assert "Warning" not in done.stderr, done.stderr


def test_demo_again_on_another_port_follows_it(demo_dir):
    """The demo's folder is reused: run again on another port, the settings, the assertion's aud and demo-rp's
    logo (shown on the login page) follow the new port instead of pointing at the old one."""
    import jwt

    from app.extensions import db as database
    from app.models.clients import Client

    again = CliRunner().invoke(cli, ["demo", "--no-serve", "--port", "8766"], catch_exceptions=False)
    assert again.exit_code == 0 and "http://127.0.0.1:8766/authorize?" in again.stdout
    claims = jwt.decode(run("clients", "assertion", "demo-rp").stdout.strip(), options={"verify_signature": False})
    assert claims["aud"] == "http://127.0.0.1:8766/oauth/token"
    from app.cli import _app

    with _app().app.app_context():
        logo = database.session.get(Client, "demo-rp").logo_uri
    assert logo == "http://127.0.0.1:8766/ui/static/demo-rp-logo.svg"
