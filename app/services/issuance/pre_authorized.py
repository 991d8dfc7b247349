"""The pre-authorized code grant at the token endpoint (OpenID4VCI 1.0 §6.1, §6.2, §6.3).

Anonymous (``pre-authorized_grant_anonymous_access_supported``: no client authentication), single use,
short-lived (the offer's expiry). With a ``tx_code`` in the offer a missing one is ``invalid_request`` and a wrong
one ``invalid_grant``; after ``IDBB_TX_CODE_MAX_ATTEMPTS`` wrong ones the code is dead. The token response carries
``authorization_details`` with ``credential_identifiers`` (§6.2); the access token is DPoP-bound (RFC 9449) when
the wallet sends a DPoP proof. The caller (``token_endpoint``) commits: failed tx_code attempts count even though
the request is refused.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.errors import InvalidAuthorizationDetails, InvalidGrant, InvalidRequest
from app.extensions import db, state
from app.models.issuance import Issuance
from app.services.issuance import records
from app.services.issuance.authorization import narrowed_request, token_claim, token_details
from app.services.issuance.backend import tx_code_matches
from app.services.oidc import access_tokens, dpop
from app.services.oidc.grants import header
from app.services.oidc.token_endpoint import TOKEN_PATH, TokenResponse
from app.services.stored_secrets import digest

WALLET_CLIENT = "anonymous-wallet"  # RFC 9068 §2.2 needs a client_id; anonymous access has none
MAX_CODE_LENGTH = 512


def _error(code: str, description: str, headers: dict[str, str] | None = None) -> TokenResponse:
    return TokenResponse(400, {"error": code, "error_description": description}, headers or {})


def exchange(form: Mapping[str, list[str]], headers: Mapping[str, str], *, path: str = TOKEN_PATH) -> TokenResponse:
    repeated = sorted(k for k, v in form.items() if len(v) > 1)
    if repeated:  # RFC 6749 §3.2: parameters MUST NOT be included more than once
        return _error(InvalidRequest.code, f"Parameter repeated: {repeated[0]}.")
    code = (form.get("pre-authorized_code") or [""])[0]
    if not code or len(code) > MAX_CODE_LENGTH:  # §6.1: pre-authorized_code REQUIRED
        return _error(InvalidRequest.code, "pre-authorized_code is required.")
    row = db.session.execute(
        select(Issuance).where(Issuance.code_hash == digest(code)).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    settings = state().settings
    if (
        row is None
        or row.grant_type != "pre-authorized_code"
        or now >= row.expires_at
        or row.state in ("issuance_denied", "offer_expired")
    ):  # an issuer_state is no pre-authorized code
        return _error(InvalidGrant.code, "The pre-authorized code is invalid or expired.")
    if row.code_used_at is not None:  # §6.1 / RFC 6749 §4.1.2: single use
        records.event(row, "code_replayed", actor="anonymous", outcome="failure")
        return _error(InvalidGrant.code, "The pre-authorized code was already used.")
    tx_code = (form.get("tx_code") or [None])[0]  # type: ignore[list-item]  # form values are lists of str; [None] is the absent-parameter default
    if row.tx_code_hash is not None:
        if not tx_code:  # §6.3: tx_code given in the offer, missing here: invalid_request
            return _error(InvalidRequest.code, "tx_code is required for this offer.")
        if not tx_code_matches(row, tx_code):  # §6.3: a wrong tx_code is invalid_grant
            row.tx_code_failures += 1
            if row.tx_code_failures >= settings.tx_code_max_attempts:  # §13.7: brute force of a short code
                records.move(row, "offer_expired", reason="tx_code attempts exhausted")
                row.claims_sealed = None
            records.event(row, "tx_code_refused", actor="anonymous", outcome="failure", failures=row.tx_code_failures)
            return _error(InvalidGrant.code, "The tx_code is wrong.")
    elif tx_code is not None:
        return _error(InvalidRequest.code, "This offer has no tx_code.")
    try:  # 1.0 §6.1: authorization_details in the token request narrows the offer's configurations
        asked = narrowed_request((form.get("authorization_details") or [None])[0], list(row.configuration_ids), {})  # type: ignore[list-item]  # form values are lists of str; [None] is the absent-parameter default
    except ValueError as exc:
        return _error(InvalidAuthorizationDetails.code, str(exc))  # RFC 9396 §6.2
    url = settings.issuer + path
    try:
        proof = dpop.check(header(headers, "DPoP"), method="POST", url=url)
    except dpop.DpopRefused as refused:
        extra: dict[str, Any] = {"DPoP-Nonce": refused.nonce} if refused.nonce else {}
        return _error(refused.error, refused.description, extra)
    row.code_used_at = now
    records.move(row, "offer_received", once=True, via="code_redeemed")
    subset, detail_claims = asked if asked is not None else (None, {})
    details = token_details(subset or list(row.configuration_ids), detail_claims)  # 1.0 §6.2, claims included
    extra = {"iid": row.issuance_id}
    if subset is not None:
        # RFC 9396 §9.1: the token obtains only these (and only these claims of them)
        extra["authorization_details"] = token_claim(subset, detail_claims)
    if proof is not None:
        extra["cnf"] = {"jkt": proof.jkt}  # RFC 9449 §6.1
    token, claims = access_tokens.issue(
        client_id=WALLET_CLIENT, subject=f"issuance:{row.issuance_id}", scope="", extra=extra
    )
    records.event(row, "token_issued", actor="anonymous", dpop=proof is not None)
    body = {
        "access_token": token,
        "token_type": "DPoP" if proof is not None else "Bearer",
        "expires_in": claims["exp"] - claims["iat"],
        "authorization_details": details,
    }
    return TokenResponse(200, body, {})
