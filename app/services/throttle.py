"""Throttles per login transaction, per relying party and per source address (issue 14, security #3).

NIST SP 800-63B §5.2.2 asks a verifier to limit failed attempts; the person lockout in
:mod:`app.services.oidc.authentication` does that per person. It does not stop one login transaction (one cookie
jar) from trying many identifiers with one PIN each, nor one address from opening logins without end, nor a
flood of code sends or link-code requests. These counters do, before the attempt is made:

* per login transaction (a browser's, or a wallet's linked transaction): PIN/password/OTP attempts and
  code sends, ``IDBB_THROTTLE_PER_TRANSACTION`` per window;
* per source address (the ASGI client address; an IPv6 address counts by its /64, which one subscriber
  usually holds whole): each kind of action, ``IDBB_THROTTLE_PER_SOURCE`` per window;
* per relying party: each kind of action, ``IDBB_THROTTLE_PER_CLIENT`` per window.

A refusal is :class:`~app.errors.RateLimited` (HTTP 429, RFC 6585 §4) with ``Retry-After`` (RFC 9110
§10.2.3), the seconds left in the window. Counting is its own use case: :func:`check` commits before the
attempt runs, so neither the attempt's rollback nor the 429 undoes the count. Keys are MACs under a
KEK-derived key: the store holds no address and no transaction id.
"""

import ipaddress

from app.clock import clock
from app.errors import RateLimited
from app.extensions import db, state
from app.models.linking import LinkedTransaction
from app.models.login import AuthTransaction
from app.services.stored_secrets import mac
from app.services.transaction import count_now

#: The kinds of action counted apart.
ATTEMPT = "attempt"  # a PIN, password or one-time code checked (login page, wallet authenticate)
SEND = "send"  # a one-time code sent (login page, wallet send-otp)
LINK_CODE = "link-code"  # a QR link code made for a browser transaction
LINK = "link"  # a wallet's link-transaction (a link code tried)
#: Per-transaction limits apply to these (link codes have their own per-transaction caps).
PER_TRANSACTION = (ATTEMPT, SEND)


def source_bucket(source: str | None) -> str:
    """The unit a source address counts under: the address itself for IPv4, its /64 for IPv6, the text
    as given for anything else (a test client's name); ``-`` when unknown."""
    if not source:
        return "-"
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return source[:64]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else str(address)


def _client_of(transaction_id: str | None, linked_transaction_id: str | None) -> tuple[str | None, str | None]:
    """The login transaction counted and its relying party, from a browser or a linked transaction id."""
    if linked_transaction_id and len(linked_transaction_id) <= 64:
        linked = db.session.get(LinkedTransaction, linked_transaction_id)
        if linked is None:
            return linked_transaction_id, None
        transaction_id = linked.transaction_id
        counted = linked_transaction_id
    else:
        counted = transaction_id  # type: ignore[assignment]  # counted was inferred as str above; None passes through here as before
    txn = db.session.get(AuthTransaction, transaction_id) if transaction_id and len(transaction_id) <= 64 else None
    return counted, (txn.client_id if txn is not None else None)


def check(
    action: str,
    source: str | None,
    *,
    transaction_id: str | None = None,
    linked_transaction_id: str | None = None,
    client_id: str | None = None,
) -> None:
    """Count one ``action`` from ``source`` (for this login transaction and its relying party when given, or
    for ``client_id``, an authenticated API client such as a wallet backend at ``/wallet-binding``), and
    commit; raise RateLimited (429, Retry-After) when any of its limits is passed. Call it first, before the
    attempt's own use case begins."""
    settings = state().settings
    now = clock.now()
    counted, of_transaction = _client_of(
        transaction_id if isinstance(transaction_id, str) else None,
        linked_transaction_id if isinstance(linked_transaction_id, str) else None,
    )
    client_id = of_transaction or client_id
    limits: list[tuple[str, int]] = [(f"source {source_bucket(source)}", settings.throttle_per_source)]
    if counted and action in PER_TRANSACTION:
        limits.append((f"transaction {counted}", settings.throttle_per_transaction))
    if client_id:
        limits.append((f"client {client_id}", settings.throttle_per_client))
    retry_after = 0
    counters = state().rate_counters
    for scope, limit in limits:
        if limit <= 0:  # 0 turns a per-source or per-client limit off
            continue
        count, left = counters.hit(mac("rate limit", f"{action} {scope}"), settings.throttle_window, now)
        if count > limit:
            retry_after = max(retry_after, left)
    count_now()  # the count stands whatever the attempt does next
    if retry_after:
        raise RateLimited(retry_after)


def over_limit(name: str, limit: int, window: int) -> int:
    """Count one event of ``name`` (an authenticated subject's API call, say) against ``limit`` per ``window``
    seconds, and commit; the seconds until the window ends when the limit is passed, else 0. The caller raises
    its protocol's 429 (RFC 6585 §4) with that ``Retry-After`` (RFC 9110 §10.2.3)."""
    if limit <= 0:  # 0 turns the limit off
        return 0
    count, left = state().rate_counters.hit(mac("rate limit", name), window, clock.now())
    count_now()  # the count stands whatever the request does next
    return left if count > limit else 0
