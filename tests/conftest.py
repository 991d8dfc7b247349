"""Test fixtures: a real database (SQLite by default, PostgreSQL when ``IDBB_TEST_DATABASE_URL``
names one), real Redis when ``IDBB_TEST_REDIS_URL`` is set, real keys and real signatures.

Tokens idbb signs (jwcrypto) are verified here with PyJWT; assertions sent to idbb are signed here
with PyJWT and verified by idbb (joserfc via Authlib): no library checks its own output.
"""

import base64
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import create_engine, text

from app import create_app
from app.clock import clock
from app.config import Settings
from app.extensions import db
from app.services import audit, database, keys

ISSUER = "https://idbb.test"


def _per_worker_stores() -> None:
    """Under pytest-xdist, give every worker its own PostgreSQL database and Redis database.

    Worker ``gwN`` uses the database ``<name>_gwN`` (created on first use from the given one) and the Redis
    database ``<n> - N``, so workers never truncate or flush each other's data. Runs before ``TEST_DB`` is read,
    so every module that imports it sees the worker's own stores.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    number = int(worker[2:])
    url = os.environ.get("IDBB_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        base = make_url(url)
        name = f"{base.database}_{worker}"
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        os.environ["IDBB_TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
    redis_url = os.environ.get("IDBB_TEST_REDIS_URL", "")
    if redis_url:
        head, _, index = redis_url.rpartition("/")
        if index.isdigit() and int(index) - number >= 0:
            os.environ["IDBB_TEST_REDIS_URL"] = f"{head}/{int(index) - number}"
        else:
            raise RuntimeError("IDBB_TEST_REDIS_URL must end in a database number at least the xdist worker count")


_per_worker_stores()
TEST_DB = os.environ.get("IDBB_TEST_DATABASE_URL")
TEST_REDIS = os.environ.get("IDBB_TEST_REDIS_URL")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    skip_pg = pytest.mark.skip(reason="set IDBB_TEST_DATABASE_URL to a PostgreSQL URL to run")
    skip_redis = pytest.mark.skip(reason="set IDBB_TEST_REDIS_URL to run")
    for item in items:
        if "postgres" in item.keywords and not (TEST_DB or "").startswith("postgresql"):
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not TEST_REDIS:
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DB:
        if TEST_DB.startswith("postgresql"):
            engine = create_engine(TEST_DB)
            with engine.begin() as conn:  # a clean schema for every run
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        return TEST_DB
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'idbb-test.db'}"


def random_kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


@pytest.fixture(scope="session")
def kek() -> str:
    return random_kek()


@pytest.fixture
def settings(database_url: str, kek: str) -> Settings:
    return Settings(profile="production", issuer=ISSUER, kek=kek, database_url=database_url, redis_url=TEST_REDIS)


_migrated: set[str] = set()


def reset_database() -> None:
    """Empty every table (keeps the migration version); the schema is migrated once per run."""
    url = str(db.engine.url)
    if url not in _migrated:
        database.upgrade(db.engine)
        _migrated.add(url)
    db.session.rollback()
    names = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY"))
    else:
        for name in names:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., Any]]:
    """Build an app with settings changed as asked, on a clean database with fresh keys."""

    def build(**changes: Any) -> Any:
        audit.stop_all()  # also those of apps made outside this fixture (live servers, second apps)
        cx = create_app(settings.with_(**changes))
        with cx.app.app_context():
            reset_database()
            keys.ensure_keys()
        redis_client = cx.app.extensions["idbb"].redis
        if redis_client is not None:
            redis_client.flushdb()
        return cx

    yield build
    audit.stop_all()  # no sealer thread outlives its test (it would chain the next test's events)


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Iterator[Any]:
    clock.reset()
    yield make_app()
    clock.reset()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client(base_url=ISSUER)


@pytest.fixture
def ctx(app: Any) -> Iterator[None]:
    with app.app.app_context():
        yield


def seal_audit() -> None:
    """Chain the pending audit events now (PostgreSQL seals in the background; SQLite at commit)."""
    from app.services import audit

    audit.seal_all(db.session())


def request_time(offset_seconds: float = 0) -> str:
    moment = datetime.fromtimestamp(clock.timestamp() + offset_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class ApiClient:
    client_id: str
    private_pem: bytes
    public_jwk: dict[str, Any]
    http: Any

    def assertion(self, **claims: Any) -> str:
        now = int(clock.timestamp())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": ISSUER + "/oauth/token",
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        body.update(claims)
        return pyjwt.encode({k: v for k, v in body.items() if v is not None}, self.private_pem, algorithm="ES256")

    def token_response(self, scope: str | None = None, **claims: Any) -> Any:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**claims),
        }
        if scope is not None:
            form["scope"] = scope
        return self.http.post("/oauth/token", data=form)

    def token(self, scope: str | None = None) -> str:
        response = self.token_response(scope)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def new_ec_key() -> tuple[bytes, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return pem, public


@pytest.fixture
def api_client(app: Any, client: Any) -> Callable[..., ApiClient]:
    """Register an API client holding ``scopes`` (private_key_jwt, P-256 key made with cryptography)."""
    from app.services import api_clients

    def make(*scopes: str, client_id: str | None = None, signature_required: bool = False) -> ApiClient:
        pem, public = new_ec_key()
        cid = client_id or f"api-{uuid.uuid4().hex[:8]}"
        with app.app.app_context():
            api_clients.register(
                cid, name=cid, scopes=list(scopes), public_key=public, actor="test", signature_required=signature_required
            )
        return ApiClient(cid, pem, public, client)

    return make


@pytest.fixture
def admin_token(api_client: Callable[..., ApiClient]) -> str:
    return api_client("add_oidc_client", "update_oidc_client", "read_oidc_client").token()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_jwks(http: Any) -> dict[str, Any]:
    response = http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return dict(response.json())


def verify_with_pyjwt(token: str, jwks: dict[str, Any], audience: str = ISSUER) -> dict[str, Any]:
    """Verify an idbb-signed JWT with PyJWT against the published JWKS (not idbb's own code).

    Time claims are left to the tests: they move idbb's clock, which PyJWT does not see."""
    kid = pyjwt.get_unverified_header(token)["kid"]
    match = [k for k in jwks["keys"] if k["kid"] == kid]
    assert match, f"kid {kid} is not published"
    key = pyjwt.PyJWK(match[0])
    return dict(
        pyjwt.decode(
            token,
            key=key,
            algorithms=[match[0]["alg"]],
            audience=audience,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    )


def epoch() -> int:
    return int(time.time())


from tests.enrollment_helpers import osia, signing_client  # noqa: E402,F401  (fixtures for the enrollment tests)
