"""GovStack/eSignet OIDC client management (``openapi/client-mgmt.yaml``)."""

from typing import Any

from app.api.envelope import ok
from app.services import envelope
from app.services.oidc import oidc_clients


def _actor(token_info: dict[str, Any] | None) -> str:
    if token_info is None:  # only the GovStack sandbox profile serves these without a token
        return "sandbox:anonymous"
    return f"client:{token_info.get('client_id', 'unknown')}"


def create_oidc_client(body: Any, token_info: dict[str, Any] | None = None) -> dict[str, Any]:
    return ok(oidc_clients.create(envelope.unwrap(body), actor=_actor(token_info)))


def update_oidc_client(client_id: str, body: Any, token_info: dict[str, Any] | None = None) -> dict[str, Any]:
    return ok(oidc_clients.update(client_id, envelope.unwrap(body), actor=_actor(token_info)))


def read_oidc_client(client_id: str) -> dict[str, Any]:
    return ok(oidc_clients.read(client_id))
