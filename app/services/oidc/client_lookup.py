"""Active clients by id, cached per worker for a few seconds: the OpenID Provider's hottest read.

Every token, introspection and revocation request starts by loading its client and importing the
client's public key; every step of a login and every userinfo call loads the relying party. Clients
change rarely (client management), so each worker keeps a detached copy of an active client and its
imported key set for ``IDBB_CLIENT_CACHE_SECONDS`` (default 5, as the
signing-key cache; 0 turns the cache off). An update through this worker is seen at once (``forget``);
with Redis, the other workers see it within ``GENERATION_CHECK_SECONDS`` (a shared counter), without it
within the cache's lifetime, so deactivating a client stops its token requests everywhere within that
bound. Public keys are immutable once registered (``update`` ignores
``publicKey``), so a key set is cached under the client id and the key's thumbprint.
"""

import copy
import time
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet

from app.extensions import db, state
from app.models.clients import Client

_CLIENTS = "client_lookup.clients"
_KEYSETS = "client_lookup.keysets"
_FORGOTTEN = "client_lookup.forgotten"
_GENERATION = "client_lookup.generation"
#: a counter in Redis that every client update increments
GENERATION_KEY = "idbb:clients:generation"
GENERATION_CHECK_SECONDS = 0.5
#: a bound on each worker's cache (a flood of lookups for many ids evicts everything, never grows it)
MAX_ENTRIES = 2048


def active_client(client_id: str) -> Client | None:
    """The client if it is registered and active, else None; a detached copy when the cache is on."""
    ttl = state().settings.client_cache_seconds
    if ttl <= 0:
        row = db.session.get(Client, client_id)
        return row if row is not None and row.status == "active" else None
    cache: dict[str, tuple[float, Client]] = state().cached(_CLIENTS, dict)
    now = time.monotonic()
    _follow_other_workers(cache, now)
    hit = cache.get(client_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = db.session.get(Client, client_id)
    if row is None or row.status != "active":
        cache.pop(client_id, None)
        return None
    detached = _copy(row)
    forgotten: dict[str, float] = state().cached(_FORGOTTEN, dict)
    if forgotten.get(client_id, -1.0) >= now or _generation().cleared_at > now:
        return detached  # read before an update committed (seen here or via Redis): used once, not kept
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
        forgotten.clear()
    cache[client_id] = (now + ttl, detached)
    return detached


def public_key_set(client: Client) -> KeySet:
    """The client's registered public key, imported once per worker."""
    keysets: dict[tuple[str, str | None], KeySet] = state().cached(_KEYSETS, dict)
    cache_key = (client.client_id, client.public_key_thumbprint)
    found = keysets.get(cache_key)
    if found is None:
        found = KeySet.import_key_set({"keys": [client.public_jwk]})  # type: ignore[list-item]  # the column is nullable; callers pass clients that registered a key
        if len(keysets) >= MAX_ENTRIES:
            keysets.clear()
        keysets[cache_key] = found
    return found


def forget(client_id: str) -> None:
    """Drop this worker's copy after the client changed (call after the COMMIT); with Redis, tell the other
    workers too (they drop their copies within ``GENERATION_CHECK_SECONDS``, else by age)."""
    state().cached(_FORGOTTEN, dict)[client_id] = time.monotonic()
    cached: dict[str, Any] = state().cache.get(_CLIENTS) or {}  # type: ignore[assignment]  # state().cache is typed as dict[str, object]
    cached.pop(client_id, None)
    redis = state().redis
    if redis is not None:
        redis.incr(GENERATION_KEY)  # type: ignore[attr-defined]  # state().redis is typed as object: redis is an optional dependency


def _follow_other_workers(cache: dict[str, tuple[float, Client]], now: float) -> None:
    """With Redis, look at the shared client generation at most every ``GENERATION_CHECK_SECONDS``; when
    another worker changed a client since, drop every cached copy (updates are rare; one GET is cheap)."""
    redis = state().redis
    if redis is None:
        return
    seen = _generation()
    if now - seen.asked_at < GENERATION_CHECK_SECONDS:
        return
    generation = redis.get(GENERATION_KEY)  # type: ignore[attr-defined]  # state().redis is typed as object: redis is an optional dependency
    if generation != seen.value:
        cache.clear()
        seen.cleared_at = now
    seen.asked_at, seen.value = now, generation


@dataclass
class _Generation:
    asked_at: float = -1.0  # when Redis was last asked
    value: Any = None  # the generation it said
    cleared_at: float = -1.0  # when this worker's cache was last cleared for a change elsewhere


def _generation() -> _Generation:
    return state().cached(_GENERATION, _Generation)


def _copy(row: Client) -> Client:
    """A transient copy holding every column, usable from any session and thread (never written back)."""
    values = {attr.key: copy.deepcopy(getattr(row, attr.key)) for attr in Client.__mapper__.column_attrs}
    return Client(**values)
