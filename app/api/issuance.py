"""Backend issue API (``openapi/issuance.yaml``); scopes ``issuance.write`` / ``issuance.read`` / ``issuance.revoke``."""

from datetime import datetime
from typing import Any

from app.services.issuance import backend
from app.services.lifecycle import jobs, renewals

JSON = {"Content-Type": "application/json"}


def _client(token_info: dict[str, Any]) -> str:
    return str(token_info.get("client_id"))


def create(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return backend.create(body, client_id=_client(token_info)), 201, JSON


def read(issuanceId: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return backend.read(issuanceId, client_id=_client(token_info)), 200, JSON


def search(
    token_info: dict[str, Any],
    correlationId: str | None = None,
    state: str | None = None,
    createdAfter: datetime | str | None = None,
    createdBefore: datetime | str | None = None,
    limit: int = 100,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    return (
        backend.search(
            client_id=_client(token_info),
            correlation_id=correlationId,
            state_name=state,
            created_after=backend.parse_time(createdAfter),
            created_before=backend.parse_time(createdBefore),
            limit=limit,
        ),
        200,
        JSON,
    )


def complete(issuanceId: str, body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict]:
    return backend.complete(issuanceId, body, client_id=_client(token_info)), 200, JSON


def bulk(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    status, answer = jobs.bulk(body, client_id=_client(token_info))
    return answer, status, JSON


def job(jobId: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return jobs.read_job(jobId, client_id=_client(token_info)), 200, JSON


def renew(
    revocationId: str, token_info: dict[str, Any], body: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    return renewals.renew(revocationId, body or {}, client_id=_client(token_info)), 201, JSON
