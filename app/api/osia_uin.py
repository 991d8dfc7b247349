"""OSIA UIN Management v1.2 (``openapi/osia-uin.yaml``)."""

from typing import Any

from app.services.enrollment import uins


def generateUIN(transactionId: str, token_info: dict[str, Any], body: Any = None) -> str:
    return uins.generate(client_id=str(token_info.get("client_id")), transaction_id=transactionId)
