"""Liveness, readiness and Prometheus metrics (``openapi/ops.yaml``)."""

from typing import Any

from flask import Response

from app.services.ops import health, metrics


def health_check() -> dict[str, str]:
    return {"status": "ok"}


def ready() -> tuple[dict[str, Any], int]:
    report = health.readiness()
    return report, 200 if report["status"] == "ready" else 503


def metrics_text() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, status=200, content_type=content_type)
