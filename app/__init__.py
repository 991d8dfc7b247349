"""idbb: the GovStack Identity and Verification Building Block.

``create_app`` builds the Connexion app from the OpenAPI documents in ``openapi/`` (request and
response validation on) around a Flask app holding the database and runtime state. Wiring only.
"""

import connexion
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException

from app.api import error_formats
from app.api.jwe_payload import JwePayloadMiddleware
from app.api.security import FlaskAppInScope
from app.config import Settings
from app.errors import IdbbError
from app.extensions import IdbbState, db
from app.observability import AccessLogMiddleware, configure_logging
from app.routing import middlewares
from app.services.database import configure_engine, engine_options
from app.stores.replay import RedisReplayStore, SqlReplayStore
from app.ui import views as ui_views

__version__ = "0.1.0"

#: One OpenAPI document per API surface (ARCHITECTURE.md); the UI of each is served at /docs/<name>.
SPECS = ("ops", "oidc", "client-mgmt", "osia-enrollment", "osia-uin", "enrollment", "registry")


def create_app(settings: Settings | None = None) -> connexion.FlaskApp:
    """Build the app; ``settings`` defaults to the ``IDBB_*`` environment. Fails fast on unsafe config."""
    settings = (settings or Settings.from_env()).validate()
    configure_logging(settings.log_level)
    cx = connexion.FlaskApp(__name__, specification_dir=settings.openapi_dir, middlewares=middlewares())
    flask_app = cx.app
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
    flask_app.extensions["idbb"] = IdbbState(settings, replay, redis_client)

    for name in SPECS:
        cx.add_api(
            f"{name}.yaml",
            name=name,
            validate_responses=True,
            swagger_ui_options=SwaggerUIOptions(
                swagger_ui_path=f"/docs/{name}", spec_path=f"/docs/{name}/openapi.json"
            ),
        )
    flask_app.register_blueprint(ui_views.blueprint)
    for exc_type in (IdbbError, ProblemException, HTTPException, Exception):
        cx.add_error_handler(exc_type, error_formats.handle)
    cx.add_middleware(FlaskAppInScope, position=MiddlewarePosition.BEFORE_SECURITY, flask_app=flask_app)
    cx.add_middleware(JwePayloadMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    cx.add_middleware(AccessLogMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    return cx
