"""Back-office API clients: systems that call idbb's administrative APIs with scoped tokens.

They authenticate at the token endpoint with ``private_key_jwt`` (default) or, when the operator
asks for it, ``client_secret_basic``; they may only obtain the scopes they were registered with.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.clock import clock
from app.errors import (
    DuplicateClientId,
    InvalidClientAuth,
    InvalidClientId,
    InvalidPublicKey,
    InvalidScope,
)
from app.extensions import db
from app.formats import FormatError
from app.formats.jwk import parse_public_signing_jwk, public_dict, thumbprint
from app.models.clients import Client
from app.services import audit
from app.services.stored_secrets import new_secret
from app.services.transaction import atomic

#: Every scope an administrative API of idbb checks. Registering others is refused (typo guard).
KNOWN_SCOPES = frozenset(
    {
        "add_oidc_client",
        "update_oidc_client",
        "read_oidc_client",
        "wallet_binding",
        "enroll.read",
        "enroll.write",
        "enroll.buf.read",
        "enroll.buf.write",
        "audit.read",
        "introspect",
        "credential.issue",
        "credential.status",
        "uin.generate",
        "registry.read",
        "registry.write",
        "registry.adjudicate",
        "issuance.write",
        "issuance.read",
        "issuance.revoke",
        # OSIA CMS v1.3 (openapi/osia-cms.yaml) and GovStack credential management (openapi/credential-management.yaml)
        "cms.request.read",
        "cms.request.write",
        "cms.credential.read",
        "cms.credential.write",
        "cms.profile.read",
        "credential.block",
        "identity.status.write",
        "credential.events.read",
        "credential.share",
        "credential.card",
        "datastore.read",
        "datastore.write",
        "identity.read",
        "identity.write",
    }
)
API_AUTH_METHODS = ("private_key_jwt", "client_secret_basic")


@dataclass(frozen=True)
class RegisteredApiClient:
    client_id: str
    scopes: list[str]
    auth_method: str
    secret: str | None  # shown once, never stored in clear


def register(
    client_id: str,
    *,
    name: str,
    scopes: list[str],
    public_key: Any = None,
    auth_method: str = "private_key_jwt",
    actor: str = "operator",
    signature_required: bool = False,
) -> RegisteredApiClient:
    """Register an API client; a secret, if asked for, is returned once and stored hashed."""
    if not client_id or len(client_id) > 100 or any(c.isspace() for c in client_id):
        raise InvalidClientId("client id must be 1-100 characters without spaces")
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if not scopes or unknown:
        raise InvalidScope(f"unknown or no scopes: {', '.join(unknown) or '(none)'}")
    if signature_required and auth_method != "private_key_jwt":
        raise InvalidClientAuth("a signature-required client needs a public key (private_key_jwt)")
    if auth_method not in API_AUTH_METHODS:
        raise InvalidClientAuth(f"auth method must be one of {', '.join(API_AUTH_METHODS)}")
    jwk_dict = print_ = None
    secret = secret_hash = None
    if auth_method == "private_key_jwt":
        try:
            key = parse_public_signing_jwk(public_key)
        except FormatError as exc:
            raise InvalidPublicKey(str(exc)) from exc
        jwk_dict, print_ = public_dict(key), thumbprint(key)
    else:
        secret, secret_hash = new_secret()
    try:
        with atomic():
            if db.session.get(Client, client_id) is not None:
                raise DuplicateClientId("a client with this id exists")
            now = clock.now()
            db.session.add(
                Client(
                    client_id=client_id,
                    kind="api",
                    name=name,
                    status="active",
                    grant_types=["client_credentials"],
                    auth_methods=[auth_method],
                    scopes=sorted(set(scopes)),
                    public_jwk=jwk_dict,
                    public_key_thumbprint=print_,
                    secret_hash=secret_hash,
                    redirect_uris=[],
                    acr_values=[],
                    claims=[],
                    client_metadata={"signature_required": True} if signature_required else {},
                    created_at=now,
                    updated_at=now,
                )
            )
            audit.record(
                "api_client.created",
                actor=actor,
                target=client_id,
                details={
                    "scopes": sorted(set(scopes)),
                    "auth_method": auth_method,
                    "signature_required": signature_required,
                },
            )
    except IntegrityError:  # created concurrently by another worker (atomic() rolled back)
        raise DuplicateClientId("a client with this id exists") from None
    return RegisteredApiClient(client_id, sorted(set(scopes)), auth_method, secret)
