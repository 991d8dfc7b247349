"""eSignet / GovStack envelope codes (GovStack IDBB §8 client management, wallet QR code login, wallet
binding), rendered as ``errors:[{errorCode, errorMessage}]`` (HTTP 200 for request errors) at the
envelope prefixes. Codes the CLI's API-client registration shares (``invalid_client_id``, ...) live here too.
"""

from app.errors.base import Conflict
from app.errors.oauth import Forbidden, InvalidRequest


class EsignetError(InvalidRequest):
    """Base of the eSignet envelope codes: request errors, so ``except InvalidRequest`` still catches them."""


class InvalidTransaction(EsignetError):
    code = "invalid_transaction"
    description = "The transaction is finished or expired."


class InvalidLinkCode(EsignetError):
    code = "invalid_link_code"
    description = "Unknown or expired link code."


class LinkCodeGenFailed(EsignetError):
    code = "link_code_gen_failed"
    description = "No more link codes for this transaction."


class InvalidClientId(EsignetError):
    code = "invalid_client_id"
    description = "The client id is not valid."


class InvalidClientName(EsignetError):
    code = "invalid_client_name"


class InvalidRpId(EsignetError):
    code = "invalid_rp_id"


class InvalidUri(EsignetError):
    code = "invalid_uri"


class InvalidRedirectUri(EsignetError):
    code = "invalid_redirect_uri"


class InvalidAcr(EsignetError):
    code = "invalid_acr"


class InvalidClaim(EsignetError):
    code = "invalid_claim"


class InvalidGrantType(EsignetError):
    code = "invalid_grant_type"


class InvalidClientAuth(EsignetError):
    code = "invalid_client_auth"


class InvalidPublicKey(EsignetError):
    code = "invalid_public_key"
    description = "The public key is not usable."


class InvalidAdditionalConfig(EsignetError):
    code = "invalid_additional_config"


class DuplicateClientId(Conflict):
    code = "duplicate_client_id"
    description = "A client with this clientId already exists."


class InvalidNoOfChallenges(EsignetError):
    code = "invalid_no_of_challenges"


class InvalidIdentifier(EsignetError):
    """eSignet ``individualId`` and OSIA identifiers alike."""

    code = "invalid_identifier"


class AuthFailed(EsignetError):
    code = "auth_failed"
    description = "Authentication failed."


class InvalidAcceptedClaim(EsignetError):
    code = "invalid_accepted_claim"


class InvalidPermittedScope(EsignetError):
    code = "invalid_permitted_scope"


class InvalidSignatureFormat(EsignetError):
    code = "invalid_signature_format"


class InvalidSignature(EsignetError):
    """A signature that does not verify (consent in eSignet, enrollment integrity in OSIA)."""

    code = "invalid_signature"


class InvalidOtpChannel(EsignetError):
    code = "invalid_otp_channel"


class SendOtpFailed(EsignetError):
    code = "send_otp_failed"


class UnsupportedChallengeFormat(EsignetError):
    code = "unsupported_challenge_format"


class InvalidAuthChallenge(EsignetError):
    code = "invalid_auth_challenge"


class KeyBindingFailed(EsignetError):
    code = "key_binding_failed"


class DuplicatePublicKey(EsignetError):
    code = "duplicate_public_key"


class InvalidCsrfToken(Forbidden):
    code = "invalid_csrf_token"
    description = "X-XSRF-TOKEN is missing or does not match the XSRF-TOKEN cookie."


class InvalidPayload(EsignetError):
    """GovStack §8 token request: the body is empty or not a form."""

    code = "invalid_payload"
    description = "The request body is empty or is not a form."


class InvalidInput(EsignetError):
    """GovStack §8 token request: a member is present but empty."""

    code = "invalid_input"


class InvalidAssertionType(EsignetError):
    code = "invalid_assertion_type"


class InvalidAssertion(EsignetError):
    code = "invalid_assertion"
