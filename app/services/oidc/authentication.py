"""Authenticating a person at the login page: PIN or password (argon2id), or a one-time code.

Failures are counted per person (keyed by a MAC, so the table holds no identifiers), or per identifier
that names nobody, whether the identifier exists or not, so the answers do not tell an attacker which
identifiers are enrolled. An unknown identifier still costs one argon2id run.

The lockout is not a denial-of-service lever (NIST SP 800-63B §5.2.2; issue 14, security #3). Wrong
secrets count twice: per source address and person, and per person from everywhere.

* ``otp_max_attempts`` (3) wrong answers from one source block the person *from that source* for
  ``otp_block_seconds`` (GovStack §6 "3 wrong tries"): someone guessing from one place cannot lock the
  person out from everywhere else.
* ``login_max_failures`` (10) wrong answers in a row from anywhere block the person everywhere: the bound
  a distributed guesser meets.

Each further block of a row doubles its length (growing back-off: the count is not reset by a block, and
every ``threshold`` more failures block again for twice as long), so a guesser gets ``threshold`` tries per
block while the person, once the block ends, logs in as before; a success resets both counts. NIST's bound
of 100 consecutive failures is met in effect: the tenth block of the person-wide row lasts 2⁹ × 15 minutes.
"""

import hmac
import re
import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.clock import clock
from app.extensions import db, state
from app.models.login import LoginThrottle, OtpChallenge
from app.models.registry import Identity
from app.services import credentials, notifier
from app.services.enrollment.registry import identity_for_login
from app.services.stored_secrets import mac
from app.services.throttle import source_bucket

_PIN = re.compile(r"^[0-9]{4,12}$")
OTP_DIGITS = 6


class AuthFailed(Exception):
    """Wrong identifier or secret (one answer for both); ``blocked`` when the identifier is locked."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Authenticated:
    identity_id: str
    amr: tuple[str, ...]


def _dummy_hash() -> str:
    return state().cached("dummy_pin_hash", lambda: credentials.hash_secret("pin", "000000"))


@dataclass(frozen=True)
class _Throttle:
    """The locked throttle rows of one attempt: the person (or unknown identifier) from this source, and from
    everywhere."""

    here: LoginThrottle
    everywhere: LoginThrottle

    def reset(self) -> None:
        self.here.failures = self.everywhere.failures = 0


#: The longest back-off exponent (2^16 blocks: years), so the block length never overflows.
MAX_BACKOFF_DOUBLINGS = 16


def _throttled(identifier: str, source: str | None) -> tuple[_Throttle, Identity | None]:
    """The locked throttle rows for whoever ``identifier`` names, and that person if active; raises
    AuthFailed("login.blocked") while blocked from this source or from everywhere.

    Wrong tries count per person, whichever of their identifiers (UIN, national id, passport, VID)
    is typed, so more identifiers give no more guesses (NIST SP 800-63B §5.2.2); an identifier that
    names nobody counts under itself, and answers the same."""
    found = identity_for_login(identifier.strip())
    subject = f"identity:{found.identity_id}" if found is not None else f"identifier:{identifier.strip()}"
    everywhere = _locked_throttle(mac("login throttle", subject))  # always this one first: one lock order
    here = _locked_throttle(mac("login throttle", f"{subject} from {source_bucket(source)}"))
    now = clock.now()
    if any(row.blocked_until is not None and row.blocked_until > now for row in (here, everywhere)):
        raise AuthFailed("login.blocked")
    return _Throttle(here, everywhere), _active(found)


def _locked_throttle(key: str) -> LoginThrottle:
    """The throttle row under ``key``, created if absent, locked until COMMIT.

    Insert-if-absent first (``ON CONFLICT DO NOTHING``), then ``SELECT … FOR UPDATE``: two first logins
    of one person at once would otherwise both find no row and both insert it, and the second would fail
    with a unique violation (500) when its session flushes. On PostgreSQL the second insert waits for
    the first transaction and then does nothing; on SQLite ``BEGIN IMMEDIATE`` already serialises writers."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(LoginThrottle)
        .values(subject_mac=key, failures=0, updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=[LoginThrottle.subject_mac])
    )
    row = db.session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted above, or by a transaction that committed before our lock
    return row


def _count_failure(row: LoginThrottle, threshold: int) -> bool:
    """One more failure on ``row``; True when it starts a block (every ``threshold`` failures, each block twice
    as long as the one before)."""
    settings = state().settings
    row.failures += 1
    row.updated_at = clock.now()
    if row.failures % threshold:
        return False
    doublings = min(row.failures // threshold - 1, MAX_BACKOFF_DOUBLINGS)
    row.blocked_until = clock.now() + timedelta(seconds=settings.otp_block_seconds * 2**doublings)
    return True


def _fail(throttle: _Throttle) -> AuthFailed:
    settings = state().settings
    blocked_here = _count_failure(throttle.here, settings.otp_max_attempts)
    blocked_everywhere = _count_failure(throttle.everywhere, settings.login_max_failures)
    return AuthFailed("login.blocked" if blocked_here or blocked_everywhere else "login.failed")


def _active(identity: Identity | None) -> Identity | None:
    return identity if identity is not None and identity.status == "ACTIVE" else None


def with_static_code(identifier: str, secret: str, *, source: str | None = None) -> Authenticated:
    """PIN or password; raises AuthFailed. The caller commits (the failure count must persist). ``source``:
    the client's address, for the per-source lockout (None counts as one unknown source)."""
    row, identity = _throttled(identifier, source)
    stored = identity.pin_hash if identity is not None else None
    ok = credentials.verify(stored or _dummy_hash(), secret) and stored is not None
    if not ok or identity is None:
        raise _fail(row)
    row.reset()
    return Authenticated(identity.identity_id, ("pin",) if _PIN.match(secret) else ("pwd",))


def _notifier() -> notifier.Notifier:
    """One notifier per app (the development outbox keeps its messages across requests)."""
    settings = state().settings
    return state().cached("notifier", lambda: notifier.from_settings(settings))


def otp_channels() -> tuple[str, ...]:
    return _notifier().channels()


#: The contact field that reaches each OTP channel (eSignet's ``otpChannels`` names), in the order a
#: login page picks its one destination.
CONTACT_FIELDS = {"email": "email", "phone": "phoneNumber"}


class _DeliveryTime:
    """A moving average of how long a real delivery takes, so a send to nobody can take as long.

    Without it an unknown identifier would answer in a millisecond and a known one after the SMTP round
    trip: a timing oracle for who is enrolled (issue 14, security #2)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: float | None = None

    def learn(self, seconds: float) -> None:
        with self._lock:
            self._seconds = seconds if self._seconds is None else 0.8 * self._seconds + 0.2 * seconds

    def imitate(self) -> None:
        with self._lock:
            seconds = self._seconds
        if seconds:
            time.sleep(min(seconds, MAX_IMITATED_DELIVERY))


#: The longest a send to nobody waits to look like a real one (a hung relay must not hold threads).
MAX_IMITATED_DELIVERY = 5.0


def _delivery_time() -> _DeliveryTime:
    return state().cached("otp delivery time", _DeliveryTime)


def send_otp(
    transaction_id: str,
    identifier: str,
    locale_subject: str,
    locale_body: str,
    *,
    channels: Collection[str] | None = None,
    source: str | None = None,
) -> dict[str, str]:
    """Send a fresh code to the person's contacts; returns the masked address per channel it reached, or
    ``{}`` when the identifier is unknown or no channel reaches it.

    ``channels`` None (the login page): the first reachable channel, e-mail before phone. Otherwise every
    listed channel that both the notifier and the person's contacts reach, as eSignet's ``otpChannels``
    asks; one code, one challenge, counted as one send. A channel whose delivery fails is left out of the
    answer; only when every one fails is DeliveryError raised (the challenge stays in the session).

    An identifier that reaches nobody goes through the same steps — the same limits per login and per
    subject (``otp.too_many`` for both), a challenge row that no code can ever match, and a wait as long
    as a real delivery — so only the mailbox tells whether a code was sent (no enrollment oracle)."""
    row, identity = _throttled(identifier, source)
    channel = _notifier()
    contacts = (identity.contacts or {}) if identity is not None else {}
    targets = [
        (kind, str(contacts[field]))
        for kind, field in CONTACT_FIELDS.items()
        if kind in channel.channels() and contacts.get(field) and (channels is None or kind in channels)
    ]
    if channels is None:
        targets = targets[:1]
    # the subject the per-person limit counts: the person, or the MAC of an identifier that names nobody
    # (64 hex digits, never an identity id)
    subject = identity.identity_id if identity is not None else row.everywhere.subject_mac
    settings = state().settings
    now = clock.now()
    window = now - timedelta(seconds=settings.otp_block_seconds)  # a binding's "transaction" lives forever
    sent = db.session.execute(
        select(func.count())
        .select_from(OtpChallenge)
        .where(OtpChallenge.transaction_id == transaction_id, OtpChallenge.expires_at > window)
    ).scalar_one()
    if sent >= settings.otp_max_sends:  # no mail or SMS bombing through one login (eSignet: 3 sends)
        raise AuthFailed("otp.too_many")
    to_person = db.session.execute(
        select(func.count())
        .select_from(OtpChallenge)
        .where(OtpChallenge.identity_id == subject, OtpChallenge.expires_at > window)
    ).scalar_one()
    if to_person >= settings.otp_max_sends_per_person:  # nor through many logins, each new and free to open
        raise AuthFailed("otp.too_many")
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"  # CSPRNG, uniform over 6 digits
    for old in db.session.execute(
        select(OtpChallenge).where(OtpChallenge.transaction_id == transaction_id, OtpChallenge.used_at.is_(None))
    ).scalars():
        old.used_at = now  # a new code replaces any earlier one
    challenge_id = secrets.token_urlsafe(18)
    db.session.add(
        OtpChallenge(
            challenge_id=challenge_id,
            transaction_id=transaction_id,
            identity_id=subject,
            # no MAC equals "": a code that reached nobody can never be entered
            code_mac=mac("otp", f"{challenge_id}:{code}") if targets else "",
            expires_at=now + timedelta(seconds=state().settings.otp_ttl),
        )
    )
    if not targets:
        _delivery_time().imitate()
        return {}
    reached: dict[str, str] = {}
    failure: notifier.DeliveryError | None = None
    started = time.perf_counter()
    for kind, address in targets:
        try:
            channel.send(kind, address, locale_subject, locale_body.format(code=code))
            reached[kind] = notifier.mask(address)
        except notifier.DeliveryError as exc:
            failure = exc
    if reached:
        _delivery_time().learn(time.perf_counter() - started)
    if not reached and failure is not None:
        raise failure
    return reached


def with_otp(transaction_id: str, identifier: str, code: str, *, source: str | None = None) -> Authenticated:
    """Check a one-time code: single use, expiring, and counted against the identifier (from ``source``)."""
    row, identity = _throttled(identifier, source)
    now = clock.now()
    challenge = None
    if identity is not None:
        challenge = (
            db.session.execute(
                select(OtpChallenge)
                .where(
                    OtpChallenge.transaction_id == transaction_id,
                    OtpChallenge.identity_id == identity.identity_id,
                    OtpChallenge.used_at.is_(None),
                )
                .with_for_update()
            )
            .scalars()
            .first()
        )
    valid = (
        challenge is not None
        and challenge.expires_at > now
        and isinstance(code, str)
        and hmac.compare_digest(challenge.code_mac, mac("otp", f"{challenge.challenge_id}:{code}"))
    )
    if not valid or identity is None or challenge is None:
        failure = _fail(row)
        if failure.key == "login.blocked" and challenge is not None:
            challenge.used_at = now  # a blocked identifier's pending code dies with the block
        raise failure
    challenge.used_at = now  # single use
    row.reset()
    return Authenticated(identity.identity_id, ("otp",))
