"""IDBB_WORKER_THREADS: the threads each worker runs the Flask handlers on (README, app/__init__.py)."""

import pytest

from app.config import ConfigError


def test_handlers_run_on_the_configured_number_of_threads(make_app):
    app = make_app(worker_threads=3)
    # Connexion's internals: if an upgrade moves them, this fails instead of the setting silently doing nothing
    assert app._middleware_app.asgi_app.executor._max_workers == 3
    response = app.test_client().get("/health")
    assert response.status_code == 200


def test_the_default_is_two_threads(app):
    assert app._middleware_app.asgi_app.executor._max_workers == 2


@pytest.mark.parametrize("threads", [0, -1])
def test_fewer_than_one_thread_is_refused(make_app, threads):
    with pytest.raises(ConfigError, match="IDBB_WORKER_THREADS"):
        make_app(worker_threads=threads)
