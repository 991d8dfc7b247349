"""OpenID4VCI 1.0 error codes, each spelled once, as :class:`app.errors.OAuthError` subclasses.

The Credential, Deferred and Notification endpoints answer ``{error, error_description}`` (1.0 §8.3.1.2, §9.3,
§11.3); their paths are OAuth-format prefixes in ``app/api/error_formats.py``.
"""

from app.errors import InvalidTransactionId, OAuthError

__all__ = [
    "CredentialRequestDenied",
    "InvalidCredentialRequest",
    "InvalidEncryptionParameters",
    "InvalidIssuance",
    "InvalidNonce",
    "InvalidNotificationId",
    "InvalidNotificationRequest",
    "InvalidProof",
    "InvalidTransactionId",
    "UnknownCredentialConfiguration",
    "UnknownCredentialIdentifier",
]


class InvalidCredentialRequest(OAuthError):
    """§8.3.1.2: a missing, unsupported, repeated or malformed parameter."""

    code = "invalid_credential_request"
    description = "The credential request is malformed."


class UnknownCredentialConfiguration(OAuthError):
    code = "unknown_credential_configuration"
    description = "The requested credential configuration is unknown."


class UnknownCredentialIdentifier(OAuthError):
    code = "unknown_credential_identifier"
    description = "The requested credential identifier is unknown."


class InvalidProof(OAuthError):
    code = "invalid_proof"
    description = "A key proof is missing or invalid."


class InvalidNonce(OAuthError):
    code = "invalid_nonce"
    description = "A key proof carries an invalid c_nonce; get a new one from the nonce endpoint."


class InvalidEncryptionParameters(OAuthError):
    code = "invalid_encryption_parameters"
    description = "Credential response encryption is not supported with these parameters."


class CredentialRequestDenied(OAuthError):
    code = "credential_request_denied"
    description = "The credential request was not accepted."


class InvalidNotificationId(OAuthError):
    """§11.3."""

    code = "invalid_notification_id"
    description = "The notification_id is not valid."


class InvalidNotificationRequest(OAuthError):
    code = "invalid_notification_request"
    description = "The notification request is malformed."


class InvalidIssuance(OAuthError):
    """Backend issue API (``/v1/issuance``): a request idbb cannot turn into an offer."""

    code = "invalid_issuance"
    description = "The issuance request is not valid."


# InvalidTransactionId (§9.3) lives in app.errors.oauth: eSignet's linked authorization answers the same code.


class InactiveIdentity(InvalidIssuance):
    code = "inactive_identity"


class IdentityBlocked(InvalidIssuance):
    """Issue 17: a blocked identity (GovStack ``/block``, lifecycle ``block_identity``) gets no new credential."""

    code = "identity_blocked"


class MissingClaim(InvalidIssuance):
    code = "missing_claim"


class InvalidTxCodeDelivery(InvalidIssuance):
    code = "invalid_tx_code_delivery"


class UnsupportedGrant(InvalidIssuance):
    code = "unsupported_grant"


class NotPending(InvalidIssuance):
    code = "not_pending"


class UnsupportedWalletPush(InvalidIssuance):
    code = "unsupported_wallet_push"


class InvalidWalletEndpoint(InvalidIssuance):
    code = "invalid_wallet_endpoint"


class WalletEndpointNotAllowed(InvalidIssuance):
    code = "wallet_endpoint_not_allowed"
