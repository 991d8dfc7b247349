"""Identity registry administration (``openapi/registry.yaml``)."""

from typing import Any

from app.services.enrollment import registry

JSON = {"Content-Type": "application/json"}  # the operations also declare problem+json errors


def _actor(token_info: dict[str, Any]) -> str:
    return f"client:{token_info.get('client_id', 'unknown')}"


def read_identity(uin: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    return registry.read_identity(uin), 200, JSON


def update_identity(uin: str, body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict]:
    return (
        registry.update_attributes(
            uin,
            body.get("changes"),  # type: ignore[arg-type]  # connexion validates the body against the OpenAPI schema first
            body.get("reason"),
            body.get("evidence"),
            actor=_actor(token_info),
        ),
        200,
        JSON,
    )


def identity_history(uin: str) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    return registry.history(uin), 200, JSON


def list_duplicates(status: str | None = None) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    return registry.list_duplicate_cases(status), 200, JSON


def decide_duplicate(case_id: str, body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict]:
    return (
        registry.decide_duplicate(case_id, body.get("decision", ""), body.get("reason"), actor=_actor(token_info)),
        200,
        JSON,
    )


def merge_identity(uin: str, body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict]:
    return registry.merge_identity(uin, body.get("intoUin"), body.get("reason"), actor=_actor(token_info)), 200, JSON
