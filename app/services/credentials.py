"""PINs and passwords: argon2id hashes only, never stored or returned in clear.

Parameters come from settings and are never below OWASP's minimum (m=19 MiB, t=2, p=1);
``config.validate`` refuses lower ones.
"""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import InvalidPassword, InvalidPin, InvalidRequest
from app.extensions import state

_PIN = re.compile(r"^[0-9]{4,12}$")


def _hasher() -> PasswordHasher:
    s = state().settings
    return state().cached(
        "argon2",
        lambda: PasswordHasher(
            time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib, parallelism=s.argon2_parallelism
        ),
    )


def hash_secret(kind: str, value: object) -> str:
    """Check and hash a PIN (4-12 digits) or password (8-128 characters)."""
    if kind == "pin":
        if not isinstance(value, str) or not _PIN.match(value):
            raise InvalidPin("A PIN must be 4 to 12 digits.")
    elif kind == "password":
        if not isinstance(value, str) or not 8 <= len(value) <= 128:
            raise InvalidPassword("A password must be 8 to 128 characters.")
    else:
        raise InvalidRequest("Unknown credential kind.")
    return _hasher().hash(value)


def verify(stored_hash: str | None, candidate: str) -> bool:
    """Constant-time argon2id verification; False for a missing or malformed hash."""
    if not stored_hash:
        return False
    try:
        return _hasher().verify(stored_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False
