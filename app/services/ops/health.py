"""Readiness: the database answers, migrations are applied, and Redis answers when configured."""

from typing import Any

from sqlalchemy import text

from app.extensions import db, state
from app.services import database
from app.services.transaction import end_read


def readiness() -> dict[str, Any]:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok" if database.is_up_to_date(db.session.connection()) else "migrations pending"
    except Exception:
        checks["database"] = "unavailable"
    finally:
        end_read()
    redis = state().redis
    if redis is not None:
        try:
            checks["redis"] = "ok" if redis.ping() else "unavailable"  # type: ignore[attr-defined]  # state().redis is typed as object: redis is an optional dependency
        except Exception:
            checks["redis"] = "unavailable"
    status = "ready" if all(v == "ok" for v in checks.values()) else "not ready"
    return {"status": status, "checks": checks}
