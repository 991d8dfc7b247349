"""The ``idbb`` command: serve, init-db, demo, clients, keys, audit.

Every command builds the same app as the server (``create_app``) and runs use cases inside its
app context, so the CLI and the HTTP API share one code path.
"""

import json
import os
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import click
from jwcrypto import jwk

from app import create_app
from app.config import RELAXED_PROFILES, ConfigError, Settings, with_demo_settings, write_demo_settings
from app.errors import IdbbError
from app.extensions import db


def _environ() -> dict[str, str]:
    """``os.environ`` over the settings ``idbb demo`` left in the current folder (``idbb-demo.env``), so that
    operator commands run in a demo folder find its database and profile (``app.config.with_demo_settings``
    says when the file is ignored or refused). Says on stderr when the file is used."""
    try:
        env, used = with_demo_settings(os.environ, Path.cwd())
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    if used is not None and not _noted:
        _noted.append(used)  # once per command, however often it reads its settings
        click.echo(f"idbb: settings from {used.name} ({env.get('IDBB_PROFILE')} profile; the environment wins)", err=True)
    return env


_noted: list[Path] = []


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(_environ(), **overrides)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def _app(**overrides: Any) -> Any:
    try:
        return create_app(_settings(**overrides))
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def _idbb_command() -> str:
    """How to run this very ``idbb`` again, for the commands the demo prints (the venv may not be on PATH)."""
    if Path(sys.argv[0]).name == "idbb":
        return shlex.quote(os.path.abspath(sys.argv[0]))
    return f"{shlex.quote(sys.executable)} -m app.cli"


def _fail(exc: Exception) -> None:
    if isinstance(exc, IdbbError):
        raise click.ClickException(f"{exc.code}: {exc.description}")
    raise click.ClickException(str(exc))


@click.group()
def main() -> None:
    """idbb: GovStack Identity and Verification Building Block."""
    _noted.clear()  # each command says once where its settings came from


@main.command("init-db")
def init_db() -> None:
    """Apply database migrations and create the default signing keys."""
    from app.services import database, keys

    cx = _app()
    with cx.app.app_context():
        head = database.upgrade(db.engine)
        made = keys.ensure_keys(actor="cli:init-db")
    click.echo(f"database at revision {head}; {len(made)} new signing key(s) or encryption key(s)")


@main.command()
@click.option("--host", default=None, help="Bind address (IDBB_HOST).")
@click.option("--port", type=int, default=None, help="Port (IDBB_PORT).")
@click.option("--workers", type=int, default=None, help="Worker processes (IDBB_WORKERS).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the production server (uvicorn); refuses an un-migrated database."""
    import uvicorn

    from app.services.ops.startup import assert_ready_to_serve

    settings = _settings()
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    cx = _app()
    try:
        assert_ready_to_serve(cx.app)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if workers > 1:
        os.environ.update(_environ())  # the worker processes import app.asgi, which reads the environment only
        uvicorn.run(
            "app.asgi:app", host=host, port=port, workers=workers, proxy_headers=True, access_log=False, log_config=None
        )
    else:
        from app.services.lifecycle.jobs import start_sweeper

        start_sweeper(cx.app)
        uvicorn.run(cx, host=host, port=port, proxy_headers=True, access_log=False, log_config=None)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--profile", default="development", show_default=True, help="IDBB_PROFILE to run under.")
@click.option("--no-serve", is_flag=True, help="Create the demo data and exit.")
def demo(host: str, port: int, profile: str, no_serve: bool) -> None:
    """Create a demo database in the current directory with keys and clients, then serve it."""
    import uvicorn

    from app.services.ops import demo as demo_service

    overrides: dict[str, Any] = {"profile": profile, "issuer": f"http://{host}:{port}", "host": host, "port": port}
    if profile in ("development", "govstack-sandbox") and not os.environ.get("IDBB_NOTIFIER"):
        overrides["notifier"] = "outbox"  # one-time codes appear in the console (development only)
    if not os.environ.get("IDBB_DATABASE_URL"):
        overrides["database_url"] = "sqlite:///idbb-demo.db"
    cx = _app(**overrides)
    # every later `idbb ...` in this folder finds the demo (a database URL from the environment is not written)
    if profile in RELAXED_PROFILES:  # a settings file never names the production profile
        write_demo_settings(Path.cwd(), {f"IDBB_{name.upper()}": str(value) for name, value in overrides.items()})
    with cx.app.app_context():
        report = demo_service.seed(Path.cwd() / "idbb-demo", idbb=_idbb_command())
        if cx.app.extensions["idbb"].settings.is_sandbox:
            from app.services.ops import sandbox

            made = sandbox.seed()
            report += (
                "\nGovStack sandbox: relying party "
                + sandbox.SANDBOX_RP
                + ", transactions "
                + ", ".join(sandbox.SANDBOX_TRANSACTIONS)
                + ", individual "
                + sandbox.SANDBOX_INDIVIDUAL_ID
                + " (password 'password'), PKCE verifier "
                + sandbox.SANDBOX_CODE_VERIFIER
            )
            if made.get("rp_private_jwk"):
                key_file = Path.cwd() / "idbb-demo" / f"{sandbox.SANDBOX_RP}.private.jwk"
                key_file.write_text(made["rp_private_jwk"], encoding="utf-8")
                key_file.chmod(0o600)
                report += f"\n  its private key: {key_file}"
    click.echo(report)
    if not no_serve:
        uvicorn.run(cx, host=host, port=port, access_log=False, log_config=None)


@main.group()
def clients() -> None:
    """Register and list clients."""


@clients.command("add-api")
@click.argument("client_id")
@click.option("--scopes", required=True, help="Space- or comma-separated scopes.")
@click.option("--name", default=None, help="Display name (defaults to the id).")
@click.option(
    "--public-key", "public_key", default=None, help="Public JWK: a file path or the JSON itself (private_key_jwt)."
)
@click.option(
    "--auth",
    "auth_method",
    type=click.Choice(["private_key_jwt", "client_secret_basic"]),
    default="private_key_jwt",
    show_default=True,
)
@click.option(
    "--signature-required",
    is_flag=True,
    help="Enrollment client: refuse its enrollment requests without a valid JWS integrity block.",
)
def add_api(
    client_id: str, scopes: str, name: str | None, public_key: str | None, auth_method: str, signature_required: bool
) -> None:
    """Register a back-office API client holding SCOPES."""
    from app.services import api_clients

    key: Any = None
    if public_key:
        key = Path(public_key).read_text(encoding="utf-8") if Path(public_key).is_file() else public_key
    cx = _app()
    with cx.app.app_context():
        try:
            made = api_clients.register(
                client_id,
                name=name or client_id,
                scopes=scopes.replace(",", " ").split(),
                public_key=key,
                auth_method=auth_method,
                actor="cli:clients",
                signature_required=signature_required,
            )
        except IdbbError as exc:
            _fail(exc)
            return
    click.echo(
        json.dumps(
            {
                "client_id": made.client_id,
                "scopes": made.scopes,
                "auth_method": made.auth_method,
                **({"client_secret": made.secret} if made.secret else {}),
            },
            indent=2,
        )
    )
    if made.secret:
        click.echo("The client secret is shown once; idbb stores only its hash.", err=True)


@clients.command("list")
def list_clients() -> None:
    """List registered clients (no secrets)."""
    from sqlalchemy import select

    from app.models.clients import Client

    cx = _app()
    with cx.app.app_context():
        for row in db.session.execute(select(Client).order_by(Client.client_id)).scalars():
            click.echo(f"{row.client_id}\t{row.kind}\t{row.status}\t{' '.join(row.scopes or row.acr_values)}")


@clients.command("assertion")
@click.argument("client_id")
@click.option(
    "--key",
    "key_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="The client's private JWK file (default: the demo's ./idbb-demo/CLIENT_ID.private.jwk[.json]).",
)
@click.option("--aud", default=None, help="Audience (defaults to IDBB_ISSUER + /oauth/token).")
def assertion(client_id: str, key_file: str | None, aud: str | None) -> None:
    """Print a fresh private_key_jwt client assertion (RFC 7523), for curl and tests."""
    from app.formats.jose import sign_jwt

    if key_file is None:
        demo_keys = [Path.cwd() / "idbb-demo" / f"{client_id}.private.jwk{ext}" for ext in (".json", "")]
        found = next((path for path in demo_keys if path.is_file()), None)
        if found is None:
            raise click.UsageError(f"no --key given and no {demo_keys[0]}")
        key_file = str(found)
    key = jwk.JWK.from_json(Path(key_file).read_text(encoding="utf-8"))
    alg = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}[key.get("kty")]
    now = int(time.time())
    audience = aud or _settings().issuer + "/oauth/token"  # follows IDBB_ISSUER, or the demo's --host/--port
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    click.echo(sign_jwt(claims, key, alg))


@main.group()
def keys() -> None:
    """Manage idbb's signing keys."""


@keys.command("rotate")
@click.option("--kty", type=click.Choice(["RSA", "EC", "OKP"]), default="RSA", show_default=True)
@click.option(
    "--now",
    "immediate",
    is_flag=True,
    help="Sign with the new key at once, without publishing it ahead (the old one stays published).",
)
@click.option(
    "--use",
    type=click.Choice(["sig", "enc"]),
    default="sig",
    show_default=True,
    help="Rotate a signing key or the payload-encryption key (RSA only).",
)
@click.option(
    "--compromised",
    is_flag=True,
    help="The old key is compromised: withdraw it at once (implies --now; its tokens stop working).",
)
def rotate(kty: str, immediate: bool, use: str, compromised: bool) -> None:
    """Publish a new key; it signs after IDBB_KEY_PUBLISH_AHEAD seconds (or at once with --now)."""
    from app.services import keys as key_service

    cx = _app()
    with cx.app.app_context():
        try:
            row = key_service.rotate(kty, immediate=immediate, actor="cli:keys", use=use, compromised=compromised)
        except IdbbError as exc:
            _fail(exc)
            return
        click.echo(f"new {kty} {use} key {row.kid} published; in use from {row.not_before.isoformat()}")


@keys.command("list")
def list_keys() -> None:
    """List keys with their lifecycle instants."""
    from app.services import keys as key_service

    cx = _app()
    with cx.app.app_context():
        for row in key_service.list_keys():
            click.echo(
                f"{row.kid}\t{row.kty}\t{row.use}\t{row.alg}\tin_use_from={row.not_before.isoformat()}\t"
                f"retired={row.retired_at.isoformat() if row.retired_at else '-'}\t"
                f"published_until={row.publish_until.isoformat() if row.publish_until else '-'}"
            )


@main.group()
def audit() -> None:
    """Inspect the audit trail."""


@audit.command("verify")
def verify() -> None:
    """Check the hash chain; names the first broken link and exits 1 if there is one."""
    from app.services import audit as audit_service

    cx = _app()
    with cx.app.app_context():
        report = audit_service.verify()
    if report.ok:
        click.echo(f"audit chain intact: {report.events} event(s)")
        return
    click.echo(
        f"audit chain broken at event seq={report.first_broken_seq}: {report.reason} "
        f"({report.events} event(s) verified before it)",
        err=True,
    )
    sys.exit(1)


if __name__ == "__main__":
    main()
