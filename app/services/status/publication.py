"""Publishing a status list: ``GET /statuslists/{id}`` as ``statuslist+jwt`` (§5.1) or ``statuslist+cwt`` (§5.2).

Tokens are signed once and served from a cache (the list row, shared by every worker, and a per-process copy),
never rebuilt per request. They carry ``exp`` (``IDBB_STATUS_LIST_LIFETIME``) and ``ttl`` (``IDBB_STATUS_LIST_TTL``,
also the ``Cache-Control`` max-age); a token is re-signed one ``ttl`` before its ``exp`` (§13.7: a relying party
caching for ``ttl`` never holds an expired token) and after an entry changed.

Changes are counted on the list row (``version``, incremented in the changing transaction, which holds the row
lock until it commits); a signature covers the ``signed_version`` read under that lock, so a change committed
while a list is being signed is never taken for published. Changes are batched: a list is re-signed at most once
per ``IDBB_STATUS_PUBLISH_DELAY`` seconds, so a burst of changes becomes one new token, and every worker re-reads
the row at least that often, so a change reaches verifiers within about the delay and never later than ``ttl``.
When the entries come out the same as in the current token (a suspension lifted within the window) the token is
kept, so the ``ETag`` changes exactly when the served bytes do.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.clock import clock
from app.errors import NotFound
from app.extensions import db, state
from app.formats import x509
from app.formats.status_list import StatusArray, decompress, sign_status_list_cwt, sign_status_list_jwt
from app.models.status import StatusEntry, StatusList
from app.services import keys
from app.services.status.allocation import list_uri
from app.services.transaction import atomic

JWT_MEDIA = "application/statuslist+jwt"
CWT_MEDIA = "application/statuslist+cwt"
_CACHE = "status_list_tokens"
_LISTS = StatusList.__table__


@dataclass(frozen=True)
class Published:
    jwt: str
    cwt: bytes
    signed_at: datetime
    expires_at: datetime

    def body(self, media: str) -> bytes:
        return self.cwt if media == CWT_MEDIA else self.jwt.encode("ascii")

    def etag(self, media: str) -> str:
        return '"' + hashlib.sha256(self.body(media)).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _State:
    """The light columns of a list row: enough to decide whether the cached tokens still serve."""

    version: int
    signed_version: int
    signed_at: datetime | None
    token_expires_at: datetime | None


def _delay() -> timedelta:
    return timedelta(seconds=state().settings.status_publish_delay)


def _ttl() -> timedelta:
    return timedelta(seconds=state().settings.status_list_ttl)


def _expiring(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or now >= expires_at - _ttl()  # §13.7: re-sign one ttl before exp


def _due(row: _State, now: datetime) -> bool:
    """Re-sign now: never signed, near ``exp``, or changed and the batching window since the last signature over."""
    if row.signed_at is None or _expiring(row.token_expires_at, now):
        return True
    return row.version > row.signed_version and now >= row.signed_at + _delay()


def _array(row: StatusList) -> StatusArray:
    """The list's entries as a status array: one range read of the entries not VALID (the array starts all
    VALID, §7.1 0x00), grouped by value, instead of one scan of the list per value."""
    array = StatusArray(row.size, row.bits)
    by_value: dict[int, list[int]] = {}
    for idx, value in db.session.execute(
        select(StatusEntry.idx, StatusEntry.status).where(StatusEntry.list_id == row.list_id, StatusEntry.status != 0)
    ):
        by_value.setdefault(int(value), []).append(int(idx))
    for value, indexes in sorted(by_value.items()):
        array.set_many(indexes, value)
    return array


def _same_entries(row: StatusList, array: StatusArray) -> bool:
    """The current JWT already carries exactly these entries."""
    if not row.jwt_token:
        return False
    try:
        payload = row.jwt_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        current = decompress(base64.urlsafe_b64decode(claims["status_list"]["lst"] + "=="), row.bits)
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return current.to_bytes()[: len(array.to_bytes())] == array.to_bytes()


def _sign(row: StatusList, now: datetime) -> None:
    settings = state().settings
    array = _array(row)
    row.signed_version = row.version  # read under the row lock: every change counted here is in ``array``
    if not _expiring(row.token_expires_at, now) and row.signed_at is not None and _same_entries(row, array):
        return  # nothing a verifier reads changed: keep the bytes (and the ETag)
    iat = int(now.timestamp())
    exp = iat + settings.status_list_lifetime
    uri = list_uri(row.list_id)
    signer = keys.signing_key("EC", now)
    record = keys.record(signer.kid)
    x5c = [x509.x5c_entry(record.cert_der)] if record is not None else None
    row.jwt_token = sign_status_list_jwt(
        array, uri=uri, key=signer.jwk, alg=signer.alg, iat=iat, exp=exp, ttl=settings.status_list_ttl, x5c=x5c
    )
    row.cwt_token = sign_status_list_cwt(
        array,
        uri=uri,
        key=signer.jwk.get_op_key("sign"),
        iat=iat,
        exp=exp,
        ttl=settings.status_list_ttl,
        kid=signer.kid.encode("ascii"),
        x5chain=[record.cert_der] if record is not None else None,
    )
    row.signed_at = now
    row.token_expires_at = datetime.fromtimestamp(exp, tz=now.tzinfo)


def _light(list_id: str) -> _State | None:
    found = db.session.execute(
        select(_LISTS.c.version, _LISTS.c.signed_version, _LISTS.c.signed_at, _LISTS.c.token_expires_at).where(
            _LISTS.c.list_id == list_id
        )
    ).first()
    return None if found is None else _State(int(found[0]), int(found[1]), found[2], found[3])


def published(list_id: str) -> Published:
    """The signed tokens of ``list_id``: from the process cache (re-checked against the row once per publish
    delay), else the list row, else signed now."""
    now = clock.now()
    cache: dict[str, tuple[Published, datetime]] = state().cache.setdefault(_CACHE, {})  # type: ignore[assignment]  # state().cache is typed as dict[str, object]
    hit = cache.get(list_id)
    if hit is not None and not _expiring(hit[0].expires_at, now) and now < hit[1] + min(_delay(), _ttl()):
        return hit[0]
    with atomic():
        light = _light(list_id)
        if light is None:
            raise NotFound("No status list has this id.")
        if hit is not None and not _due(light, now) and light.signed_at == hit[0].signed_at:
            result = hit[0]  # still current: one small read instead of reloading the tokens
        else:
            row = db.session.execute(select(StatusList).where(StatusList.list_id == list_id).with_for_update()).scalar_one()
            if _due(_State(row.version, row.signed_version, row.signed_at, row.token_expires_at), now):
                _sign(row, now)
            result = Published(
                str(row.jwt_token), bytes(row.cwt_token or b""), row.signed_at or now, row.token_expires_at or now
            )
    cache[list_id] = (result, now)
    return result


def mark_changed(list_id: str) -> None:
    """An entry of ``list_id`` changed (lifecycle API), in the caller's transaction: count the change (the row lock
    it takes orders this change before any signature that claims to include it) and drop this worker's copy."""
    db.session.execute(
        update(_LISTS).where(_LISTS.c.list_id == list_id).values(version=_LISTS.c.version + 1, changed_at=clock.now())
    )
    state().cache.setdefault(_CACHE, {}).pop(list_id, None)  # type: ignore[attr-defined]  # state().cache values are dicts; the cache is typed as object
