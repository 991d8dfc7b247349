"""OSIA ``generateUIN``: hand out a UIN reserved for the caller (never reused, never an identity's)."""

from app.services import audit, uins
from app.services.transaction import atomic


def generate(*, client_id: str, transaction_id: str) -> str:
    with atomic():
        uin = uins.issue("reserved")
        audit.record("uin.generated", actor=f"client:{client_id}", target=None,
                     details={"transactionId": transaction_id})
        return uin
