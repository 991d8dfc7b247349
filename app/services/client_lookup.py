"""Active clients by id, cached per worker for a few seconds: the OpenID Provider's hottest read.

Every token, introspection and revocation request starts by loading its client and importing the
client's public key; every step of a login and every userinfo call loads the relying party. Clients
change rarely (client management), so each worker keeps a detached copy of an active client and its
imported key set for ``IDBB_CLIENT_CACHE_SECONDS`` (default 5, as the
signing-key cache; 0 turns the cache off). An update through this worker is seen at once (``forget``);
another worker sees it within that many seconds, so deactivating a client stops its token requests
everywhere within the same bound. Public keys are immutable once registered (``update`` ignores
``publicKey``), so a key set is cached under the client id and the key's thumbprint.
"""

import copy
import time
from typing import Any

from joserfc.jwk import KeySet

from app.extensions import db, state
from app.models.clients import Client

_CLIENTS = "client_lookup.clients"
_KEYSETS = "client_lookup.keysets"
_FORGOTTEN = "client_lookup.forgotten"
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
    hit = cache.get(client_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = db.session.get(Client, client_id)
    if row is None or row.status != "active":
        cache.pop(client_id, None)
        return None
    detached = _copy(row)
    forgotten: dict[str, float] = state().cached(_FORGOTTEN, dict)
    if forgotten.get(client_id, -1.0) >= now:
        return detached  # read before an update of this worker committed: used once, not kept
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
        found = KeySet.import_key_set({"keys": [client.public_jwk]})
        if len(keysets) >= MAX_ENTRIES:
            keysets.clear()
        keysets[cache_key] = found
    return found


def forget(client_id: str) -> None:
    """Drop this worker's copy after the client changed (other workers expire theirs by age)."""
    state().cached(_FORGOTTEN, dict)[client_id] = time.monotonic()
    cached: dict[str, Any] = state().cache.get(_CLIENTS) or {}  # type: ignore[assignment]
    cached.pop(client_id, None)


def _copy(row: Client) -> Client:
    """A transient copy holding every column, usable from any session and thread (never written back)."""
    values = {attr.key: copy.deepcopy(getattr(row, attr.key)) for attr in Client.__mapper__.column_attrs}
    return Client(**values)
