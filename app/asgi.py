"""ASGI entry point for uvicorn/gunicorn: ``gunicorn -k uvicorn_worker.UvicornWorker app.asgi:app``.

Settings come from the ``IDBB_*`` environment; the database must be migrated (``idbb init-db``).
"""

from app import create_app
from app.services.lifecycle.jobs import start_sweeper
from app.services.ops.startup import assert_ready_to_serve

app = create_app()
assert_ready_to_serve(app.app)
start_sweeper(app.app)  # each worker process: bulk jobs left by a dead worker complete without being read
