"""The OSIA CMS errors, each with its wire code (the OSIA body is ``{code: <HTTP status>, message: "<code>: …"}``)."""

from app.errors import Conflict, IdbbError, InvalidExpression, InvalidRequest, NotFound
from app.services.cards import personalized


class InvalidCmsRequest(InvalidRequest):
    """400 ``invalid_request``: a search expression, status or request body the CMS cannot act on."""


class MissingTransactionId(InvalidCmsRequest):
    """OSIA §"transactionId": required on every CMS operation (only the backend issue API may leave it out)."""

    code = "missing_transaction_id"
    description = "The transactionId query parameter is required."


class InvalidCmsExpression(InvalidCmsRequest, InvalidExpression):
    """400 ``invalid_expression``: a search expression on an attribute or with an operator the CMS does not offer."""


class InvalidStatus(InvalidCmsRequest):
    """400: updateCredentialStatus to a status a credential cannot be set to."""

    code = "invalid_status"


class InvalidValidity(InvalidCmsRequest):
    """400: a ``validFromDate`` / ``validToDate`` the credential profile or the default expiry does not allow."""

    code = "invalid_validity"


class ImmutableRequest(InvalidCmsRequest):
    """400: updateCredentialRequest that changes the person or the credential profile."""

    code = "immutable_request"


class UnknownProfile(InvalidCmsRequest):
    code = "unknown_credential_profile"
    description = "No credential profile has this id."


class CredentialImmutable(IdbbError):
    """403 (CMS 1.3 updateCredential "Update not allowed"): a signed credential's content cannot change."""

    code = "credential_immutable"
    status = 403
    description = "A signed credential cannot be changed; request a RENEWAL."


class RequestExists(Conflict):
    """409 (CMS 1.2.1+): createCredentialRequest with a credentialRequestId that exists already."""

    code = "credential_request_exists"
    description = "A credential request with this id exists already."


class RequestNotPending(Conflict):
    """409: cancel or update of a request that is no longer PENDING."""

    code = "credential_request_not_pending"
    description = "The credential request is no longer PENDING."


class RequestNotFound(NotFound):
    code = "credential_request_not_found"
    description = "No credential request has this id."


class CardNotFound(personalized.CardNotFound):
    description = "This credential request has no card."
