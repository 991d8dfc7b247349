"""Engine set-up and schema migrations (Alembic), shared by the app factory and the CLI.

SQLite is the embedded default: WAL mode for concurrent readers, a busy timeout, and every
transaction opened with ``BEGIN IMMEDIATE`` so two writers queue instead of one failing with
SQLITE_BUSY_SNAPSHOT half-way through a use case. Several workers need PostgreSQL.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Table, bindparam, event, func, insert, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

#: Alembic's default version table (app/migrations/env.py keeps the default).
VERSION_TABLE = "alembic_version"

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def engine_options(database_url: str, pool_size: int) -> dict[str, Any]:
    """SQLAlchemy engine options for the URL's dialect."""
    # hide_parameters: SQL errors must not carry row values (personal data) into logs
    if database_url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False, "timeout": 30}, "hide_parameters": True}
    return {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True, "hide_parameters": True}


def configure_engine(engine: Engine) -> None:
    """Install the SQLite pragmas and ``BEGIN IMMEDIATE`` (no-op on other dialects)."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_idbb_configured", False):
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine._idbb_configured = True  # type: ignore[attr-defined]  # a marker attribute on the Engine


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> str:
    """Apply every pending migration; returns the head revision now in place."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(bind: Engine | Connection) -> str | None:
    """The applied revision, read on ``bind`` (pass the session's connection inside a transaction:
    with SQLite's BEGIN IMMEDIATE a second connection would wait for the first)."""
    if isinstance(bind, Connection):
        return _read_revision(bind)
    with bind.connect() as conn:
        return _read_revision(conn)


def _read_revision(conn: Connection) -> str | None:
    """Alembic's version table read directly: ``MigrationContext.configure`` logs two INFO lines ("Context
    impl ...", "Will assume ...") each time, which made every ``/ready`` call two log lines."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    versions = list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())  # noqa: S608
    if len(versions) > 1:
        raise RuntimeError("the database has several alembic heads")
    return versions[0] if versions else None


def is_up_to_date(bind: Engine | Connection) -> bool:
    return current_revision(bind) == head_revision()


def rows_insert(table: Table, columns: Sequence[str], prefix: str, count: int) -> Insert:
    """An INSERT of ``count`` rows of ``table`` (its ``columns``) for a statement that writes them with others
    (PostgreSQL data-modifying CTEs), parameters from :func:`rows_params`. One row: scalar parameters (psycopg dumps
    an array several times slower than a scalar); more: one array per column, zipped by ``unnest``, so a single
    shape serves every count (SQLAlchemy does not cache a multi-row ``VALUES``: it was compiled at every call)."""
    if count == 1:
        return insert(table).values({name: bindparam(f"{prefix}0_{name}", type_=table.c[name].type) for name in columns})
    return insert(table).from_select(
        list(columns),
        select(*(func.unnest(bindparam(f"{prefix}_{n}", type_=postgresql.ARRAY(table.c[n].type))) for n in columns)),
    )


def rows_params(columns: Sequence[str], prefix: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of :func:`rows_insert` for ``rows`` (each holding every one of ``columns``)."""
    if len(rows) == 1:
        return {f"{prefix}0_{name}": rows[0][name] for name in columns}
    return {f"{prefix}_{name}": [row[name] for row in rows] for name in columns}


M = TypeVar("M")


def unflushed(model: type[M], values: Mapping[Any, Any]) -> M:
    """A transient ``model`` instance holding ``values`` (column name → value), made as the ORM's own loading makes
    one: a new instance whose dict is filled in one step. The declarative constructor fires an attribute event
    per column (about 35 µs for an issuance row of 27 columns, measured here; this costs 2): it serves the value
    objects of the hottest paths, a row :func:`app.services.issuance.records.checked_out` read and an audit event
    waiting for its COMMIT. Later assignments are tracked as usual; every name must be a mapped column."""
    instance = cast(M, inspect(model).class_manager.new_instance())
    instance.__dict__.update(values)
    return instance
