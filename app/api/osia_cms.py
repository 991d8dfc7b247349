"""OSIA Credential Services v1.3 (``openapi/osia-cms.yaml``); names follow OSIA's operationIds. Thin: the
use cases are in ``app.services.cms``."""

from typing import Any

from flask import Response

from app.services.cms import credentials, profiles, requests
from app.services.cms.errors import MissingTransactionId

JSON = {"Content-Type": "application/json"}


def _client(token_info: dict[str, Any]) -> str:
    return str(token_info.get("client_id", "unknown"))


def _scopes(token_info: dict[str, Any]) -> list[str]:
    scope = token_info.get("scope") or ""
    return scope.split() if isinstance(scope, str) else [str(s) for s in scope]


def _transaction(token_info: dict[str, Any], transaction_id: str | None) -> None:
    """OSIA: transactionId is required; the backend issue API (``issuance.write``) shares these paths without it."""
    if not transaction_id and "issuance.write" not in _scopes(token_info):
        raise MissingTransactionId()


def createCredentialRequest(
    credentialRequestId: str, transactionId: str, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[str, int]:
    requests.create(credentialRequestId, body, client_id=_client(token_info), transaction_id=transactionId)
    return "", 201


def readCredentialRequest(
    credentialRequestId: str, transactionId: str, token_info: dict[str, Any], attributes: list[str] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    found = requests.read(credentialRequestId, client_id=_client(token_info))
    if attributes:  # OSIA: the attributes to return (the id and status always come back)
        found = {k: v for k, v in found.items() if k in attributes or k in ("credentialRequestId", "status")}
    return found, 200, JSON


def updateCredentialRequest(
    credentialRequestId: str, transactionId: str, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[str, int]:
    requests.update(credentialRequestId, body, client_id=_client(token_info), transaction_id=transactionId)
    return "", 204


def cancelCredentialRequest(credentialRequestId: str, transactionId: str, token_info: dict[str, Any]) -> tuple[str, int]:
    requests.cancel(credentialRequestId, client_id=_client(token_info), transaction_id=transactionId)
    return "", 204


def readCredentialRequestCard(credentialRequestId: str, transactionId: str, token_info: dict[str, Any]) -> Response:
    pdf = requests.card(credentialRequestId, client_id=_client(token_info))
    return Response(
        pdf,
        status=200,
        content_type="application/pdf",
        headers={"Cache-Control": "no-store", "Content-Disposition": "attachment; filename=card.pdf"},
    )


def findCredentials(
    transactionId: str,
    token_info: dict[str, Any],
    body: Any = None,
    offset: int = 0,
    limit: int = 100,
    attributes: list[str] | None = None,
) -> tuple[list[Any], int, dict[str, str]]:
    return credentials.find(list(body or []), offset=offset, limit=limit), 200, JSON


def readCredential(
    credentialId: str, transactionId: str, token_info: dict[str, Any], attributes: list[str] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    return credentials.read(credentialId, client_id=_client(token_info), scopes=_scopes(token_info)), 200, JSON


def updateCredential(
    credentialId: str, transactionId: str, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[str, int]:
    credentials.update(credentialId, body, client_id=_client(token_info), scopes=_scopes(token_info))
    return "", 204


def _change(
    action: str, credentialId: str, token_info: dict[str, Any], transactionId: str | None, body: dict[str, Any] | None
) -> tuple[str, int]:
    _transaction(token_info, transactionId)
    credentials.change(
        action, credentialId, reason=(body or {}).get("reason"), client_id=_client(token_info), scopes=_scopes(token_info)
    )
    return "", 204


def suspendCredential(
    credentialId: str, token_info: dict[str, Any], transactionId: str | None = None, body: dict[str, Any] | None = None
) -> tuple[str, int]:
    return _change("suspend", credentialId, token_info, transactionId, body)


def unsuspendCredential(
    credentialId: str, token_info: dict[str, Any], transactionId: str | None = None, body: dict[str, Any] | None = None
) -> tuple[str, int]:
    return _change("unsuspend", credentialId, token_info, transactionId, body)


def revokeCredential(
    credentialId: str, token_info: dict[str, Any], transactionId: str | None = None, body: dict[str, Any] | None = None
) -> tuple[str, int]:
    return _change("revoke", credentialId, token_info, transactionId, body)


def setCredentialStatus(
    credentialId: str, transactionId: str, token_info: dict[str, Any], body: dict[str, Any]
) -> tuple[str, int]:
    credentials.set_status(credentialId, body, client_id=_client(token_info), scopes=_scopes(token_info))
    return "", 204


def readCredentialStatus(
    credentialId: str, transactionId: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    return credentials.read_status(credentialId, client_id=_client(token_info), scopes=_scopes(token_info)), 200, JSON


def findCredentialProfiles(
    transactionId: str,
    token_info: dict[str, Any],
    body: Any = None,
    offset: int = 0,
    limit: int = 100,
    attributes: list[str] | None = None,
) -> tuple[list[Any], int, dict[str, str]]:
    return profiles.find(list(body or []), offset=offset, limit=limit), 200, JSON
