"""Wallet login by QR code: GovStack §8 "Wallet – QR Code" (eSignet's linked authorization).

The browser's authorization transaction (from ``/authorize``) asks for a link code and shows it as a
QR code; the wallet app scans it and *links* the transaction, authenticates the person on the phone
(PIN, OTP or WLA — a JWT signed by the key bound at ``/wallet-binding``) and sends the consent; the
browser's long poll then receives the authorization code and continues to the relying party.

Each function is one use case and one transaction. Every state change commits first and then wakes the
long polls of its browser transaction (:mod:`app.stores.wakeups`); the polls re-read the database, which
stays the only truth. Error codes are GovStack's, one per answer, decided in the order the spec gives:
input shape → transaction → link code → authentication → consent.

Who may call what (issue 14 findings 1 and 4): link-code, link-status and link-auth-code answer only the browser that
started the transaction (its ``idbb_browser`` cookie); a link code links once, so the ``linkTransactionId``
it yields is a bearer secret of that one wallet, and authenticate, consent and send-otp need it.
"""

import base64
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.errors import (
    AccessDenied,
    AuthFailed,
    EsignetError,
    InvalidAcceptedClaim,
    InvalidClientId,
    InvalidIdentifier,
    InvalidLinkCode,
    InvalidNoOfChallenges,
    InvalidOtpChannel,
    InvalidPermittedScope,
    InvalidSignature,
    InvalidSignatureFormat,
    InvalidTransaction,
    InvalidTransactionId,
    LinkCodeGenFailed,
    SendOtpFailed,
)
from app.extensions import db, state
from app.formats import FormatError, aead
from app.formats.timefmt import format_response_time
from app.models.clients import Client
from app.models.grants import Grant
from app.models.linking import LinkCode, LinkedTransaction
from app.models.login import AuthTransaction
from app.services import audit
from app.services.notifier import DeliveryError
from app.services.oidc import authentication, consents, grants
from app.services.oidc.acr import ACR_FACTORS
from app.services.oidc.authorize_flow import acr_for, available_acrs
from app.services.oidc.authorize_request import AuthRequest, RedirectError
from app.services.oidc.client_metadata import policy as client_policy
from app.services.ops.sandbox import SANDBOX_TRANSACTIONS
from app.services.stored_secrets import digest, purpose_key
from app.services.transaction import atomic, end_read, keep_before_refusing

#: Crockford-like alphabet without look-alikes (no 0/O, 1/I/L): easy to type from the screen.
LINK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LINK_CODE_LENGTH = 15  # 31^15 ≈ 2^74: unguessable within a link code's lifetime
FACTOR_FORMATS = {"PIN": ("number", "alpha-numeric"), "OTP": ("alpha-numeric", "number"), "WLA": ("jwt",)}
MAX_CHALLENGES = 5


def _wake(transaction_id: str) -> None:
    state().wakeups.publish(transaction_id)


def _text(value: Any, limit: int = 256) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _transaction(transaction_id: Any, *, lock: bool = False) -> AuthTransaction | None:
    key = _text(transaction_id, 64)
    if not key:
        return None
    return db.session.get(AuthTransaction, key, with_for_update=lock or None, populate_existing=lock)


def _live(txn: AuthTransaction, now: datetime) -> bool:
    return txn.expires_at > now


def _code_row(link_code: Any) -> LinkCode | None:
    code = _text(link_code, 64)
    return db.session.get(LinkCode, digest("link code", code)) if code else None


#: ``authFactors[][].type`` on the GovStack (v1) paths: GovStack's ``AuthFactor`` enumerates ``PIN``, ``OTP``,
#: ``L1-bio-device`` and ``Wallet`` (Identity-Provider.yaml), where eSignet (``/v2/``) says ``WLA``. The
#: challenge a wallet then sends is ``WLA`` on both (GovStack's ``AuthChallenge`` enum has no ``Wallet``).
V1_FACTOR_NAMES = {"WLA": "Wallet"}


def _factor_alternatives(request: AuthRequest, v2: bool) -> list[list[dict[str, Any]]]:
    """``authFactors``: one list per ACR the request allows, in the request's order of preference."""
    available = available_acrs()
    return [
        [{"type": t if v2 else V1_FACTOR_NAMES.get(t, t), "count": 0, "bioSubTypes": []} for t in ACR_FACTORS[acr]]
        for acr in request.acr_values
        if acr in ACR_FACTORS and acr in available
    ]


# ----------------------------------------------------------------------------------------- browser side


def _of_this_browser(txn: AuthTransaction, browser: str | None) -> bool:
    """The browser calls come from the browser that started the transaction at ``/authorize``: the one
    holding its ``idbb_browser`` cookie (issue 14 finding 4), compared in constant time. Only the GovStack
    sandbox's seeded transactions, which no browser started, are exempt (GovStack's harness has no cookie)."""
    if state().settings.is_sandbox and txn.transaction_id in SANDBOX_TRANSACTIONS:
        return True
    return hmac.compare_digest(txn.browser_hash, digest(browser or ""))


@atomic()
def new_link_code(transaction_id: Any, *, browser: str | None) -> dict[str, str]:
    """POST /linked-authorization/link-code: a fresh link code for the transaction of this ``browser`` (its
    ``idbb_browser`` cookie); another browser's transaction is as unknown as one that does not exist."""
    settings = state().settings
    now = clock.now()
    txn = _transaction(transaction_id, lock=True)  # concurrent requests count the codes one at a time
    if txn is None or not _of_this_browser(txn, browser):
        raise InvalidTransactionId("Unknown transaction.")
    seeded = settings.is_sandbox and txn.transaction_id in SANDBOX_TRANSACTIONS
    if seeded and (txn.status != "pending" or not _live(txn, now)):
        # the GovStack sandbox: seeded transactions stay usable after an earlier login finished
        txn.status, txn.expires_at = "pending", max(txn.expires_at, now + timedelta(days=3650))
    if txn.status != "pending" or not _live(txn, now):
        raise InvalidTransaction("The transaction is finished or expired.")
    codes = (
        db.session.execute(
            select(LinkCode).where(LinkCode.transaction_id == txn.transaction_id).order_by(LinkCode.created_at)
        )
        .scalars()
        .all()
    )
    if len(codes) >= settings.link_codes_total_max and not seeded:  # sandbox: GovStack's harness asks ~15 times
        raise LinkCodeGenFailed("No more link codes for this transaction.")
    live = [c for c in codes if c.linked_at is None and c.expires_at > now]
    for old in live[: max(0, len(live) - settings.link_codes_live_max + 1)]:
        old.expires_at = now  # at most link_codes_live_max live codes: the oldest gives way
    code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(LINK_CODE_LENGTH))  # CSPRNG
    expires = now + timedelta(seconds=settings.link_code_ttl)
    db.session.add(
        LinkCode(code_hash=digest("link code", code), transaction_id=txn.transaction_id, created_at=now, expires_at=expires)
    )
    answer = {"transactionId": txn.transaction_id, "linkCode": code, "expireDateTime": format_response_time(expires)}
    return answer


def link_status(transaction_id: Any, link_code: Any, *, browser: str | None) -> dict[str, str] | None:
    """One look for POST /linked-authorization/link-status: the LINKED answer, or None while pending. Only the
    browser that started the transaction learns when its code is scanned (:func:`_of_this_browser`)."""
    now = clock.now()
    txn = _transaction(transaction_id)
    if txn is None or not _live(txn, now) or not _of_this_browser(txn, browser):
        raise InvalidTransactionId("Unknown or expired transaction.")
    row = _code_row(link_code)
    if row is None or row.transaction_id != txn.transaction_id or (row.linked_at is None and row.expires_at <= now):
        raise InvalidLinkCode("Unknown or expired link code.")
    end_read()  # read-only: end the transaction before the caller waits
    if row.linked_at is None:
        return None
    return {
        "transactionId": txn.transaction_id,
        "linkStatus": "LINKED",
        "linkedDateTime": format_response_time(row.linked_at),
    }


@atomic()
def link_auth_code(transaction_id: Any, linked_code: Any, *, browser: str | None) -> dict[str, Any] | None:
    """One look for POST /linked-authorization/link-auth-code: the code once the wallet has authenticated
    and consented (issued here, once, and repeated until redeemed or expired), or None while pending. Only
    the browser that started the transaction receives it (:func:`_of_this_browser`)."""
    now = clock.now()
    given = _text(linked_code, 64)
    row = _code_row(given) if given else None
    if given and row is None:  # eSignet order: a code that never existed comes first
        raise InvalidLinkCode("Unknown link code.")
    txn = _transaction(transaction_id)
    if txn is None or not _of_this_browser(txn, browser):
        raise InvalidTransactionId("Unknown transaction.")
    if row is None or row.transaction_id != txn.transaction_id or row.linked_transaction_id is None:
        raise InvalidLinkCode("The link code is missing, not linked or of another transaction.")
    linked = db.session.get(LinkedTransaction, row.linked_transaction_id, with_for_update=True)
    if linked is None:
        raise InvalidLinkCode("The link code is not linked.")
    request = AuthRequest.from_dict(txn.request)
    if linked.code_sealed is not None:
        grant = db.session.get(Grant, linked.grant_id) if linked.grant_id else None
        if grant is None or grant.code_used_at is not None or (linked.code_expires_at or now) <= now:
            raise InvalidTransaction("The authorization code was redeemed or has expired.")
        code = _unseal(linked.code_sealed, linked.linked_transaction_id)
        return _code_answer(request, code)
    if linked.expires_at <= now:
        raise InvalidTransaction("The linked transaction expired.")
    if linked.identity_id is None or linked.consented_at is None:
        return None
    if linked.accepted_claims == ["__declined__"]:
        txn.status = "done"
        linked.code_expires_at = now
        audit.record("consent.declined", actor=txn.client_id, target=linked.identity_id, details={"via": "wallet"})
        return {
            "redirectUri": request.redirect_uri,
            "state": request.state,
            "nonce": request.nonce,
            "error": AccessDenied.code,
            "errorDescription": "The person declined.",
        }
    assert linked.acr is not None and linked.auth_time is not None
    scopes = [s for s in request.scope if s not in request.extra_scopes() or s in linked.permitted_scopes]
    client = db.session.get(Client, txn.client_id)
    if consents.needs_asking(request) and client is not None:
        consents.save(linked.identity_id, request, list(linked.accepted_claims), scopes, client_policy(client).consent_ttl)
    try:
        code = grants.issue_code(
            request,
            identity_id=linked.identity_id,
            amr=list(linked.amr),
            acr=linked.acr,
            auth_time=linked.auth_time,
            session_id=None,
            accepted_claims=list(linked.accepted_claims),
            scopes=scopes,
        )
    except RedirectError as refused:  # an issuer_state offer for another person (OpenID4VCI 1.0 §5.1.3)
        txn.status = "done"
        linked.code_expires_at = now
        return {
            "redirectUri": request.redirect_uri,
            "state": request.state,
            "nonce": request.nonce,
            "error": refused.error,
            "errorDescription": refused.description,
        }
    grant_id = db.session.execute(select(Grant.grant_id).where(Grant.code_hash == digest(code))).scalar_one()
    linked.code_sealed, linked.grant_id = _seal(code, linked.linked_transaction_id), grant_id
    linked.code_expires_at = now + timedelta(seconds=state().settings.code_ttl)
    txn.status = "done"
    return _code_answer(request, code)


def _code_answer(request: AuthRequest, code: str) -> dict[str, Any]:
    return {"code": code, "redirectUri": request.redirect_uri, "state": request.state, "nonce": request.nonce}


def _code_key() -> bytes:
    return state().cached("linked code key", lambda: purpose_key("linked auth code"))


def _seal(code: str, linked_id: str) -> str:
    """The issued code at rest: AES-256-GCM (``app.formats.aead``, its versioned layout) bound to the linked
    transaction as associated data. The layout gained aead's version byte; a code sealed in the old layout
    (nonce || ciphertext) lives only until its ``code_ttl`` runs out, so none outlives a deploy by more."""
    return base64.urlsafe_b64encode(aead.seal(_code_key(), code.encode("ascii"), linked_id.encode("ascii"))).decode("ascii")


def _unseal(sealed: str, linked_id: str) -> str:
    try:
        raw = aead.open_sealed(_code_key(), base64.urlsafe_b64decode(sealed), linked_id.encode("ascii"))
    except FormatError:  # sealed before the layout changed, or under another KEK: the code cannot be released
        raise InvalidTransaction("The authorization code was redeemed or has expired.") from None
    return raw.decode("ascii")


# ------------------------------------------------------------------------------------------ wallet side


def link_transaction(link_code: Any, *, v2: bool = False) -> dict[str, Any]:
    """POST /linked-authorization/(v2/)link-transaction: the wallet links the browser's transaction."""
    with atomic():
        now = clock.now()
        if _text(link_code, 64) is None:
            raise InvalidLinkCode("linkCode is required.")
        row = _code_row(link_code)
        if row is None or (row.linked_at is None and row.expires_at <= now):
            raise InvalidLinkCode("Unknown or expired link code.")
        # lock the browser's transaction, then re-read the code: two scans at once (of one code, or of two
        # live codes of one login) link one wallet, and the other scan sees it
        txn = _transaction(row.transaction_id, lock=True)
        row = db.session.get(LinkCode, row.code_hash, populate_existing=True)
        if row is None or (row.linked_at is None and row.expires_at <= now):
            raise InvalidLinkCode("Unknown or expired link code.")
        if txn is None or not _live(txn, now):
            raise InvalidTransaction("The transaction is finished or expired.")
        if row.linked_at is not None:
            # single use (issue 14 finding 1): a second device that saw the QR code must not obtain the
            # linkTransactionId, the bearer secret of the wallet that linked first. A wallet cannot be told
            # apart from another one here (GovStack's request has only the code), so a replay is refused too.
            raise InvalidLinkCode("The link code was already used.")
        client = db.session.get(Client, txn.client_id)
        if client is None or client.kind != "oidc" or client.status != "active":
            raise InvalidClientId("The relying party is not active.")
        request = AuthRequest.from_dict(txn.request)
        if txn.status != "pending":
            raise InvalidTransaction("The transaction is already linked or finished.")
        linked = LinkedTransaction(
            linked_transaction_id=secrets.token_urlsafe(24),
            transaction_id=txn.transaction_id,
            link_code_hash=row.code_hash,
            created_at=now,
            expires_at=now + timedelta(seconds=state().settings.linked_transaction_ttl),
        )
        db.session.add(linked)
        row.linked_at, row.linked_transaction_id = now, linked.linked_transaction_id
        for other in db.session.execute(
            select(LinkCode).where(
                LinkCode.transaction_id == txn.transaction_id,
                LinkCode.linked_at.is_(None),
                LinkCode.code_hash != row.code_hash,
            )
        ).scalars():
            other.expires_at = min(other.expires_at, now)  # a transaction links to one wallet only
        txn.status = "linked"
        txn.expires_at = max(txn.expires_at, linked.expires_at)
        audit.record("wallet.linked", actor=txn.client_id, target=txn.transaction_id)  # never the bearer secret
        answer = _transaction_details(linked.linked_transaction_id, request, client, v2)  # before COMMIT expires the rows
        transaction_id = txn.transaction_id
    _wake(transaction_id)
    return answer


def _transaction_details(linked_id: str, request: AuthRequest, client: Client, v2: bool) -> dict[str, Any]:
    settings = state().settings
    return {
        "linkTransactionId": linked_id,
        "clientName": {"@none": client.name} if v2 else client.name,
        "logoUrl": client.logo_uri or "",
        "authorizeScopes": request.extra_scopes(),
        "essentialClaims": request.essential_claims(),
        "voluntaryClaims": request.voluntary_claims(),
        "authFactors": _factor_alternatives(request, v2),
        "configs": {"linked-transaction-expire-in-secs": settings.linked_transaction_ttl},
        **({"credentialScopes": []} if v2 else {}),
    }


def _linked(linked_id: Any, now: datetime, *, lock: bool = True) -> tuple[LinkedTransaction, AuthTransaction]:
    key = _text(linked_id, 64)
    linked = db.session.get(LinkedTransaction, key, with_for_update=lock) if key else None
    if linked is None:
        raise InvalidTransactionId("Unknown linked transaction.")
    txn = db.session.get(AuthTransaction, linked.transaction_id)
    if txn is None or linked.expires_at <= now or linked.code_sealed is not None or linked.code_expires_at:
        raise InvalidTransaction("The linked transaction is finished or expired.")
    return linked, txn


def _challenges(value: Any) -> list[tuple[str, str, str]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CHALLENGES:
        raise InvalidNoOfChallenges(f"challengeList must hold 1 to {MAX_CHALLENGES} challenges.")
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidNoOfChallenges("Each challenge must be an object.")
        kind, challenge, fmt = item.get("authFactorType"), item.get("challenge"), item.get("format")
        if (
            not (isinstance(kind, str) and isinstance(challenge, str) and isinstance(fmt, str))
            or not challenge
            or len(challenge) > 8192
        ):
            raise InvalidNoOfChallenges("Each challenge needs authFactorType, challenge and format.")
        out.append((kind, challenge, fmt))
    if len({k for k, _, _ in out}) != len(out):
        raise InvalidNoOfChallenges("One challenge per auth factor.")
    return out


def authenticate(
    linked_id: Any, individual_id: Any, challenge_list: Any, *, v2: bool = False, source: str | None = None
) -> dict[str, Any]:
    """POST /linked-authorization/(v2/)authenticate: the person proves who they are on the phone.
    ``source``: the wallet's address, for the per-source lockout of the person (issue 14, security #3)."""
    from app.services.wallet import wallet_binding  # the binding module is optional for PIN/OTP-only flows

    with atomic():
        now = clock.now()
        identifier = _text(individual_id)
        if identifier is None or not identifier.strip():
            raise InvalidIdentifier("individualId is required.")
        challenges = _challenges(challenge_list)
        linked, txn = _linked(linked_id, now)
        if linked.identity_id is not None:  # already authenticated: a second authentication is refused
            raise InvalidTransactionId("The linked transaction is already authenticated.")
        request = AuthRequest.from_dict(txn.request)
        kinds = {k for k, _, _ in challenges}
        allowed = [set(ACR_FACTORS[acr]) for acr in request.acr_values if acr in ACR_FACTORS and acr in available_acrs()]
        failure_details = {"via": "wallet", "factors": " ".join(sorted(kinds))}
        identities: set[str] = set()
        amr: list[str] = []
        try:
            if kinds not in allowed or any(fmt not in FACTOR_FORMATS.get(k, ()) for k, _, fmt in challenges):
                raise authentication.AuthFailed("login.failed")
            # PIN and OTP first: a wrong one must not spend the single-use WLA token of the same request
            for kind, challenge, _fmt in sorted(challenges, key=lambda c: c[0] == "WLA"):
                if kind == "PIN":
                    result = authentication.with_static_code(identifier, challenge, source=source)
                    identities.add(result.identity_id)
                    amr.extend(result.amr)
                elif kind == "OTP":
                    result = authentication.with_otp(linked.linked_transaction_id, identifier, challenge, source=source)
                    identities.add(result.identity_id)
                    amr.extend(result.amr)
                else:
                    identities.add(wallet_binding.authenticate_wla(identifier, challenge))
                    amr.append("swk")  # RFC 8176: proof of possession of a software-secured key
            if len(identities) != 1:
                raise authentication.AuthFailed("login.failed")
        except authentication.AuthFailed as failed:
            audit.record(
                "authentication.failed",
                actor=txn.client_id,
                outcome="failure",
                details={**failure_details, "reason": failed.key},
            )
            keep_before_refusing()  # failure counts persist
            raise AuthFailed("Authentication failed.") from None
        acr = acr_for(amr, request.acr_values)
        if acr is None:
            raise AuthFailed("Authentication failed.")
        linked.identity_id, linked.amr, linked.acr, linked.auth_time = identities.pop(), amr, acr, clock.epoch()
        if linked.consent_binding_id is not None and not _binding_of(linked.consent_binding_id, linked.identity_id):
            linked.consented_at, linked.accepted_claims, linked.permitted_scopes = None, [], []  # signed by someone else
            linked.consent_binding_id = None
        action = "CAPTURE"
        if linked.consented_at is None and _no_consent_needed(linked.identity_id, request):
            stored = consents.current(linked.identity_id, request)
            linked.consented_at = now
            linked.accepted_claims = list(stored.accepted_claims) if stored is not None else []
            linked.permitted_scopes = list(stored.scopes) if stored is not None else []
            action = "NOCAPTURE"
        audit.record(
            "authentication.succeeded",
            actor=txn.client_id,
            target=linked.identity_id,
            details={"amr": " ".join(amr), "acr": acr, "via": "wallet"},
        )
        answer: dict[str, Any] = {
            "linkedTransactionId": linked.linked_transaction_id,
            "linkTransactionId": linked.linked_transaction_id,
        }
        transaction_id = txn.transaction_id
    _wake(transaction_id)
    if v2:
        answer["consentAction"] = action
    return answer


def _no_consent_needed(identity_id: str, request: AuthRequest) -> bool:
    if not consents.needs_asking(request):
        return True
    return "consent" not in request.prompt and consents.current(identity_id, request) is not None


def _binding_of(binding_id: str, identity_id: str) -> bool:
    from app.models.wallet_binding import WalletBinding

    row = db.session.get(WalletBinding, binding_id)
    return row is not None and hmac.compare_digest(row.identity_id, identity_id)


def _as_list(value: Any, error: type[EsignetError]) -> list[str]:
    """A single string is read as a one-element list (eSignet wallets send either)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error("Expected a list of strings.")
    return list(dict.fromkeys(value))


def consent(
    linked_id: Any,
    accepted_claims: Any,
    permitted_scopes: Any,
    *,
    signature: Any = None,
    v2: bool = False,
    declined: bool = False,
) -> dict[str, Any]:
    """POST /linked-authorization/(v2/)consent: the consent given on the phone (the last one wins; it may
    come before authentication, and the code is released only when both are done)."""
    with atomic():
        now = clock.now()
        linked, txn = _linked(linked_id, now)
        request = AuthRequest.from_dict(txn.request)
        accepted = _as_list(accepted_claims, InvalidAcceptedClaim)
        requested = set(request.essential_claims()) | set(request.voluntary_claims())
        if not declined and (not set(accepted) <= requested or not set(request.essential_claims()) <= set(accepted)):
            raise InvalidAcceptedClaim("Accepted claims must include every essential claim and no others.")
        permitted = _as_list(permitted_scopes, InvalidPermittedScope)  # after the claims: GovStack's order
        # any scope the transaction requested, ``openid`` and ``profile`` included (GovStack's harness permits
        # "openid"); only ``authorizeScopes`` (offline_access) change what is granted (issue 13 point 4)
        if not declined and not set(permitted) <= set(request.scope):
            raise InvalidPermittedScope("A permitted scope was not requested.")
        binding_id = None
        if v2 and not declined:
            binding_id = _verify_consent_signature(signature, accepted, permitted, linked.identity_id)
        linked.consented_at = now
        linked.accepted_claims = ["__declined__"] if declined else sorted(accepted)
        linked.permitted_scopes = [] if declined else sorted(permitted)
        linked.consent_binding_id = binding_id
        audit.record(
            "consent.declined" if declined else "consent.given",
            actor=txn.client_id,
            target=txn.transaction_id,
            details={"via": "wallet", "claims": " ".join(sorted(accepted))},
        )
        answer = {"linkedTransactionId": linked.linked_transaction_id}
        transaction_id = txn.transaction_id
    _wake(transaction_id)
    return answer


def _verify_consent_signature(signature: Any, accepted: list[str], permitted: list[str], identity_id: str | None) -> str:
    """eSignet v2 consent: a detached JWS by the wallet's bound key over the consented values."""
    from app.formats import wla
    from app.formats.jose import decode_header_segment
    from app.services.wallet import wallet_binding

    text = _text(signature, 8192)
    if text is None:
        raise InvalidSignatureFormat("signature is required: a detached JWS.")
    try:
        parts = text.split(".")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[1]):
            raise FormatError("not a detached JWS")
        header = decode_header_segment(parts[0], "consent signature")
    except FormatError:
        raise InvalidSignatureFormat("signature must be a detached JWS (header..signature).") from None
    found = wallet_binding.consent_key(str(header.get("x5t#S256", "")))
    if found is None or (identity_id is not None and not hmac.compare_digest(found[0], identity_id)):
        raise InvalidSignature("The consent is not signed by a key bound to this person.")
    try:
        wla.verify_detached_consent(text, wla.consent_payload(accepted, permitted), found[2])
    except FormatError:
        raise InvalidSignature("The consent signature does not verify.") from None
    return found[1]


@atomic()
def send_otp(
    linked_id: Any,
    individual_id: Any,
    channels: Any,
    message: Callable[[str | None], tuple[str, str]],
    source: str | None = None,
) -> dict[str, Any]:
    """POST /linked-authorization/send-otp: a one-time code for the wallet's OTP factor.

    ``message`` words it (subject, body with ``{code}``) from the relying party's ``ui_locales``; the caller
    owns the translations (the handler adds the wallet's ``Accept-Language``), as for the browser's OTP.
    """
    now = clock.now()
    identifier = _text(individual_id)
    if identifier is None or not identifier.strip():
        raise InvalidIdentifier("individualId is required.")
    if channels is not None and (
        not isinstance(channels, list)
        or not channels
        or not all(isinstance(c, str) and c.lower() in ("email", "phone", "mobile") for c in channels)
    ):
        raise InvalidOtpChannel("otpChannels must list email and/or phone.")
    wanted = None if channels is None else {c.lower().replace("mobile", "phone") for c in channels}
    if wanted is not None and not wanted & set(authentication.otp_channels()):
        raise InvalidOtpChannel("None of the requested channels is available.")
    linked, txn = _linked(linked_id, now, lock=False)
    wording = message(AuthRequest.from_dict(txn.request).ui_locales)
    try:
        authentication.send_otp(linked.linked_transaction_id, identifier, *wording, channels=wanted, source=source)
    except authentication.AuthFailed:
        raise SendOtpFailed("No code can be sent now.") from None
    except DeliveryError:
        pass  # logged by the notifier; answered as for an unknown identifier (no oracle)
    # The masked addresses stay empty for everyone: eSignet returns them, but before the wallet has proved
    # any factor they tell who is enrolled (and leak the first letter and the domain). Issue 14, security #2.
    return {"transactionId": linked.linked_transaction_id, "maskedEmail": "", "maskedMobile": ""}
