"""idbb: the GovStack Identity and Verification Building Block.

``create_app`` builds the Connexion app from the OpenAPI documents in ``openapi/`` (request and
response validation on) around a Flask app holding the database and runtime state. Wiring only.
"""

# isort: off
import app._quiet_imports  # noqa: F401  (before connexion, whose import warns; see that module)

# isort: on
import functools
from pathlib import Path
from typing import Any

import connexion
import yaml
from a2wsgi import WSGIMiddleware
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed

from app.api import error_formats
from app.api.jwe_payload import JwePayloadMiddleware
from app.api.security import FlaskAppInScope, refuse_unrouted
from app.config import Settings
from app.errors import IdbbError
from app.extensions import IdbbState, db
from app.long_polls import LongPollDispatch, long_poll_app
from app.observability import AccessLogMiddleware, configure_logging
from app.request_guard import RequestGuard
from app.routing import middlewares
from app.services.database import configure_engine, engine_options
from app.services.issuance import pre_authorized
from app.services.issuance.configurations import load as load_credential_configurations
from app.services.issuance.offers import PRE_AUTHORIZED_GRANT
from app.services.log_redaction import learn_paths
from app.services.oidc import token_endpoint
from app.stores.rate_limits import RedisRateCounters, SqlRateCounters
from app.stores.replay import RedisReplayStore, SqlReplayStore
from app.stores.wakeups import LocalWakeups, RedisWakeups
from app.ui import views as ui_views

__version__ = "0.1.0"

#: One OpenAPI document per API surface (ARCHITECTURE.md); the UI of each is served at /docs/<name>.
SPECS = (
    "ops",
    "oidc",
    "client-mgmt",
    "osia-enrollment",
    "osia-uin",
    "enrollment",
    "registry",
    "wallet-binding",
    "oid4vci",
    "issuance",
    "status-list",
    "osia-cms",
    "credential-management",
    "datastore",
)
#: Specs whose operations answer without a bearer token in the GovStack sandbox profile (README).
SANDBOX_OPEN = ("client-mgmt", "wallet-binding")


def create_app(settings: Settings | None = None) -> connexion.FlaskApp:
    """Build the app; ``settings`` defaults to the ``IDBB_*`` environment. Fails fast on unsafe config."""
    settings = (settings or Settings.from_env()).validate()
    if settings.is_sandbox:  # GovStack's harness expects every call to answer within 3 s, all from one address
        settings = settings.with_(link_code_ttl=20, long_poll_timeout=1.0, throttle_per_source=0)
    configure_logging(settings.log_level)
    cx = connexion.FlaskApp(__name__, specification_dir=settings.openapi_dir, middlewares=middlewares())
    flask_app = cx.app
    # werkzeug merges "//" with a 308 redirect that never reached a route's security check and lost its
    # Location in the error formatter: an empty path segment is a 404 in the surface's own format instead
    flask_app.url_map.merge_slashes = False
    flask_app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.resolved_database_url(),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url, settings.db_pool_size),
        JSON_SORT_KEYS=False,
    )
    db.init_app(flask_app)
    with flask_app.app_context():
        configure_engine(db.engine)
    redis_client = None
    if settings.redis_url:
        import redis

        redis_client = redis.Redis.from_url(settings.redis_url)
    replay = RedisReplayStore(redis_client) if redis_client is not None else SqlReplayStore()
    wakeups = RedisWakeups(settings.redis_url, redis_client) if settings.redis_url else LocalWakeups()
    counters = RedisRateCounters(redis_client) if redis_client is not None else SqlRateCounters()
    flask_app.extensions["idbb"] = IdbbState(settings, replay, redis_client, wakeups, counters)
    # credential configurations are validated at start-up: a bad YAML file stops idbb here (issue 16)
    token_endpoint.register_grant(PRE_AUTHORIZED_GRANT, pre_authorized.exchange)  # OpenID4VCI 1.0 §6.1
    flask_app.extensions["idbb"].cache["credential_configurations"] = load_credential_configurations(
        settings.credential_config_dir
    )

    for name in (*SPECS, "linked-authorization"):
        cx.add_api(
            _sandbox_spec(settings, name),
            name=name,
            validate_responses=True,
            swagger_ui_options=SwaggerUIOptions(swagger_ui_path=f"/docs/{name}", spec_path=f"/docs/{name}/openapi.json"),
        )
    flask_app.register_blueprint(ui_views.blueprint)
    flask_app.before_request(refuse_unrouted)  # no API view without Connexion's routing and security
    flask_app.register_error_handler(MethodNotAllowed, _method_not_allowed)
    learn_paths(_spec_paths(settings.openapi_dir, (*SPECS, "linked-authorization")))  # what logs may keep
    learn_paths(rule.rule for rule in flask_app.url_map.iter_rules())
    for exc_type in (IdbbError, ProblemException, HTTPException, Exception):
        cx.add_error_handler(exc_type, error_formats.handle)
    cx.add_middleware(FlaskAppInScope, position=MiddlewarePosition.BEFORE_SECURITY, flask_app=flask_app)
    cx.add_middleware(RequestGuard, position=MiddlewarePosition.BEFORE_VALIDATION, settings=settings)
    cx.add_middleware(JwePayloadMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    cx.add_middleware(AccessLogMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, flask_app=flask_app)
    cx.add_middleware(
        LongPollDispatch, position=MiddlewarePosition.BEFORE_EXCEPTION, long_polls=long_poll_app(settings, flask_app)
    )
    _size_thread_pool(cx, settings.worker_threads)
    return cx


@functools.cache
def _spec_paths(openapi_dir: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """The path templates of the documents (read once per process: Connexion registers its Flask routes
    only when the first request builds the middleware stack)."""
    paths: list[str] = []
    for name in names:
        spec = yaml.safe_load((Path(openapi_dir) / f"{name}.yaml").read_text(encoding="utf-8"))
        paths.extend(str(path) for path in spec.get("paths", {}))
    return tuple(paths)


def _method_not_allowed(exc: MethodNotAllowed) -> None:
    """A login page's 405 keeps its ``Allow`` header (RFC 9110 §15.5.6 MUST); Connexion re-raises Flask's
    HTTP errors without their headers."""
    raise HTTPException(405, headers={"Allow": ", ".join(sorted(exc.valid_methods or ()))})


def _size_thread_pool(cx: connexion.FlaskApp, threads: int) -> None:
    """Run the Flask handlers on ``IDBB_WORKER_THREADS`` threads per worker.

    Connexion 3 wraps the Flask app in a2wsgi's ``WSGIMiddleware`` with a fixed 10 threads. The handlers are
    CPU-bound Python (argon2id releases the GIL; long polls need no thread, ``app/long_polls.py``), so more
    threads mostly contend for the GIL: on 2 cores, 2 workers, PostgreSQL on the same host, ``bench/oidc.py``
    measured about 550 token exchanges/s with 2 threads against about 420 with 3, 4 or 8 (and 326 with 10
    before other changes), and the same login flows/s. Threads help where handlers wait: a distant database,
    a slow SMTP server. A test pins this to Connexion's internals (``FlaskASGIApp.asgi_app``), so an upgrade
    that moves them fails loudly.
    """
    middleware_app = cx._middleware_app  # connexion.apps.flask.FlaskASGIApp
    middleware_app.asgi_app = WSGIMiddleware(middleware_app.app.wsgi_app, workers=threads)


def _sandbox_spec(settings: Settings, name: str) -> Any:
    """The spec file, or in the GovStack sandbox profile its dict with ``security`` removed for the
    operations the compliance harness calls without a token (the strict profiles never do this)."""
    if not settings.is_sandbox or name not in SANDBOX_OPEN:
        return f"{name}.yaml"
    spec = yaml.safe_load((Path(settings.openapi_dir) / f"{name}.yaml").read_text(encoding="utf-8"))
    spec.pop("security", None)
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return spec
