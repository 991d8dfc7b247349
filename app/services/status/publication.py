"""Publishing a status list: ``GET /statuslists/{id}`` as ``statuslist+jwt`` (§5.1) or ``statuslist+cwt`` (§5.2).

Tokens are signed once and served from a cache (the list row, shared by every worker, and a per-process copy),
never rebuilt per request. They carry ``exp`` (``IDBB_STATUS_LIST_LIFETIME``) and ``ttl`` (``IDBB_STATUS_LIST_TTL``,
also the ``Cache-Control`` max-age); a token is re-signed one ``ttl`` before its ``exp`` (§13.7: a relying party
caching for ``ttl`` never holds an expired token) or as soon as an entry changed.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.clock import clock
from app.errors import NotFound
from app.extensions import db, state
from app.formats import x509
from app.formats.status_list import StatusArray, sign_status_list_cwt, sign_status_list_jwt
from app.models.status import StatusEntry, StatusList
from app.services import keys
from app.services.status.allocation import list_uri
from app.services.transaction import atomic

JWT_MEDIA = "application/statuslist+jwt"
CWT_MEDIA = "application/statuslist+cwt"
_CACHE = "status_list_tokens"


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


def _fresh(row_signed: datetime | None, row_exp: datetime | None, changed: datetime, now: datetime) -> bool:
    ttl = timedelta(seconds=state().settings.status_list_ttl)
    return row_signed is not None and row_exp is not None and changed <= row_signed and now < row_exp - ttl


def _array(row: StatusList) -> StatusArray:
    array = StatusArray(row.size, row.bits)
    changed = db.session.execute(select(StatusEntry.idx, StatusEntry.status).where(
        StatusEntry.list_id == row.list_id, StatusEntry.status != 0)).all()
    for idx, status in changed:
        array.set(idx, status)
    return array


def _sign(row: StatusList, now: datetime) -> None:
    settings = state().settings
    array = _array(row)
    iat = int(now.timestamp())
    exp = iat + settings.status_list_lifetime
    uri = list_uri(row.list_id)
    signer = keys.signing_key("EC", now)
    record = keys.record(signer.kid)
    x5c = [x509.x5c_entry(record.cert_der)] if record is not None else None
    row.jwt_token = sign_status_list_jwt(array, uri=uri, key=signer.jwk, alg=signer.alg, iat=iat, exp=exp,
                                         ttl=settings.status_list_ttl, x5c=x5c)
    row.cwt_token = sign_status_list_cwt(
        array, uri=uri, key=signer.jwk.get_op_key("sign"), iat=iat, exp=exp, ttl=settings.status_list_ttl,
        kid=signer.kid.encode("ascii"), x5chain=[record.cert_der] if record is not None else None)
    row.signed_at = now
    row.token_expires_at = datetime.fromtimestamp(exp, tz=now.tzinfo)


def published(list_id: str) -> Published:
    """The signed tokens of ``list_id``: from the process cache, else the list row, else signed now."""
    now = clock.now()
    cache: dict[str, tuple[Published, datetime]] = state().cache.setdefault(_CACHE, {})  # type: ignore[assignment]
    hit = cache.get(list_id)
    ttl = timedelta(seconds=state().settings.status_list_ttl)
    if hit is not None and now < hit[0].expires_at - ttl and now < hit[1] + ttl:
        return hit[0]  # a worker re-reads the row at least once a ttl, so a change reaches every worker in time
    with atomic():
        row = db.session.get(StatusList, list_id)
        if row is None:
            raise NotFound("No status list has this id.")
        if not _fresh(row.signed_at, row.token_expires_at, row.changed_at, now):
            _sign(row, now)
        result = Published(str(row.jwt_token), bytes(row.cwt_token or b""), row.signed_at or now,
                           row.token_expires_at or now)
    cache[list_id] = (result, now)
    return result


def mark_changed(list_id: str) -> None:
    """An entry of ``list_id`` changed (lifecycle API): the next request re-signs the list."""
    row = db.session.get(StatusList, list_id)
    if row is not None:
        row.changed_at = clock.now()
    state().cache.setdefault(_CACHE, {}).pop(list_id, None)  # type: ignore[union-attr]
