"""Start-up checks shared by ``idbb serve`` and the ASGI entry point."""

from flask import Flask

from app.config import ConfigError
from app.extensions import db, state
from app.services import database, keys


def assert_ready_to_serve(flask_app: Flask) -> None:
    """Refuse to serve an un-migrated database; create the default keys on first start."""
    with flask_app.app_context():
        if not database.is_up_to_date(db.engine):
            raise ConfigError(
                f"the database at IDBB_DATABASE_URL is not migrated to {database.head_revision()} "
                f"(it is at {database.current_revision(db.engine) or 'nothing'}): run `idbb init-db` first"
            )
        keys.ensure_keys(actor="system")
        if state().settings.is_sandbox:  # GovStack's compliance fixtures (README), never in strict profiles
            from app.services.ops import sandbox

            sandbox.seed()
