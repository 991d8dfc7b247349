"""The authorization code flow of credential issuance: ``issuer_state`` (OpenID4VCI 1.0 §4.1.1, §5.1.3) and
``authorization_details`` of type ``openid_credential`` (§5.1.1, RFC 9396).

An offer with the ``authorization_code`` grant carries an ``issuer_state`` (an HMAC of the issuance id and its
salt, like the pre-authorized code; only its digest is stored). The wallet passes it to ``/authorize``; the
request is then tied to that issuance: it may ask only for the issuance's configurations, and the code is issued
only when the person who logged in is the issuance's subject (``subject.uin``). An issuance with explicit claims
and no ``uin`` cannot use this grant (the safe rule: explicit claims never go to whoever happens to log in). The
``issuer_state`` is spent when the code is issued (single use); a wrong person's login does not spend it.

Authorization details name configurations by ``credential_configuration_id``; the token response returns them
with ``credential_identifiers`` (§6.2) and ``/credential`` then takes ``credential_identifier`` (§8.2).
"""

import base64
import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.extensions import db, state
from app.formats import claims_path
from app.models.issuance import Issuance
from app.models.registry import Identity
from app.services.issuance import records
from app.services.issuance.configurations import configured
from app.services.stored_secrets import digest, purpose_key

AUTHORIZATION_CODE_GRANT = "authorization_code"
#: The ``client_id`` of the issuances ``GET /offers/{scope}/{wallet_id}`` makes (issue 18): offers bound to a
#: configuration, not to a person; whoever logs in collects the document their registry record maps to.
PERSON_FREE_CLIENT = "idbb:offer-page"
DETAILS_TYPE = "openid_credential"  # §5.1.1
MAX_ISSUER_STATE = 512
MAX_DETAILS = 10


class IssuerStateRefused(Exception):
    """The issuance an ``issuer_state`` names cannot be authorized (any more, or by this person)."""


def credential_identifier(config_id: str) -> str:
    """One Credential Dataset per configuration of the issuance (§6.2 credential_identifiers)."""
    return f"{config_id}:0"


def issuer_state(issuance_id: str, salt: str) -> str:
    """§4.1.1 ``issuer_state``: opaque to the wallet, rebuilt from the row, never stored in clear."""
    mac = hmac.new(purpose_key("issuer state"), f"{issuance_id}:{salt}".encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _open_offer(row: Issuance | None) -> bool:
    return (
        row is not None
        and row.grant_type == AUTHORIZATION_CODE_GRANT
        and row.code_used_at is None
        and clock.now() < row.expires_at
        and row.state not in ("issuance_denied", "offer_expired")
    )


def find_offer(value: str) -> Issuance | None:
    """The open ``authorization_code`` issuance an ``issuer_state`` names, or None. §5.1.3: the value may have been
    injected by an attacker, so it only ever narrows what the request may obtain."""
    if not value or len(value) > MAX_ISSUER_STATE:
        return None
    row = db.session.execute(select(Issuance).where(Issuance.code_hash == digest(value))).scalar_one_or_none()
    return row if _open_offer(row) else None


#: per configuration, the claims description objects of its authorization detail (1.0 §5.1.1 ``claims``), as JSON
DetailClaims = dict[str, list[dict[str, Any]]]


def parse_details(raw: str | None) -> list[str]:
    """The ``credential_configuration_id`` of each ``openid_credential`` authorization detail (RFC 9396 §2),
    in order, without repeats; a ``ValueError`` (→ ``invalid_authorization_details``, RFC 9396 §5) otherwise."""
    return parse_request(raw)[0]


def parse_request(raw: str | None) -> tuple[list[str], DetailClaims]:
    """:func:`parse_details` and each detail's checked ``claims`` (1.0 §5.1.1, Appendix "Claims Description").

    A description whose path addresses no claim of the configuration (its metadata ``credential_metadata.claims``)
    is ignored when not ``mandatory`` (the wallet does not require it, and the processing rules abort only on
    repeated or contradictory descriptions); a ``mandatory: true`` one is refused, since the wallet "will only
    accept a Credential that includes this claim" and the issuer can never include it; so is an array of which
    nothing is left (RFC 9396 §5: details the AS cannot grant as asked)."""
    if raw is None:
        return [], {}
    try:
        details = json.loads(raw)
    except ValueError:
        raise ValueError("authorization_details is not JSON.") from None
    if not isinstance(details, list) or not details or len(details) > MAX_DETAILS:
        raise ValueError("authorization_details must be a non-empty JSON array.")  # RFC 9396 §2
    issuer = state().settings.issuer
    known = configured()
    out: list[str] = []
    claims: DetailClaims = {}
    for item in details:
        if not isinstance(item, dict) or item.get("type") != DETAILS_TYPE:
            # RFC 9396 §5: an unknown authorization details type MUST be refused
            raise ValueError("Only authorization details of type openid_credential are supported.")
        config_id = item.get("credential_configuration_id")
        if not isinstance(config_id, str) or config_id not in known:  # §5.1.1: REQUIRED, a key of the metadata
            raise ValueError("credential_configuration_id is missing or unknown.")
        locations = item.get("locations")
        if locations is not None and (not isinstance(locations, list) or issuer not in locations):
            # §5.1.1: with authorization_servers in the metadata, locations is the Credential Issuer Identifier
            raise ValueError("locations must name this credential issuer.")
        if "claims" in item:
            if config_id in out:  # two descriptions of one credential's claims: repeated or contradictory
                raise ValueError("A credential configuration with claims is named once.")
            claims[config_id] = _claims(item["claims"], known[config_id].claims)
        elif config_id in claims:
            raise ValueError("A credential configuration with claims is named once.")
        if config_id not in out:
            out.append(config_id)
    return out, claims


def _claims(value: Any, spec: Any) -> list[dict[str, Any]]:
    try:
        descriptions = claims_path.parse_descriptions(value)  # Appendix: processing MUST be aborted on conflicts
    except claims_path.ClaimsDescriptionError as exc:
        raise ValueError(f"claims: {exc}.") from None
    ignored = claims_path.unknown(descriptions, [c.path for c in spec])
    if any(d.mandatory for d in ignored):
        raise ValueError("claims: a mandatory claim is not one this credential can contain.")
    if len(ignored) == len(descriptions):  # nothing left to grant: refused rather than read as "every claim"
        raise ValueError("claims: none of these claims is one this credential can contain.")
    return [d.as_json() for d in descriptions if d not in ignored]


def descriptions(value: list[dict[str, Any]] | None) -> tuple[claims_path.ClaimsDescription, ...]:
    """Stored claims (as :func:`parse_request` made them) back as descriptions."""
    return tuple(
        claims_path.ClaimsDescription(tuple(d["path"]), bool(d.get("mandatory"))) for d in value or () if "path" in d
    )


def narrowed(raw: str | None, authorized: list[str]) -> list[str] | None:
    """The ``authorization_details`` of a token request (1.0 §6.1, RFC 9396 §6.1): None when absent, else the
    configurations asked for, which must be among those ``authorized`` (a subset gets a token for the reduced set);
    a ``ValueError`` (→ ``invalid_authorization_details``, RFC 9396 §6.2) for anything else."""
    result = narrowed_request(raw, authorized, {})
    return None if result is None else result[0]


def narrowed_request(raw: str | None, authorized: list[str], granted: DetailClaims) -> tuple[list[str], DetailClaims] | None:
    """:func:`narrowed` with claims: a token request may ask for fewer claims than were granted (RFC 9396 §6.1:
    never more), and a configuration it names without ``claims`` keeps the claims granted for it."""
    if raw is None:
        return None
    requested, claims = parse_request(raw)
    if not set(requested) <= set(authorized):
        # RFC 9396 §6.1: the AS decides on more access than authorized; idbb refuses it (1.0 §6.1 RECOMMENDS
        # accepting a subset of what was authorized, and only that)
        raise ValueError("authorization_details asks for credentials that were not authorized.")
    out: DetailClaims = {}
    for cid in requested:
        if cid in claims and cid in granted:
            allowed = {tuple(d["path"]) for d in granted[cid]}
            if not {tuple(d["path"]) for d in claims[cid]} <= allowed:
                raise ValueError("authorization_details asks for claims that were not authorized.")
        chosen = claims.get(cid, granted.get(cid))
        if chosen:
            out[cid] = chosen
    return requested, out


def token_claim(config_ids: list[str], claims: DetailClaims | None = None) -> list[dict[str, Any]]:
    """RFC 9396 §9.1: the access token's ``authorization_details`` claim (what the token may obtain)."""
    return [_detail(cid, claims) for cid in config_ids]


def _detail(cid: str, claims: DetailClaims | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"type": DETAILS_TYPE, "credential_configuration_id": cid}
    if claims and claims.get(cid):
        detail["claims"] = claims[cid]  # 1.0 §6.2: the details granted, claims included
    return detail


def from_token_claim(value: Any) -> tuple[str, ...] | None:
    """The configurations an access token's ``authorization_details`` claim names; None when it has none."""
    if not isinstance(value, list):
        return None
    return tuple(
        str(d["credential_configuration_id"])
        for d in value
        if isinstance(d, dict) and d.get("type") == DETAILS_TYPE and "credential_configuration_id" in d
    )


def claims_from_token_claim(value: Any) -> DetailClaims:
    """The ``claims`` each configuration of an access token's ``authorization_details`` claim was granted with."""
    if not isinstance(value, list):
        return {}
    return {
        str(d["credential_configuration_id"]): list(d["claims"])
        for d in value
        if isinstance(d, dict) and d.get("type") == DETAILS_TYPE and isinstance(d.get("claims"), list)
    }


def configurations_for_scopes(scopes: list[str]) -> list[str]:
    """The configurations whose ``scope`` the request asks for (§5.1.2), in the request's order."""
    by_scope = {c.scope: c.id for c in configured().values()}
    return [by_scope[s] for s in scopes if s in by_scope]


def token_details(config_ids: list[str], claims: DetailClaims | None = None) -> list[dict[str, Any]]:
    """§6.2 ``authorization_details`` of the token response: one Credential Dataset per configuration, with the
    ``claims`` granted for it."""
    return [{**_detail(cid, claims), "credential_identifiers": [credential_identifier(cid)]} for cid in config_ids]


def redeem(issuance_id: str, *, identity_id: str, client_id: str) -> None:
    """Spend the ``issuer_state`` as its authorization code is issued: the issuance is still open and the person
    who logged in is its subject, else :class:`IssuerStateRefused` (and the ``issuer_state`` stays unspent)."""
    row = db.session.execute(
        select(Issuance).where(Issuance.issuance_id == issuance_id).with_for_update()
    ).scalar_one_or_none()
    if row is None or not _open_offer(row):  # single use: a second login with the same offer is refused
        raise IssuerStateRefused("The credential offer can no longer be redeemed.")
    uin = db.session.execute(select(Identity.uin).where(Identity.identity_id == identity_id)).scalar_one_or_none()
    if row.client_id == PERSON_FREE_CLIENT and row.subject_uin is None and uin is not None:
        # a person-free offer (issue 18) becomes the issuance of the person who logs in: the credential endpoint
        # then looks for that person's document (app.services.issuance.document_claims)
        row.subject_uin = uin
    if row.subject_uin is None or uin is None or not hmac.compare_digest(row.subject_uin, uin):
        # the person who logs in must be the issuance's subject (never a UIN in the audit record)
        records.event(row, "issuer_state_refused", actor=client_id, outcome="failure", reason="another person")
        raise IssuerStateRefused("This credential offer is for another person.")
    row.code_used_at = clock.now()
    records.move(row, "offer_received", once=True, via="issuer_state_redeemed")
    records.event(row, "issuer_state_redeemed", actor=client_id)
