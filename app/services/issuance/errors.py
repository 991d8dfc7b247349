"""OpenID4VCI 1.0 error codes, each spelled once, as :class:`app.errors.IdbbError` subclasses.

The Credential, Deferred and Notification endpoints answer ``{error, error_description}`` (1.0 §8.3.1.2, §9.3,
§11.3); their paths are OAuth-format prefixes in ``app/api/error_formats.py``.
"""

from app.errors import IdbbError


class InvalidCredentialRequest(IdbbError):
    """§8.3.1.2: a missing, unsupported, repeated or malformed parameter."""

    code = "invalid_credential_request"
    description = "The credential request is malformed."


class UnknownCredentialConfiguration(IdbbError):
    code = "unknown_credential_configuration"
    description = "The requested credential configuration is unknown."


class UnknownCredentialIdentifier(IdbbError):
    code = "unknown_credential_identifier"
    description = "The requested credential identifier is unknown."


class InvalidProof(IdbbError):
    code = "invalid_proof"
    description = "A key proof is missing or invalid."


class InvalidNonce(IdbbError):
    code = "invalid_nonce"
    description = "A key proof carries an invalid c_nonce; get a new one from the nonce endpoint."


class InvalidEncryptionParameters(IdbbError):
    code = "invalid_encryption_parameters"
    description = "Credential response encryption is not supported with these parameters."


class CredentialRequestDenied(IdbbError):
    code = "credential_request_denied"
    description = "The credential request was not accepted."


class InvalidTransactionId(IdbbError):
    """§9.3: a transaction_id not issued by idbb, or already used to obtain its credentials."""

    code = "invalid_transaction_id"
    description = "The transaction_id is not valid."


class InvalidNotificationId(IdbbError):
    """§11.3."""

    code = "invalid_notification_id"
    description = "The notification_id is not valid."


class InvalidNotificationRequest(IdbbError):
    code = "invalid_notification_request"
    description = "The notification request is malformed."


class InvalidIssuance(IdbbError):
    """Backend issue API (``/v1/issuance``): a request idbb cannot turn into an offer."""

    code = "invalid_issuance"
    description = "The issuance request is not valid."
