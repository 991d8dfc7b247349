"""Wallet key binding: ``POST /wallet-binding`` (GovStack) = ``/binding/wallet-binding`` (eSignet), its
``/binding/binding-otp``, and the checks linked authorization makes with a bound key.

Sources: GovStack Identity-Provider.yaml ``/wallet-binding``; esignet-notes.md §2.6 (endpoints and
error codes), §4.2 (WLA token), §4.3 (signed consent), §5 (binding registry).

A binding ties a wallet's public key to one person for one auth factor (``WLA``), certified by
idbb's binding CA (``app/services/wallet/binding_ca.py``). One error per response, in this order:
``invalid_request`` → ``unsupported_challenge_format`` → ``invalid_public_key`` →
``invalid_auth_challenge`` → ``duplicate_public_key`` → ``key_binding_failed``.

The person is named to the partner only by ``walletUserId``, a pairwise pseudonym per (person,
partner) under a KEK-derived key; the individual id is never stored, logged, audited or put into a
certificate. Wrong or unknown OTP/PIN and unknown individual give the same answer.

GovStack sandbox profile (``settings.is_sandbox``): no bearer token needed and any non-empty
PARTNER-* values; any non-empty OTP is accepted for any individual id (an unknown one binds to
the synthetic identity ``"sandbox:" + MAC(individual id)``); a public key only has to be a JSON
object with a ``kty``. A key that then does not load still binds: the certificate is issued over a
throwaway key whose private half is discarded at once and is marked ``OU=idbb sandbox: key not
usable``, and the binding can never authenticate (its stored key cannot verify a signature). That
keeps the answer shape the spec requires (a PEM certificate) without certifying a key nobody holds.
The sandbox also takes any ``authFactorType`` and ``format`` of GovStack's ``AuthChallenge`` enums
(OTP/PIN/BIO/WLA; alpha-numeric/jwt/encoded-json/number), at the top level and per challenge, as
GovStack's harness sends them (issue 13 point 2); the key is still bound for WLA tokens.
"""

import base64
import hashlib
import hmac
import math
import re
import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk
from jwcrypto.common import JWException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import (
    DuplicatePublicKey,
    InvalidAuthChallenge,
    InvalidIdentifier,
    InvalidOtpChannel,
    InvalidPublicKey,
    InvalidRequest,
    KeyBindingFailed,
    SendOtpFailed,
    Unauthorized,
    UnsupportedChallengeFormat,
)
from app.extensions import db, state
from app.formats import FormatError, wla
from app.formats.timefmt import format_response_time
from app.models.registry import Identity
from app.models.wallet_binding import WalletBinding
from app.services import audit, notifier
from app.services.enrollment.registry import identity_for_login
from app.services.oidc import authentication
from app.services.stored_secrets import digest, mac, purpose_key
from app.services.transaction import atomic, discard, keep_before_refusing
from app.services.wallet import binding_ca

#: The factor a wallet key is bound to, and the challenge format it then uses (esignet-notes.md §6.8).
BIND_FACTOR, BIND_FORMAT = "WLA", "jwt"
#: Challenges accepted to prove the person at binding time, with their formats (GovStack AuthChallenge).
CHALLENGE_FORMATS: dict[str, tuple[str, ...]] = {"OTP": ("alpha-numeric", "number"), "PIN": ("number",)}
#: GovStack sandbox: the ``AuthChallenge`` enums of Identity-Provider.yaml (``authFactorType`` and ``format``),
#: which GovStack's harness binds with (top-level ``authFactorType: "OTP"``, ``format: "encoded-json"``…).
SANDBOX_FACTORS = ("OTP", "PIN", "BIO", "WLA")
SANDBOX_FORMATS = ("alpha-numeric", "jwt", "encoded-json", "number")
OTP_CHANNELS = ("email", "phone")
MAX_ID_LENGTH = 256
MAX_CHALLENGES = 4
MAX_CHALLENGE_LENGTH = 256
_DIGITS = re.compile(r"^[0-9]+$")
OTP_SUBJECT = "Your wallet binding code"
OTP_BODY = (
    "Your code to link your wallet is {code}. It expires in a few minutes.\n"
    "If you did not ask to link a wallet, ignore this message."
)
_AUTH_FAILED = "The authentication challenge is not valid."


def _text(value: Any, max_len: int = MAX_ID_LENGTH) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        return None
    return value.strip()


def _sandbox() -> bool:
    return bool(state().settings.is_sandbox)


def _caller(client_id: str | None) -> None:
    """The strict profile needs the bearer token Connexion checked; only the sandbox may run without."""
    if client_id is None and not _sandbox():
        raise Unauthorized()


def _partner(partner_id: str | None, partner_api_key: str | None, client_id: str | None) -> str:
    """GovStack ``/wallet-binding`` headers PARTNER-ID and PARTNER-API-KEY (both required).

    The bearer token authenticates the partner; PARTNER-API-KEY is required for GovStack
    compatibility but is not a credential in idbb (never stored or logged)."""
    _caller(client_id)
    partner = _text(partner_id, 100)
    if partner is None or _text(partner_api_key, 1024) is None:
        raise InvalidRequest("The headers PARTNER-ID and PARTNER-API-KEY are required.")
    if not _sandbox() and partner != client_id:  # the partner named is the one the token was issued to
        raise InvalidRequest("PARTNER-ID does not match the access token's client.")
    return partner


def _otp_transaction(individual_id: str) -> str:
    """The OTP challenge's transaction id for binding: a MAC of the individual id (no personal data)."""
    return "bind:" + mac("binding otp", individual_id)[:40]


def _sandbox_identity(individual_id: str) -> str:
    return "sandbox:" + mac("sandbox identity", individual_id)[:56]


def wallet_user_id(identity_id: str, partner_id: str) -> str:
    """``walletUserId``: the same for one person and one partner, unlinkable across partners."""
    tag = hmac.new(purpose_key("wallet user id"), f"{identity_id}\x00{partner_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(tag).rstrip(b"=").decode("ascii")


# --- POST /wallet-binding ------------------------------------------------------------------------


def _members(request: dict[str, Any]) -> tuple[str, str, str, list[dict[str, str]], Any]:
    individual_id = _text(request.get("individualId"))
    factor, fmt = request.get("authFactorType"), request.get("format")
    challenges = request.get("challengeList")
    if individual_id is None:
        raise InvalidRequest("individualId is required.")
    if not isinstance(factor, str) or not factor or not isinstance(fmt, str) or not fmt:
        raise InvalidRequest("authFactorType and format are required.")
    if (
        not isinstance(challenges, list)
        or not 0 < len(challenges) <= MAX_CHALLENGES
        or not all(
            isinstance(c, dict) and all(isinstance(c.get(k), str) for k in ("authFactorType", "challenge", "format"))
            for c in challenges
        )
    ):
        raise InvalidRequest("challengeList must hold 1-4 challenges {authFactorType, challenge, format}.")
    if request.get("publicKey") is None:
        raise InvalidRequest("publicKey is required.")
    return individual_id, factor, fmt, challenges, request["publicKey"]


def _check_formats(factor: str, fmt: str, challenges: list[dict[str, str]]) -> None:
    if _sandbox():  # issue 13 point 2: any pair of GovStack's enums, top level and per challenge
        if (
            factor not in SANDBOX_FACTORS
            or fmt not in SANDBOX_FORMATS
            or any(c["authFactorType"] not in SANDBOX_FACTORS or c["format"] not in SANDBOX_FORMATS for c in challenges)
        ):
            raise UnsupportedChallengeFormat(
                f"authFactorType must be one of {', '.join(SANDBOX_FACTORS)} and format one of {', '.join(SANDBOX_FORMATS)}."
            )
        return
    if factor != BIND_FACTOR or fmt != BIND_FORMAT:  # idbb binds wallet keys for WLA tokens (JWT) only
        raise UnsupportedChallengeFormat("Keys are bound for authFactorType WLA with format jwt.")
    for challenge in challenges:
        if challenge["format"] not in CHALLENGE_FORMATS.get(challenge["authFactorType"], ()):
            raise UnsupportedChallengeFormat("Challenges must be OTP (alpha-numeric or number) or PIN (number).")


def _parse_key(value: Any) -> wla.WalletKey:
    try:
        return wla.parse_wallet_jwk(value, relaxed=_sandbox())
    except FormatError as exc:
        raise InvalidPublicKey(str(exc)) from exc


def _auth_failed(partner_id: str, reason: str) -> InvalidAuthChallenge:
    audit.record("wallet.binding_refused", actor=f"client:{partner_id}", outcome="failure", details={"reason": reason})
    keep_before_refusing()  # failure counts (and a spent code) persist although the request is refused
    return InvalidAuthChallenge(_AUTH_FAILED)


def _authenticate(individual_id: str, challenges: list[dict[str, str]], partner_id: str, source: str | None = None) -> str:
    """Every challenge must prove the same person; returns their identity id (or a sandbox one). ``source``:
    the caller's address, for the per-source lockout of the person (issue 14, security #3)."""
    found: set[str] = set()
    for challenge in challenges:
        value = challenge["challenge"]
        if not value or len(value) > MAX_CHALLENGE_LENGTH:
            raise _auth_failed(partner_id, "login.failed")
        try:
            if challenge["authFactorType"] == "OTP" and _sandbox():
                identity = identity_for_login(individual_id)  # sandbox: any non-empty code is accepted
                found.add(identity.identity_id if identity is not None else _sandbox_identity(individual_id))
            elif challenge["authFactorType"] == "OTP":
                found.add(
                    authentication.with_otp(_otp_transaction(individual_id), individual_id, value, source=source).identity_id
                )
            else:
                if not _DIGITS.match(value):  # GovStack: a PIN challenge has format "number"
                    raise authentication.AuthFailed("login.failed")
                found.add(authentication.with_static_code(individual_id, value, source=source).identity_id)
        except authentication.AuthFailed as failed:
            raise _auth_failed(partner_id, failed.key) from None
    if len(found) != 1:
        raise _auth_failed(partner_id, "login.mismatch")
    return found.pop()


def _certify(key: wla.WalletKey, user_id: str, now: datetime) -> binding_ca.IssuedCertificate:
    days = state().settings.binding_cert_days
    if key.key is not None:
        public = key.key.get_op_key("verify")
        return binding_ca.issue(public, user_id, now=now, days=days)
    stand_in = ec.generate_private_key(ec.SECP256R1()).public_key()  # sandbox only; private half discarded
    return binding_ca.issue(stand_in, user_id, now=now, days=days, sandbox_stand_in=True)


@atomic()
def bind(
    request: dict[str, Any],
    *,
    partner_id: str | None,
    partner_api_key: str | None,
    client_id: str | None,
    source: str | None = None,
) -> dict[str, Any]:
    """``POST /wallet-binding``: authenticate the person, certify the wallet key, record the binding.

    Returns ``{walletUserId, certificate, expireDateTime}`` (``expireDateTime`` = the certificate's
    notAfter). A new key for the same person and factor adds a binding; earlier ones stay valid
    until they expire. One transaction."""
    partner = _partner(partner_id, partner_api_key, client_id)
    individual_id, factor, fmt, challenges, public_key = _members(request)
    _check_formats(factor, fmt, challenges)
    key = _parse_key(public_key)
    identity_id = _authenticate(individual_id, challenges, partner, source)
    now = clock.now()
    try:
        if not identity_id.startswith("sandbox:"):
            identity = db.session.get(Identity, identity_id)
            if identity is None or identity.status != "ACTIVE":  # deactivated since it authenticated
                raise KeyBindingFailed("The key could not be bound.")
        existing = (
            db.session.execute(
                select(WalletBinding)
                .where(
                    WalletBinding.identity_id == identity_id,
                    WalletBinding.key_thumbprint == key.thumbprint,
                    WalletBinding.auth_factor == BIND_FACTOR,
                )
                .with_for_update()
            )
            .scalars()
            .first()
        )
        if existing is not None and existing.expires_at > now:
            # GovStack: binding uniqueness is (person, public key, auth factor)
            raise DuplicatePublicKey("This key is already bound for this person and factor.")
        if existing is not None:
            db.session.delete(existing)  # an expired binding of the same key gives way to the new one
            db.session.flush()
        user_id = wallet_user_id(identity_id, partner)
        try:
            cert = _certify(key, user_id, now)
        except (ValueError, TypeError) as exc:
            raise KeyBindingFailed("The key could not be bound.") from exc
        binding_id = secrets.token_urlsafe(32)
        try:
            with db.session.begin_nested():
                db.session.add(
                    WalletBinding(
                        binding_id=binding_id,
                        identity_id=identity_id,
                        auth_factor=BIND_FACTOR,
                        key_thumbprint=key.thumbprint,
                        public_key=key.public,
                        certificate=cert.pem,
                        cert_thumbprint=wla.x5t_s256(cert.der),
                        wallet_user_id=user_id,
                        created_at=now,
                        expires_at=cert.not_after,
                    )
                )
        except IntegrityError:  # a concurrent bind of the same key for the same person won
            raise DuplicatePublicKey("This key is already bound for this person and factor.") from None
    except InvalidRequest as refused:
        audit.record(
            "wallet.binding_refused", actor=f"client:{partner}", outcome="failure", details={"reason": refused.code}
        )
        keep_before_refusing()  # the challenge is spent even when the binding is refused
        raise
    audit.record("wallet.bound", actor=f"client:{partner}", target=binding_id)
    return {"walletUserId": user_id, "certificate": cert.pem, "expireDateTime": format_response_time(cert.not_after)}


# --- POST /binding/binding-otp -------------------------------------------------------------------


@atomic()
def binding_otp(request: dict[str, Any], *, client_id: str | None, source: str | None = None) -> dict[str, Any]:
    """``POST /binding/binding-otp`` (esignet-notes.md §2.6): send a code for a later binding.

    The one code goes to every requested channel (``otpChannels``) that reaches the person, and
    ``{maskedEmail, maskedMobile}`` name where it went. An unknown individual, one without a reachable
    contact, a blocked one and a delivery failure all answer ``send_otp_failed`` (the code could
    not be sent), so the answer tells no more than that. The sandbox answers success with no
    masked address when nothing could be sent (any code binds there)."""
    _caller(client_id)
    individual_id = _text(request.get("individualId"))
    if individual_id is None:
        raise InvalidIdentifier("individualId is required.")
    channels = request.get("otpChannels")
    reachable = set(authentication.otp_channels())
    if (
        not isinstance(channels, list)
        or not channels
        or not all(isinstance(c, str) and c.lower() in OTP_CHANNELS for c in channels)
    ):
        raise InvalidOtpChannel("otpChannels must list email and/or phone.")
    if not _sandbox() and not reachable & {c.lower() for c in channels}:
        raise InvalidOtpChannel("None of the requested channels is available.")
    sent: dict[str, str] = {}
    try:
        sent = authentication.send_otp(
            _otp_transaction(individual_id),
            individual_id,
            OTP_SUBJECT,
            OTP_BODY,
            channels={c.lower() for c in channels},
            source=source,
        )
    except (authentication.AuthFailed, notifier.DeliveryError):
        discard()  # answered below as send_otp_failed, with nothing of the attempt kept
    if not sent and not _sandbox():
        raise SendOtpFailed("The code could not be sent.")
    return {"maskedEmail": sent.get("email"), "maskedMobile": sent.get("phone")}


# --- used by linked authorization ----------------------------------------------------------------


def _live_binding(x5t_s256: str) -> WalletBinding | None:
    if not isinstance(x5t_s256, str) or not x5t_s256 or len(x5t_s256) > 64:
        return None
    row = db.session.execute(select(WalletBinding).where(WalletBinding.cert_thumbprint == x5t_s256)).scalars().first()
    if row is None or row.expires_at <= clock.now():
        return None
    return row


def _stored_key(row: WalletBinding) -> jwk.JWK | None:
    try:
        key = jwk.JWK(**row.public_key)
        key.get_op_key("verify")
    except (JWException, ValueError, TypeError, KeyError, AttributeError):  # a sandbox key that never loaded
        return None
    return key if key.has_public and not key.has_private else None


def authenticate_wla(individual_id: str, token: str) -> str:
    """Check a WLA token (esignet-notes.md §4.2) for ``individual_id``; returns the identity id.

    The binding is found by the token's ``x5t#S256``; it must belong to the ACTIVE identity the
    individual id names, be bound for WLA and be unexpired; the token must verify with its key
    (``wla.verify_wla``) and is single use (the replay mark joins the caller's transaction with the
    SQL store, so the caller commits). Any failure raises ``AuthFailed("wla.failed")``."""
    settings = state().settings
    failed = authentication.AuthFailed("wla.failed")
    try:
        row = _live_binding(wla.unverified_x5t_s256(token))
        identity = identity_for_login(individual_id.strip()) if isinstance(individual_id, str) else None
        if (
            row is None
            or identity is None
            or identity.status != "ACTIVE"
            or row.identity_id != identity.identity_id
            or row.auth_factor != BIND_FACTOR
        ):
            raise failed
        key = _stored_key(row)
        if key is None:
            raise failed
        claims = wla.verify_wla(
            token,
            key,
            individual_id=individual_id,
            audience=settings.wla_audience,
            now=clock.timestamp(),
            max_age=settings.wla_max_age,
        )
    except FormatError:
        raise failed from None
    ttl = max(1, math.ceil(float(claims["exp"]) - clock.timestamp()))
    if not state().replay.add_once("wla:" + digest(token), ttl, clock.now()):  # single use until exp
        raise failed
    return row.identity_id


def consent_key(x5t_s256: str) -> tuple[str, str, jwk.JWK] | None:
    """``(identity_id, binding_id, public key)`` of the live binding whose certificate has this
    ``x5t#S256``, for verifying a signed consent (esignet-notes.md §4.3); None if there is none."""
    row = _live_binding(x5t_s256)
    if row is None:
        return None
    key = _stored_key(row)
    return None if key is None else (row.identity_id, row.binding_id, key)
