"""Identity registry administration (``openapi/registry.yaml``)."""

from typing import Any

from app.services import registry


def _actor(token_info: dict[str, Any]) -> str:
    return f"client:{token_info.get('client_id', 'unknown')}"


def read_identity(uin: str) -> dict[str, Any]:
    return registry.read_identity(uin)


def update_identity(uin: str, body: dict[str, Any], token_info: dict[str, Any]) -> dict[str, Any]:
    return registry.update_attributes(uin, body.get("changes"), body.get("reason"), body.get("evidence"),
                                      actor=_actor(token_info))


def identity_history(uin: str) -> list[dict[str, Any]]:
    return registry.history(uin)


def list_duplicates(status: str | None = None) -> list[dict[str, Any]]:
    return registry.list_duplicate_cases(status)


def decide_duplicate(case_id: str, body: dict[str, Any], token_info: dict[str, Any]) -> dict[str, Any]:
    return registry.decide_duplicate(case_id, body.get("decision", ""), body.get("reason"), actor=_actor(token_info))
