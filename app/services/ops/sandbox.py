"""The GovStack compliance sandbox (``IDBB_PROFILE=govstack-sandbox``): the fixtures GovStack's test
harness expects, seeded idempotently at start-up. The strict profiles never call this.

Seeded (README "GovStack compliance sandbox"):
- the relying party ``govstack-sandbox-rp`` (PIN, OTP and wallet ACRs; claims ``name``, ``given_name``…);
- the authorization transactions ``transactionId01``, ``transactionId02``, ``transactionId03`` and
  ``transactionIdToBeExpired`` (scopes ``openid profile``, ``name``, ``given_name``, ``birthdate`` and
  ``email`` voluntary, a redirect URI, state and nonce); in this profile a new link code reopens a finished
  one, and their link codes have no total limit (:func:`app.services.wallet.linked_authorization.new_link_code`);
- the person ``05a5eecd-8b70-480d-9662-b2e63e4bafdb`` with the password ``password`` (an identifier of
  type ``INDIVIDUAL_ID`` next to a generated UIN).
"""

import json
import secrets
from datetime import timedelta

from jwcrypto import jwk
from sqlalchemy import select

from app.clock import clock
from app.extensions import db, state
from app.formats import pkce
from app.models.clients import Client
from app.models.enrollment import Enrollment
from app.models.login import AuthTransaction
from app.models.registry import IdentityIdentifier
from app.services import keys
from app.services.enrollment import enrollments
from app.services.oidc import oidc_clients
from app.services.oidc.authorize_request import parse
from app.services.stored_secrets import digest
from app.services.transaction import atomic

SANDBOX_RP = "govstack-sandbox-rp"
SANDBOX_REDIRECT = "https://sandbox.govstack.example/callback"
SANDBOX_TRANSACTIONS = ("transactionId01", "transactionId02", "transactionId03", "transactionIdToBeExpired")
SANDBOX_INDIVIDUAL_ID = "05a5eecd-8b70-480d-9662-b2e63e4bafdb"
SANDBOX_PASSWORD = "password"  # noqa: S105 - GovStack's published test fixture, sandbox profile only
#: PKCE for the seeded transactions: the harness (or an operator) exchanges their codes with this verifier.
SANDBOX_CODE_VERIFIER = "govstack-sandbox-code-verifier-0123456789abcdefghijklmnop"
SANDBOX_ACRS = [
    "idbb:acr:static-code",
    "idbb:acr:generated-code",
    "idbb:acr:linked-wallet",
    "idbb:acr:linked-wallet-static-code",
]


@atomic()
def seed() -> dict[str, str]:
    """Create what is missing; returns the relying party's private JWK when it was created now."""
    if not state().settings.is_sandbox:
        raise RuntimeError("the sandbox fixtures are only seeded in the govstack-sandbox profile")
    keys.ensure_keys(actor="sandbox")
    created: dict[str, str] = {}
    if db.session.get(Client, SANDBOX_RP) is None:
        rp_key = jwk.JWK.generate(kty="RSA", size=2048)
        oidc_clients.create(
            {
                "clientId": SANDBOX_RP,
                "clientName": "GovStack sandbox relying party",
                "relyingPartyId": "govstack",
                "logoUri": "https://sandbox.govstack.example/logo.png",
                "redirectUris": [SANDBOX_REDIRECT],
                "authContextRefs": SANDBOX_ACRS,
                "publicKey": rp_key.export_public(as_dict=True),
                "userClaims": ["name", "given_name", "family_name", "birthdate", "email", "phone_number"],
                "grantTypes": ["authorization_code"],
                "clientAuthMethods": ["private_key_jwt"],
            },
            actor="sandbox",
        )
        created["rp_private_jwk"] = json.dumps(rp_key.export_private(as_dict=True))
    _seed_transactions()
    _seed_person()
    return created


def _seed_transactions() -> None:
    challenge = pkce.s256(SANDBOX_CODE_VERIFIER)
    # all voluntary: GovStack's harness consents with no acceptedClaims, or "given_name" alone (issue 13 point 4)
    claims = json.dumps({"userinfo": {"name": None, "given_name": None, "birthdate": None, "email": None}})
    now = clock.now()
    for transaction_id in SANDBOX_TRANSACTIONS:
        request, _client = parse(
            {
                "client_id": [SANDBOX_RP],
                "redirect_uri": [SANDBOX_REDIRECT],
                "response_type": ["code"],
                "scope": ["openid profile"],
                "state": [f"state-{transaction_id}"],
                "nonce": [f"nonce-{transaction_id}"],
                "claims": [claims],
                "acr_values": [" ".join(SANDBOX_ACRS)],
                "code_challenge": [challenge],
                "code_challenge_method": ["S256"],
            },
            available_acrs=set(SANDBOX_ACRS),
        )
        existing = db.session.get(AuthTransaction, transaction_id)
        if existing is not None:  # seeded by an earlier version: the request as seeded now
            existing.request = request.as_dict()
            continue
        db.session.add(
            AuthTransaction(
                transaction_id=transaction_id,
                client_id=SANDBOX_RP,
                browser_hash=digest(secrets.token_urlsafe(16)),
                csrf=secrets.token_urlsafe(24),
                request=request.as_dict(),
                status="pending",
                created_at=now,
                expires_at=now + timedelta(days=3650),
            )
        )


def _seed_person() -> None:
    if (
        db.session.execute(
            select(IdentityIdentifier).where(
                IdentityIdentifier.id_type == "INDIVIDUAL_ID", IdentityIdentifier.value == SANDBOX_INDIVIDUAL_ID
            )
        ).scalar_one_or_none()
        is not None
    ):
        return
    enrollment_id = "SANDBOX-0001"
    if db.session.get(Enrollment, enrollment_id) is None:
        enrollments.create(
            enrollment_id,
            {
                "enrollmentType": "CITIZEN",
                "biographicData": {
                    "firstName": "Sandbox",
                    "lastName": "Citizen",
                    "dateOfBirth": "1990-01-01",
                    "gender": "F",
                    "email": "sandbox.citizen@example.org",
                },
                "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"password": SANDBOX_PASSWORD}},
            },
            finalize=True,
            client_id="sandbox",
            transaction_id="sandbox-seed",
        )
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is not None and enrollment.identity_id:
        db.session.add(
            IdentityIdentifier(identity_id=enrollment.identity_id, id_type="INDIVIDUAL_ID", value=SANDBOX_INDIVIDUAL_ID)
        )
