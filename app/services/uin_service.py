"""OSIA ``generateUIN``: hand out a UIN reserved for the caller (never reused, never an identity's)."""

from app.extensions import db
from app.services import audit, uins


def generate(*, client_id: str, transaction_id: str) -> str:
    try:
        uin = uins.issue("reserved")
        audit.record("uin.generated", actor=f"client:{client_id}", target=None,
                     details={"transactionId": transaction_id})
        db.session.commit()
        return uin
    except Exception:
        db.session.rollback()
        raise
