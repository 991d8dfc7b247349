"""The Docker image's start-up logic (``docker/entrypoint.sh``), run with sh and bash as the image runs it;
``idbb`` and ``gunicorn`` are stubs that record how they were called (Docker itself is not needed)."""

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
SHELLS = [s for s in ("sh", "bash") if shutil.which(s)]
STUB = """#!/bin/sh
{{ echo "$(basename "$0") $*"; echo "PROMETHEUS_MULTIPROC_DIR=${{PROMETHEUS_MULTIPROC_DIR:-}}"; }} >> {log}
"""


def start(shell: str, tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    for name in ("idbb", "gunicorn"):
        (stubs / name).write_text(STUB.format(log=log))
        (stubs / name).chmod(0o755)
    if not (stubs / "python").exists():
        (stubs / "python").symlink_to(sys.executable)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IDBB_", "PROMETHEUS_"))}
    done = subprocess.run(
        [shell, str(ENTRYPOINT), *args],
        env={**base, "PATH": f"{stubs}:{base['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done, (log.read_text().splitlines() if log.exists() else [])


@pytest.mark.parametrize("shell", SHELLS)
def test_one_worker_without_redis_and_migrations_first(shell, tmp_path):
    done, calls = start(shell, tmp_path)
    assert done.returncode == 0, done.stderr
    assert calls[0] == "idbb init-db"
    assert calls[2].startswith("gunicorn app.asgi:app -k uvicorn_worker.UvicornWorker -w 1 -b 0.0.0.0:8080 ")
    assert calls[3] == "PROMETHEUS_MULTIPROC_DIR="  # one worker: its own registry


@pytest.mark.parametrize("shell", SHELLS)
def test_two_workers_with_redis_share_a_fresh_metrics_directory(shell, tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_123.db").write_text("a previous run")
    done, calls = start(
        shell, tmp_path, IDBB_REDIS_URL="redis://cache:6379/0", IDBB_PORT="9090", PROMETHEUS_MULTIPROC_DIR=str(metrics)
    )
    assert done.returncode == 0, done.stderr
    assert " -w 2 -b 0.0.0.0:9090 " in calls[2]
    assert calls[3] == f"PROMETHEUS_MULTIPROC_DIR={metrics}"
    assert metrics.is_dir() and not list(metrics.iterdir())


@pytest.mark.parametrize("shell", SHELLS)
def test_several_workers_without_redis_are_refused_before_anything_runs(shell, tmp_path):
    done, calls = start(shell, tmp_path, IDBB_WORKERS="4")
    assert done.returncode == 64 and "IDBB_REDIS_URL" in done.stderr
    assert calls == []
    bad, _ = start(shell, tmp_path, IDBB_WORKERS="two")
    assert bad.returncode == 64 and "IDBB_WORKERS" in bad.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_healthcheck_follows_idbb_port(shell, tmp_path):
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up, _ = start(shell, tmp_path, "healthcheck", IDBB_PORT=str(server.server_port))
        assert up.returncode == 0, up.stderr
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            nothing_there = free.getsockname()[1]
        down, _ = start(shell, tmp_path, "healthcheck", IDBB_PORT=str(nothing_there))
        assert down.returncode != 0
    finally:
        server.shutdown()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_command_given_to_the_image_runs_instead_of_the_server(shell, tmp_path):
    done, calls = start(shell, tmp_path, "idbb", "keys", "list")
    assert done.returncode == 0 and calls[0] == "idbb keys list" and not any("gunicorn" in c for c in calls)


def test_the_dockerfile_uses_the_entrypoint_and_declares_the_data_volume():
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["idbb-entrypoint"]' in text and "COPY docker/entrypoint.sh" in text
    assert 'CMD ["idbb-entrypoint", "healthcheck"]' in text and "8080/health" not in text
    assert 'VOLUME ["/data"]' in text and "WORKDIR /data" in text
    assert "IDBB_WORKERS=2" not in text
