"""Flask-SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from app.models.audit import AuditEvent, AuditHead
from app.models.clients import Client
from app.models.cms import CredentialRequest, PrintedCard, ServiceEvent
from app.models.datastore import DatastoreDocument, DocumentIdentity, DocumentIssuance, IdentityMapping
from app.models.enrollment import Blob, Enrollment, EnrollmentBuffer
from app.models.grants import Consent, Grant, RefreshToken
from app.models.issuance import Issuance, IssuedCredential, MdocAuthority
from app.models.keys import SigningKey
from app.models.lifecycle import BlockedCredential, CredentialRenewal, IdentityBlock, LifecycleJob, RenewalMark
from app.models.linking import LinkCode, LinkedTransaction
from app.models.login import AuthTransaction, LoginSession, LoginThrottle, OtpChallenge, PushedRequest
from app.models.rate_limits import RateCounter
from app.models.registry import (
    DuplicateCase,
    Identity,
    IdentityIdentifier,
    IdentityMatchKey,
    IdentityVersion,
    IssuedUin,
    OutboxEvent,
)
from app.models.replay import ReplayEntry
from app.models.status import StatusEntry, StatusList
from app.models.wallet_binding import WalletBinding

__all__ = [
    "AuditEvent",
    "AuditHead",
    "AuthTransaction",
    "Blob",
    "Client",
    "Consent",
    "Grant",
    "LinkCode",
    "LinkedTransaction",
    "LoginSession",
    "LoginThrottle",
    "OtpChallenge",
    "PushedRequest",
    "RefreshToken",
    "DuplicateCase",
    "Enrollment",
    "EnrollmentBuffer",
    "Identity",
    "IdentityIdentifier",
    "IdentityMatchKey",
    "IdentityVersion",
    "IssuedUin",
    "OutboxEvent",
    "RateCounter",
    "ReplayEntry",
    "SigningKey",
    "WalletBinding",
    "Issuance",
    "IssuedCredential",
    "MdocAuthority",
    "StatusEntry",
    "StatusList",
    "DatastoreDocument",
    "DocumentIdentity",
    "DocumentIssuance",
    "IdentityMapping",
    "BlockedCredential",
    "CredentialRenewal",
    "IdentityBlock",
    "LifecycleJob",
    "RenewalMark",
    "CredentialRequest",
    "PrintedCard",
    "ServiceEvent",
]
