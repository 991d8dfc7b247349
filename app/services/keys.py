"""idbb's signing keys: generation, sealing at rest, rotation with overlap, and the published JWKS.

Lifecycle of a key (all instants in the row):

* ``created_at``: published in the JWKS from now on, so relying parties can cache it early;
* ``not_before``: the key signs from here (``created_at + IDBB_KEY_PUBLISH_AHEAD`` on rotation);
* ``retired_at``: a newer key of the same type took over; this one signs no more;
* ``publish_until``: ``retired_at + IDBB_KEY_RETENTION``: everything it signed has expired, it
  leaves the JWKS.

``kid`` is the RFC 7638 thumbprint of the public key: stable and derived from the key. GovStack
clients read ``keys[0]``, so the current RSA signing key is listed first.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk
from sqlalchemy import select

from app.clock import clock
from app.errors import InvalidKeyType, ServerError
from app.extensions import db, state
from app.formats import aead, x509
from app.formats.jwk import thumbprint
from app.formats.timefmt import format_response_time
from app.models.keys import SigningKey
from app.services import audit
from app.services.transaction import atomic

#: Key types idbb keeps, with their default JWS algorithm.
KEY_TYPES: dict[str, str] = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}
#: Every algorithm a key of this type signs with.
ALGS_BY_KTY: dict[str, tuple[str, ...]] = {"RSA": ("RS256", "PS256"), "EC": ("ES256",), "OKP": ("EdDSA",)}
#: The key clients encrypt payloads to (JWE, RFC 7516): RSA-2048 with RSA-OAEP-256.
ENC_KTY, ENC_ALG = "RSA", "RSA-OAEP-256"


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    kty: str
    alg: str
    jwk: jwk.JWK


def _generate(kty: str) -> Any:
    if kty == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kty == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    if kty == "OKP":
        return ed25519.Ed25519PrivateKey.generate()
    raise InvalidKeyType(f"unknown key type {kty!r}; use RSA, EC or OKP")


def create_key(kty: str, *, not_before: datetime, actor: str, use: str = "sig") -> SigningKey:
    """Generate a key of ``kty`` for ``use`` (sig or enc), seal its private part, self-sign a
    certificate, store it."""
    settings = state().settings
    now = clock.now()
    private = _generate(kty)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    kid = thumbprint(jwk.JWK.from_pem(pem))
    expires = not_before + timedelta(days=settings.key_lifetime_days)
    der = x509.self_signed_certificate(
        private, f"idbb {use} key {kid[:16]}", now - timedelta(minutes=5), expires, for_encryption=use == "enc"
    )
    public = jwk.JWK.from_pem(pem).export_public(as_dict=True)
    row = SigningKey(
        kid=kid,
        kty=kty,
        crv=public.get("crv"),
        alg=ENC_ALG if use == "enc" else KEY_TYPES[kty],
        use=use,
        public_jwk=public,
        private_sealed=aead.seal(settings.kek_bytes(), pem, kid.encode("ascii")),  # at rest: AES-GCM only
        cert_der=der,
        created_at=now,
        not_before=not_before,
        expires_at=expires,
    )
    db.session.add(row)
    audit.record(
        "key.created", actor=actor, target=kid, details={"kty": kty, "use": use, "not_before": not_before.isoformat()}
    )
    return row


def ensure_keys(actor: str = "system") -> list[str]:
    """Create the default RSA, P-256 and Ed25519 keys if the database has none; returns new kids."""
    with atomic():
        made = []
        for kty, use in [*((k, "sig") for k in KEY_TYPES), (ENC_KTY, "enc")]:
            exists = db.session.execute(
                select(SigningKey.kid).where(SigningKey.kty == kty, SigningKey.use == use).limit(1)
            ).first()
            if not exists:
                made.append(create_key(kty, not_before=clock.now(), actor=actor, use=use).kid)
    forget_cached_keys()
    return made


def rotate(
    kty: str = "RSA", *, immediate: bool = False, actor: str = "operator", use: str = "sig", compromised: bool = False
) -> SigningKey:
    """Publish a new key now; it signs after ``IDBB_KEY_PUBLISH_AHEAD`` (or at once with
    ``immediate``), when the previous one of the same type retires and starts its retention.
    ``compromised`` also withdraws the previous key at once: it leaves the JWKS and nothing it
    signed verifies any more (tokens it signed die with it; that is the point)."""
    with atomic():
        immediate = immediate or compromised
        if kty not in KEY_TYPES or use not in ("sig", "enc") or (use == "enc" and kty != ENC_KTY):
            raise InvalidKeyType(f"unknown key type {kty!r}/{use!r}; use RSA, EC or OKP (enc: RSA)")
        settings = state().settings
        now = clock.now()
        starts = now if immediate else now + timedelta(seconds=settings.key_publish_ahead)
        previous = (
            db.session.execute(
                select(SigningKey).where(SigningKey.kty == kty, SigningKey.use == use, SigningKey.retired_at.is_(None))
            )
            .scalars()
            .all()
        )
        for old in previous:
            if old.not_before > now:  # a pending key that never signed: superseded, nothing to keep verifying
                old.retired_at = old.publish_until = now
            else:
                old.retired_at = starts
                old.publish_until = now if compromised else starts + timedelta(seconds=settings.key_retention)
        row = create_key(kty, not_before=starts, actor=actor, use=use)
        audit.record(
            "key.rotated",
            actor=actor,
            target=row.kid,
            details={
                "kty": kty,
                "use": use,
                "immediate": immediate,
                "compromised": compromised,
                "retired": [k.kid for k in previous],
            },
        )
    forget_cached_keys()
    return row


def list_keys() -> list[SigningKey]:
    return list(db.session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars())


@dataclass(frozen=True)
class KeyRecord:
    """A detached snapshot of a key row, cached per process for ``KEY_CACHE_SECONDS``."""

    kid: str
    kty: str
    alg: str
    use: str
    public_jwk: dict[str, Any]
    private_sealed: bytes
    cert_der: bytes
    created_at: datetime
    not_before: datetime
    expires_at: datetime
    retired_at: datetime | None
    publish_until: datetime | None


#: How long a worker trusts its cached key list; rotation publishes keys long before they sign,
#: and an unknown ``kid`` forces a reload, so a short cache never rejects a valid token.
KEY_CACHE_SECONDS = 5.0


def _records(*, refresh: bool = False) -> list[KeyRecord]:
    cache = state().cache
    cached = cache.get("key_records")
    now = clock.timestamp()
    if isinstance(cached, tuple):
        expires, records = cached
        fresh_enough = now < expires - KEY_CACHE_SECONDS + 1.0  # loaded within the last second
        if now < expires and (not refresh or fresh_enough):  # forced reloads: at most one a second
            return records
    records = [
        KeyRecord(
            r.kid,
            r.kty,
            r.alg,
            r.use,
            dict(r.public_jwk),
            bytes(r.private_sealed),
            bytes(r.cert_der),
            r.created_at,
            r.not_before,
            r.expires_at,
            r.retired_at,
            r.publish_until,
        )
        for r in list_keys()
    ]
    cache["key_records"] = (now + KEY_CACHE_SECONDS, records)
    return records


def forget_cached_keys() -> None:
    state().cache.pop("key_records", None)
    state().cache.pop("published_view", None)


def _is_published(row: KeyRecord, now: datetime) -> bool:
    return row.created_at <= now and (row.publish_until is None or now < row.publish_until) and now < row.expires_at


def _is_signing(row: KeyRecord, now: datetime) -> bool:
    """A key stops signing one retention period before it expires, so everything it signed has
    expired while the key is still published and its certificate still valid."""
    stop = row.expires_at - timedelta(seconds=state().settings.key_retention)
    return row.not_before <= now and (row.retired_at is None or now < row.retired_at) and now < stop


def record(kid: str) -> KeyRecord | None:
    """The cached record of a published or retired key, by ``kid``."""
    return next((r for r in _records() if r.kid == kid), None)


@dataclass
class _PublishedView:
    """The published keys in JWKS order, computed once for a cached record list and reused until the next instant
    at which one of those records enters or leaves the JWKS or starts or stops signing (the order depends on both):
    a credential request no longer filters and sorts the key records (and rebuilds the kid map) per token."""

    records: list[KeyRecord]
    since: datetime
    until: datetime | None  # None: no record changes state after ``since``
    rows: list[KeyRecord]
    by_kid: dict[str, jwk.JWK] | None = None
    signers: dict[str, ActiveKey] = field(default_factory=dict)  # by kty, filled by signing_key


def _next_change(records: list[KeyRecord], after: datetime) -> datetime | None:
    """The first instant after ``after`` at which :func:`_is_published` or :func:`_is_signing` changes for a record."""
    retention = timedelta(seconds=state().settings.key_retention)
    instants = [
        moment
        for r in records
        for moment in (r.created_at, r.publish_until, r.expires_at, r.not_before, r.retired_at, r.expires_at - retention)
        if moment is not None and moment > after
    ]
    return min(instants, default=None)


def _published_view(now: datetime | None, refresh: bool) -> _PublishedView:
    moment = now or clock.now()
    records = _records(refresh=refresh)
    view = state().cache.get("published_view")
    if (
        isinstance(view, _PublishedView)
        and view.records is records  # a reload (rotation here, or the 5 s refresh) makes a new list
        and view.since <= moment
        and (view.until is None or moment < view.until)
    ):
        return view
    rows = [r for r in records if _is_published(r, moment)]

    def order(r: KeyRecord) -> tuple[int, int, int, float]:
        signing = _is_signing(r, moment)
        first = r.use == "sig" and r.kty == "RSA" and signing
        return (0 if first else 1, 1 if r.use == "enc" else 0, 0 if signing else 1, -r.not_before.timestamp())

    view = _PublishedView(records, moment, _next_change(records, moment), sorted(rows, key=order))
    state().cache["published_view"] = view
    return view


def published_keys(now: datetime | None = None, *, refresh: bool = False) -> list[KeyRecord]:
    """Keys in the JWKS at ``now``: the current RSA signer first (GovStack clients read keys[0])."""
    return list(_published_view(now, refresh).rows)


def jwks(now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The JWKS document in GovStack's shape (``exp`` is the key's expiry as ISO-8601)."""
    keys = []
    for row in published_keys(now):
        entry = dict(row.public_jwk)
        entry.update(
            {
                "kid": row.kid,
                "use": row.use,
                "alg": row.alg,
                "x5c": [x509.x5c_entry(row.cert_der)],
                "x5t#S256": x509.x5t_s256(row.cert_der),
                "exp": format_response_time(row.expires_at),
            }
        )
        keys.append(entry)
    return {"keys": keys}


def public_jwks_by_kid(now: datetime | None = None, *, want: str | None = None) -> dict[str, jwk.JWK]:
    """Published public keys by ``kid``, for verifying what idbb itself signed. If ``want`` is not
    among them the cache is reloaded once (another worker may have just rotated)."""
    view = _published_view(now, False)
    if want is not None and all(r.kid != want for r in view.rows):
        view = _published_view(now, True)
    if view.by_kid is None:
        parsed: dict[str, jwk.JWK] = state().cache.setdefault("public_jwk", {})  # type: ignore[assignment]  # state().cache is typed as dict[str, object]
        for row in view.rows:
            if row.use == "sig" and row.kid not in parsed:
                parsed[row.kid] = jwk.JWK(**row.public_jwk)
        view.by_kid = {row.kid: parsed[row.kid] for row in view.rows if row.use == "sig"}
    return dict(view.by_kid)  # a copy: the cached map is shared by every request of this worker


def signing_key(kty: str = "RSA", now: datetime | None = None) -> ActiveKey:
    """The key of ``kty`` that signs at ``now``, unsealed (cached per process by ``kid``).

    The choice is kept in the published view of the cached records: which key signs changes only at a record's
    boundary, where that view is recomputed, so an access token or a credential does not re-filter the records.
    """
    moment = now or clock.now()
    view = _published_view(moment, False)
    chosen = view.signers.get(kty)
    if chosen is not None:
        return chosen
    candidates = [r for r in view.records if r.kty == kty and r.use == "sig" and _is_signing(r, moment)]
    from_view = bool(candidates)  # an auto-rotation below drops the view: its choice is not kept there
    if not candidates:
        # The last key reached the end of its signing window (nobody rotated in time): make a new one
        # now, in the caller's transaction, rather than refuse service. Operators should rotate ahead
        # (`idbb keys rotate`) so relying parties see the key before it signs.
        if db.session.execute(select(SigningKey.kid).where(SigningKey.kty == kty, SigningKey.use == "sig")).first():
            create_key(kty, not_before=moment, actor="system:auto-rotate")
            db.session.flush()
            forget_cached_keys()
            candidates = [r for r in _records() if r.kty == kty and r.use == "sig" and _is_signing(r, moment)]
    if not candidates:
        raise ServerError(
            "No signing key is available.", detail=f"no active {kty} key: run `idbb init-db` or `idbb keys rotate`"
        )
    row = max(candidates, key=lambda r: r.not_before)
    chosen = ActiveKey(kid=row.kid, kty=row.kty, alg=row.alg, jwk=_unsealed(row))
    if from_view:
        view.signers[kty] = chosen
    return chosen


def decryption_keys(now: datetime | None = None) -> list[jwk.JWK]:
    """Private halves of the published encryption keys, newest first (payloads encrypted to a key
    that is being rotated out still decrypt while it is published)."""
    rows = [r for r in published_keys(now) if r.use == "enc"]
    return [_unsealed(r) for r in sorted(rows, key=lambda r: r.not_before, reverse=True)]


def _unsealed(row: KeyRecord) -> jwk.JWK:
    cache: dict[str, jwk.JWK] = state().cache.setdefault("unsealed", {})  # type: ignore[assignment]  # state().cache is typed as dict[str, object]
    key = cache.get(row.kid)
    if key is None:
        pem = aead.open_sealed(state().settings.kek_bytes(), row.private_sealed, row.kid.encode("ascii"))
        key = _with_kid(jwk.JWK.from_pem(pem), row.kid)
        cache[row.kid] = key
    return key


def _with_kid(key: jwk.JWK, kid: str) -> jwk.JWK:
    return jwk.JWK(**{**key.export_private(as_dict=True), "kid": kid})
