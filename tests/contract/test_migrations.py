"""The models and the Alembic migrations agree: a database migrated to head has exactly the models' schema."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

import app.models  # noqa: F401  (registers every table)
from app.extensions import db
from app.services import database


def test_migrated_schema_matches_the_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    database.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    engine.dispose()
    assert differences == []


def test_one_head():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(database._alembic_config()).get_heads()
    assert heads == [database.head_revision()]
