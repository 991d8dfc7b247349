"""What a wallet calls with its access token: the Credential (OpenID4VCI 1.0 §8), Deferred Credential (§9) and
Notification (§11) endpoints, and the access-token check they share (RFC 6750, DPoP per RFC 9449 §7).

One request, one transaction: the proof and c_nonce markers, the status indexes, the issued-credential rows, the
history and the audit and outbox events commit together or not at all.
"""

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jwcrypto import jwk
from sqlalchemy import select

from app.clock import clock
from app.errors import DpopProofError, Forbidden, InvalidDpopProof, Unauthorized
from app.extensions import db, state
from app.formats import FormatError
from app.formats.claims_path import ClaimsDescription
from app.formats.jose import check_time_claims
from app.formats.jwk import PRIVATE_MEMBERS, check_rsa_members, import_public_signing_jwk
from app.models.grants import Grant
from app.models.issuance import Issuance
from app.models.registry import Identity
from app.services import keys, lifecycle
from app.services.enrollment import registry
from app.services.issuance import document_claims, proofs, records
from app.services.issuance.assembly import assemble, selected
from app.services.issuance.authorization import (
    PERSON_FREE_CLIENT,
    claims_from_token_claim,
    credential_identifier,
    descriptions,
    from_token_claim,
)
from app.services.issuance.configurations import CredentialConfiguration, configured
from app.services.issuance.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidEncryptionParameters,
    InvalidNotificationId,
    InvalidNotificationRequest,
    InvalidTransactionId,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from app.services.issuance.pre_authorized import WALLET_CLIENT
from app.services.lifecycle import renewals
from app.services.oidc import access_tokens, dpop, grants
from app.services.oidc.grants import header
from app.services.status import allocation
from app.services.transaction import atomic

CREDENTIAL_PATH = "/credential"
DEFERRED_PATH = "/deferred_credential"
NOTIFICATION_PATH = "/notification"
EVENTS = {
    "credential_accepted": "credential_accepted",
    "credential_failure": "credential_failure",
    "credential_deleted": "credential_deleted",
}  # §11.1
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Answer:
    """``body`` as JSON, or ``jwe`` (``application/jwt``) when the wallet asked for an encrypted response (§10)."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]
    jwe: str | None = None


#: §10 / §12.2.4: what idbb encrypts credential responses with, and the request encryption it accepts.
RESPONSE_ALGS = ("ECDH-ES", "RSA-OAEP-256")
RESPONSE_ENCS = ("A128GCM", "A256GCM")
REQUEST_ENCS = ("A256GCM",)


def decrypt_request(token: str) -> dict[str, Any]:
    """§10: an encrypted request is a JWE to idbb's ``use: enc`` key whose plaintext is the request's JSON
    claims; anything that does not decrypt to a JSON object is ``invalid_encryption_parameters``."""
    import json

    from app.formats.jwe import decrypt_compact

    for key in keys.decryption_keys():
        try:
            plaintext = decrypt_compact(token.strip(), key)
        except FormatError:
            continue
        try:
            data = json.loads(plaintext)
        except ValueError:
            break
        if isinstance(data, dict):
            return data
        break
    raise InvalidEncryptionParameters(description="The request does not decrypt to a JSON object with idbb's key.")


def _response_encryption(body: dict[str, Any], encrypted: bool) -> tuple[jwk.JWK, str, str] | None:
    """§8.2 credential_response_encryption, checked before anything is issued."""
    spec = body.get("credential_response_encryption")
    if spec is None:
        return None
    if not encrypted:  # §8.2: request encryption MUST be used when credential_response_encryption is included
        raise InvalidEncryptionParameters(description="Encrypt the request when asking for an encrypted response.")
    if not isinstance(spec, dict) or spec.get("enc") not in RESPONSE_ENCS or "zip" in spec:
        raise InvalidEncryptionParameters(description="enc must be A128GCM or A256GCM; zip is not supported.")
    data = spec.get("jwk")
    if not isinstance(data, dict) or data.get("alg") not in RESPONSE_ALGS or PRIVATE_MEMBERS & data.keys():
        # §10: the JWK's alg MUST be present and is the JWE alg
        raise InvalidEncryptionParameters(description="jwk must be a public key with alg ECDH-ES or RSA-OAEP-256.")
    try:
        if data.get("kty") == "RSA":
            check_rsa_members(data)  # 2048 to 8192 bits, odd modulus, valid exponent (as every RSA key idbb takes)
        key = jwk.JWK(**data)
        from app.formats.jwe import encrypt_compact

        # a key that imports may still not encrypt (OpenSSL refuses RSA moduli over 16384 bits): find out now,
        # before a credential is issued and its c_nonce spent, not when the answer is sealed (was a 500)
        encrypt_compact(b"{}", key, str(data["alg"]), str(spec["enc"]))
    except Exception as exc:  # jwcrypto raises several types for a bad key
        raise InvalidEncryptionParameters(description="jwk does not import or cannot be encrypted to.") from exc
    return key, str(data["alg"]), str(spec["enc"])


def _encrypted(answer: Answer, target: tuple[jwk.JWK, str, str] | None) -> Answer:
    """§10: the whole response as a JWE (``kid`` copied from the wallet's key), media type application/jwt."""
    if target is None or answer.body is None:
        return answer
    import json

    from app.formats.jwe import encrypt_compact

    key, alg, enc = target
    token = encrypt_compact(json.dumps(answer.body).encode("utf-8"), key, alg, enc)
    return Answer(answer.status, None, answer.headers, token)


@dataclass(frozen=True)
class WalletToken:
    """An issuance token (pre-authorized code: ``issuance_id``) or a relying-party token from the authorization
    code flow through idbb's login (``grant_id`` and the configuration scopes consented)."""

    issuance_id: str | None
    anonymous: bool
    client_id: str = ""
    grant_id: str | None = None
    scopes: tuple[str, ...] = ()
    #: configurations granted with credential_identifiers (OpenID4VCI 1.0 §6.2); None: all of the issuance's
    details: tuple[str, ...] | None = None
    #: OpenID4VCI 1.0 §5.1.1 ``claims`` granted per configuration (from the token's authorization_details)
    detail_claims: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)

    #: the token's revocation marker when :func:`authenticate` left that check to the proofs' replay-store round trip
    revocation_key: str | None = None

    def claims_for(self, config_id: str) -> tuple[ClaimsDescription, ...]:
        return descriptions(self.detail_claims.get(config_id))


def _dpop_error(refused: DpopProofError) -> DpopProofError:
    challenge = f'DPoP error="{refused.error}", algs="ES256 PS256 RS256 EdDSA"'
    headers = {"WWW-Authenticate": challenge}
    if refused.nonce:
        headers["DPoP-Nonce"] = refused.nonce
    return type(refused)(refused.description, nonce=refused.nonce, status=401, headers=headers)


def authenticate(headers: Mapping[str, str], path: str, *, defer_revocation: bool = False) -> WalletToken:
    """The access token of a wallet request: idbb's, unexpired, unrevoked, from an issuance, and, when bound,
    presented with a DPoP proof of its key (RFC 9449 §7.1).

    ``defer_revocation``: the revocation marker is not read here but returned (``revocation_key``) for the
    request's one replay-store round trip, which spends its proofs and c_nonce too (:func:`credential`)."""
    value = str(header(headers, "Authorization") or "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() not in ("bearer", "dpop") or not token.strip():
        raise Unauthorized(description="An access token is required.")
    token = token.strip()
    try:
        claims = access_tokens.decode(token)
        check_time_claims(claims, clock.epoch())
    except FormatError as exc:
        raise Unauthorized(detail=str(exc)) from exc
    if not defer_revocation and access_tokens.is_revoked(claims):
        raise Unauthorized(detail="revoked")
    revocation_key = access_tokens.revocation_key(claims) if defer_revocation else None
    gid = claims.get("gid")
    if not isinstance(claims.get("iid"), str) and not (isinstance(gid, str) and grants.is_active(gid)):
        raise Unauthorized(detail="neither an issuance token nor an active grant's")
    bound = (claims.get("cnf") or {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
    if bound:
        if scheme.lower() != "dpop":  # RFC 9449 §7.1: a DPoP-bound token is presented with the DPoP scheme
            raise Unauthorized(description="This access token is DPoP-bound: use the DPoP scheme.")
        try:
            proof = dpop.check(
                header(headers, "DPoP"), method="POST", url=state().settings.issuer + path, access_token=token, required=True
            )
        except dpop.DpopRefused as refused:
            raise _dpop_error(refused) from None
        if proof is None or proof.jkt != bound:  # RFC 9449 §7.1: the proof's key is the token's key
            raise _dpop_error(InvalidDpopProof("The DPoP key is not the token's key."))
    scope = claims.get("scope")
    # RFC 9396 §9.1: a token request that narrowed authorization_details (1.0 §6.1) put them in the token
    narrowed = from_token_claim(claims.get("authorization_details"))
    asked = claims_from_token_claim(claims.get("authorization_details"))  # §5.1.1 claims travel in the token too
    if isinstance(claims.get("iid"), str):
        return WalletToken(
            str(claims["iid"]),
            claims.get("client_id") == WALLET_CLIENT,
            details=narrowed,
            detail_claims=asked,
            revocation_key=revocation_key,
        )
    grant = db.session.get(Grant, gid)
    details = tuple(grant.authorization_details or ()) if grant is not None else ()
    if narrowed is not None:
        details = narrowed
    # an issuer_state grant (OpenID4VCI 1.0 §5.1.3) collects that issuance, as a pre-authorized token would
    return WalletToken(
        grant.issuance_id if grant is not None else None,
        False,
        str(claims.get("client_id")),
        str(gid),
        tuple(scope.split()) if isinstance(scope, str) else (),
        details or None,
        asked,
        revocation_key,
    )


def _checked_out(issuance_id: str) -> Issuance:
    """The token's issuance, locked, outside the session (``records.checked_out``): ``records.store`` writes it."""
    row = records.checked_out(issuance_id)
    if row is None:
        raise Unauthorized(detail="issuance gone")
    return row


def _configuration(
    body: Mapping[str, Any], row: Issuance, granted: tuple[str, ...] | None = None
) -> CredentialConfiguration:
    """§8.2: exactly one of credential_identifier / credential_configuration_id, and the right one; ``granted``
    narrows the issuance's configurations to those the token's authorization_details name."""
    ident, config_id = body.get("credential_identifier"), body.get("credential_configuration_id")
    if (ident is None) == (config_id is None):  # §8.2: one MUST be present, never both
        raise InvalidCredentialRequest(
            description="Send exactly one of credential_identifier and credential_configuration_id."
        )
    known = configured()
    if config_id is not None:
        if not isinstance(config_id, str) or config_id not in known:
            raise UnknownCredentialConfiguration()
        # §8.2: credential_configuration_id MUST NOT be used when credential_identifiers were returned
        raise InvalidCredentialRequest(
            description="Use a credential_identifier from the token response's authorization_details."
        )
    by_identifier = {credential_identifier(c): c for c in row.configuration_ids if granted is None or c in granted}
    if not isinstance(ident, str) or ident not in by_identifier:
        raise UnknownCredentialIdentifier()
    return known[by_identifier[ident]]


def _issue(
    row: Issuance,
    config: CredentialConfiguration,
    holders: list[proofs.BoundKey],
    requested: tuple[ClaimsDescription, ...] = (),
) -> list[dict[str, str]]:
    settings = state().settings
    if row.subject_uin is not None and lifecycle.is_blocked(row.subject_uin):  # issue 17: no issuance while blocked
        raise CredentialRequestDenied(description="No credential can be issued to this person now.")
    stored = records.open_claims(row)
    if stored is None:
        raise CredentialRequestDenied(description="The claims for this credential are no longer held.")
    now = clock.now()
    try:
        values = config.values(
            stored.get("attributes") or {},
            stored.get("explicit"),
            now=now,
            issuing_country=settings.mdoc_country,
            issuing_authority=settings.issuer,
        )
    except KeyError as exc:
        raise CredentialRequestDenied(description="The claims for this credential are incomplete.") from exc
    values, unmet = selected(config, values, requested)
    if unmet:  # Appendix: the wallet "will only accept a Credential that includes this claim"; none is held
        raise CredentialRequestDenied(description="A claim the wallet requires is not held for this person.")
    out, ids, rows = [], [], []
    for holder in holders:
        reference = allocation.allocate()
        try:
            made = assemble(config, values, holder.key, reference, issuer=settings.issuer, now=now)
        except FormatError as exc:  # claims or a key the format refuses: the request fails, never a 500
            raise CredentialRequestDenied(
                description="This credential cannot be issued with these claims or key.", detail=str(exc)
            ) from exc
        credential_id = str(uuid.uuid4())
        rows.append(
            {
                "credential_id": credential_id,
                "issuance_id": row.issuance_id,
                "configuration_id": config.id,
                "format": config.format,
                "status_list_id": reference.list_id,
                "status_index": reference.idx,
                "revocation_id": str(uuid.uuid4()),
                "holder_jkt": holder.jkt,
                "digest": made.digest,
                "issued_at": now,
                "expires_at": made.expires_at,
            }
        )
        out.append({"credential": made.credential})
        ids.append(credential_id)
    row.issued_configurations = [*row.issued_configurations, config.id]
    if set(row.issued_configurations) >= set(row.configuration_ids):
        row.claims_sealed = None  # personal data is not kept once every credential is issued
    records.move(row, "credential_issued", configuration=config.id, count=len(out))
    records.event(row, "credential_issued", actor="wallet", configuration=config.id, count=len(out))
    # the credential rows (Core: nothing reads them back as objects here), the outbox event and a checked-out row,
    # written together: one statement on PostgreSQL
    records.store(row, rows, records.announced("credential.issued", row, configurationId=config.id, credentialIds=ids))
    return out


def credential(body: Any, headers: Mapping[str, str], *, encrypted_request: str | None = None) -> Answer:
    """``POST /credential`` (§8); ``encrypted_request`` is an ``application/jwt`` body (§10).

    The token's revocation is checked in the same replay-store round trip that spends the proofs and c_nonce
    (``proofs.verify``); a request refused before that point checks it on the way out, so a revoked token always
    gets ``invalid_token`` (RFC 6750 §3.1), never an answer about the issuance."""
    token = authenticate(headers, CREDENTIAL_PATH, defer_revocation=True)
    try:
        if encrypted_request is not None:
            body = decrypt_request(encrypted_request)
        if not isinstance(body, dict):
            raise InvalidCredentialRequest(description="The request body must be a JSON object.")
        if "proof" in body:  # draft versions' single proof; 1.0 §8.2 has only proofs
            raise InvalidCredentialRequest(description="Use proofs; the single proof parameter is not supported.")
        target = _response_encryption(body, encrypted_request is not None)
        return _encrypted(_credential(body, token), target)
    except Unauthorized:
        raise
    except Exception:
        if token.revocation_key is not None and state().replay.seen(token.revocation_key, clock.now()):
            raise Unauthorized(detail="revoked") from None
        raise


def _credential(body: dict[str, Any], token: WalletToken) -> Answer:
    if token.issuance_id is None:
        return _scoped_credential(body, token)
    with atomic():
        row = _checked_out(token.issuance_id)
        config = _configuration(body, row, token.details)
        if row.state == "issuance_denied":
            raise CredentialRequestDenied()
        if config.id in row.issued_configurations or row.pending_request is not None:
            raise CredentialRequestDenied(description="This credential was already requested.")
        holders = proofs.verify(
            body.get("proofs"),
            config,
            anonymous=token.anonymous,
            client_id=None if token.anonymous else token.client_id or None,
            revocation_key=token.revocation_key,
        )
        if row.mode == "Deferred" and row.credential_status != "ready":
            transaction_id = secrets.token_urlsafe(24)
            from app.services.stored_secrets import digest

            row.transaction_hash = digest(transaction_id)
            row.pending_request = {"configuration": config.id, "keys": [dict(h.key.members) for h in holders]}
            records.event(row, "credential_deferred", actor="wallet", configuration=config.id)
            records.store(row)
            # §8.3: not issued immediately: 202 with transaction_id and interval
            return Answer(202, {"transaction_id": transaction_id, "interval": state().settings.deferred_interval}, NO_STORE)
        if row.client_id == PERSON_FREE_CLIENT and row.claims_sealed is None:  # issue 18: the person's document
            document_claims.attach(row, config, row.subject_uin)
        issued = _issue(row, config, holders, token.claims_for(config.id))
        return Answer(200, {"credentials": issued, "notification_id": row.notification_id}, NO_STORE)


def deferred(body: Any, headers: Mapping[str, str], *, encrypted_request: str | None = None) -> Answer:
    """``POST /deferred_credential`` (§9): the credentials, 202 again, or the error."""
    token = authenticate(headers, DEFERRED_PATH)
    if encrypted_request is not None:
        body = decrypt_request(encrypted_request)
    if not isinstance(body, dict) or not isinstance(body.get("transaction_id"), str):
        raise InvalidCredentialRequest(description="transaction_id is required.")
    # §9.1: the encryption of this request's response is what this request asks for, not the first one's
    target = _response_encryption(body, encrypted_request is not None)
    return _encrypted(_deferred(body, token), target)


def _deferred(body: dict[str, Any], token: WalletToken) -> Answer:
    from app.services.stored_secrets import digest

    transaction_id = body["transaction_id"]
    with atomic():
        row = _checked_out(token.issuance_id)  # type: ignore[arg-type]  # the column is nullable; tokens reaching deferred issuance carry one
        if row.transaction_hash is None or not secrets.compare_digest(row.transaction_hash, digest(transaction_id)):
            raise InvalidTransactionId()  # §9.3: not issued by idbb, or already used
        if row.state == "issuance_denied":
            row.transaction_hash = None
            raise CredentialRequestDenied(description="The issuer denied this credential.")
        if row.credential_status != "ready":  # §9.2: still not ready: 202 with the same transaction_id
            return Answer(202, {"transaction_id": transaction_id, "interval": state().settings.deferred_interval}, NO_STORE)
        pending = row.pending_request or {}
        config = configured()[pending["configuration"]]
        # keys the request's proofs carried, re-read (kept before the full-size check too: accepted then)
        holders = [proofs.bound(import_public_signing_jwk(k, full_size=False)) for k in pending.get("keys", [])]
        row.transaction_hash, row.pending_request = None, None  # §9.1: invalidated once the credential is obtained
        issued = _issue(row, config, holders, token.claims_for(config.id))
        return Answer(200, {"credentials": issued, "notification_id": row.notification_id}, NO_STORE)


def notification(body: Any, headers: Mapping[str, str]) -> Answer:
    """``POST /notification`` (§11): the wallet's ``credential_accepted`` / ``_failure`` / ``_deleted`` → 204."""
    token = authenticate(headers, NOTIFICATION_PATH)
    if not isinstance(body, dict) or not isinstance(body.get("notification_id"), str):
        raise InvalidNotificationRequest(description="notification_id is required.")
    event = body.get("event")
    if event not in EVENTS:  # §11.1: one of the three events
        raise InvalidNotificationRequest(
            description="event must be credential_accepted, credential_failure or credential_deleted."
        )
    with atomic():
        if token.issuance_id is None:  # authorization-code tokens: the issuance their credential request made
            found = db.session.execute(
                select(Issuance)
                .where(Issuance.notification_id == body["notification_id"][:64], Issuance.client_id == token.client_id)
                .with_for_update()
            ).scalar_one_or_none()
            if found is None:
                raise InvalidNotificationId()
            row = found
        else:  # the ORM's row, not a checked-out one: renewals.accepted may change the issuance too
            held = db.session.execute(
                select(Issuance).where(Issuance.issuance_id == token.issuance_id).with_for_update()
            ).scalar_one_or_none()
            if held is None:
                raise Unauthorized(detail="issuance gone")
            row = held
        if (
            row.notification_id is None
            or not row.issued_configurations
            or not secrets.compare_digest(row.notification_id, body["notification_id"])
        ):
            raise InvalidNotificationId()
        records.move(row, "credential_acked", event=event)
        if event != "credential_failure":
            records.move(row, EVENTS[event])
        if event == "credential_accepted":
            renewals.accepted(row.issuance_id)  # issue 17: a renewal may revoke the credential it replaces
        records.event(row, "notified", actor="wallet", notification=event)
        records.emit("credential." + event.removeprefix("credential_"), row)
        return Answer(204, None, NO_STORE)


def _scoped_credential(body: dict[str, Any], token: WalletToken) -> Answer:
    """The wallet-initiated authorization-code variant (§5, §8.2): a token from idbb's login naming configurations
    by scope (the request names ``credential_configuration_id``) or by ``authorization_details`` (§5.1.1: the
    request names a ``credential_identifier`` of the token response, §6.2); the claims come from the person's
    registry record."""
    config_id, ident = body.get("credential_configuration_id"), body.get("credential_identifier")
    known = configured()
    if token.details:
        if config_id is not None or ident is None:
            # §8.2: with credential_identifiers returned, credential_identifier is REQUIRED and
            # credential_configuration_id MUST NOT be used
            raise InvalidCredentialRequest(description="Send a credential_identifier of the token response.")
        by_identifier = {credential_identifier(c): c for c in token.details}
        if not isinstance(ident, str) or ident not in by_identifier or by_identifier[ident] not in known:
            raise UnknownCredentialIdentifier()
        config = known[by_identifier[ident]]
    else:
        if ident is not None or config_id is None:
            # §8.2: without authorization_details, credential_configuration_id is REQUIRED, credential_identifier
            # MUST NOT be used
            raise InvalidCredentialRequest(
                description="Send credential_configuration_id (no authorization_details were granted)."
            )
        if not isinstance(config_id, str) or config_id not in known:
            raise UnknownCredentialConfiguration()
        config = known[config_id]
        if config.scope not in token.scopes:  # §8.2: the configuration's scope MUST be one the token was granted
            raise Forbidden(description="The access token was not granted this credential's scope.")
    with atomic():
        grant = db.session.get(Grant, token.grant_id)
        identity = db.session.get(Identity, grant.identity_id) if grant is not None else None
        if identity is None or identity.status != "ACTIVE":
            raise CredentialRequestDenied(description="The person's record is not active.")
        holders = proofs.verify(
            body.get("proofs"), config, anonymous=False, client_id=token.client_id, revocation_key=token.revocation_key
        )
        person = registry.read_identity(identity.uin)
        now = clock.now()
        row = records.new_issuance(  # no offer: the wallet asked with its token, so no code can redeem this one
            client_id=token.client_id,
            configuration_ids=[config.id],
            subject_uin=identity.uin,
            grant_type="authorization_code",
            state="offer_received",
            now=now,
            expires_at=now + timedelta(seconds=state().settings.credential_offer_ttl),
        )
        records.move(row, "offer_received", via="authorization_code")
        if document_claims.is_document_backed(config):  # issue 18: the claims of the person's document
            document_claims.attach(row, config, identity.uin)
        else:
            records.seal_claims(row, {"attributes": {**person["biographicData"], "uin": identity.uin}, "explicit": None})
        db.session.add(row)
        issued = _issue(row, config, holders, token.claims_for(config.id))
        return Answer(200, {"credentials": issued, "notification_id": row.notification_id}, NO_STORE)
