"""UIN issuance (OSIA UIN Management, ``uin.yaml`` v1.2.0 ``generateUIN``).

Random digits from the CSPRNG with a Verhoeff check digit and no leading zero, runs or
sequences (``app.formats.uin``); the ``issued_uins`` primary key guarantees a UIN is never
handed out twice, also across workers, so a collision just draws again.
"""

from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import ServerError
from app.extensions import db, state
from app.formats.uin import generate_uin
from app.models.registry import IssuedUin
from app.services import audit
from app.services.transaction import atomic

MAX_DRAWS = 20


def issue(purpose: str) -> str:
    """A fresh UIN, recorded as issued inside the caller's transaction."""
    length = state().settings.uin_length
    for _ in range(MAX_DRAWS):
        candidate = generate_uin(length)
        try:
            with db.session.begin_nested():
                db.session.add(IssuedUin(uin=candidate, purpose=purpose, issued_at=clock.now()))
        except IntegrityError:
            continue  # drawn before: never reuse, draw again
        return candidate
    raise ServerError("No UIN could be issued.", detail="UIN space exhausted?")


def generate(*, client_id: str, transaction_id: str) -> str:
    """OSIA ``generateUIN``: a UIN reserved for the caller (never reused, never an identity's)."""
    with atomic():
        uin = issue("reserved")
        audit.record("uin.generated", actor=f"client:{client_id}", target=None, details={"transactionId": transaction_id})
        return uin
