"""Flask-SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.clients import Client
from app.models.keys import SigningKey
from app.models.replay import ReplayEntry

__all__ = ["AuditEvent", "Client", "ReplayEntry", "SigningKey"]
