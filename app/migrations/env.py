"""Alembic environment: idbb passes its own connection in ``config.attributes['connection']``."""

from alembic import context

import app.models  # noqa: F401  (registers every table on the metadata)
from app.extensions import db

config = context.config
target_metadata = db.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `idbb init-db`, which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
