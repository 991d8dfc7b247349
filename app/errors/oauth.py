"""OAuth 2.0 family codes: RFC 6749 §4.1.2.1/§5.2, RFC 6750 §3.1, RFC 9449 §7.1/§8, OIDC Core §3.1.2.6,
OpenID4VCI 1.0 §9.3.

Rendered as ``{error, error_description}`` at the OAuth prefixes, and inside the other envelopes where a
surface reuses the code (``invalid_request`` is every protocol's generic refusal). Authlib's own
``OAuth2Error`` classes still answer at the token endpoint, which Authlib renders.
"""

from app.errors.base import IdbbError


class OAuthError(IdbbError):
    """Base of the OAuth-family codes (the OpenID4VCI codes in ``app/services/issuance/errors.py`` too)."""


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2 ``invalid_request``: a request that breaks its protocol's rules. Every surface uses it."""

    code = "invalid_request"


class InvalidClient(OAuthError):
    code = "invalid_client"
    status = 401
    description = "Client authentication failed."


class InvalidGrant(OAuthError):
    code = "invalid_grant"
    description = "The grant is invalid, expired or revoked."


class UnauthorizedClient(OAuthError):
    code = "unauthorized_client"
    description = "The client may not use this grant type."


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"
    description = "The grant type is not supported."


class UnsupportedResponseType(OAuthError):
    code = "unsupported_response_type"
    description = "The response type is not supported."


class InvalidScope(OAuthError):
    code = "invalid_scope"
    description = "The requested scope is invalid or unknown."


class InvalidAuthorizationDetails(OAuthError):
    """RFC 9396 §5."""

    code = "invalid_authorization_details"
    description = "authorization_details is not valid."


class Unauthorized(OAuthError):
    """RFC 6750 §3.1 ``invalid_token``: missing, malformed, expired or tampered bearer token."""

    code = "invalid_token"
    status = 401
    description = "The access token is missing, invalid or expired."


InvalidToken = Unauthorized


class Forbidden(OAuthError):
    """RFC 6750 §3.1 ``insufficient_scope`` (the default; a CSRF refusal is 403 too, see esignet)."""

    code = "insufficient_scope"
    status = 403
    description = "The access token does not carry the scope this operation needs."


InsufficientScope = Forbidden


class DpopProofError(OAuthError):
    """RFC 9449: a refused DPoP proof; ``nonce`` is the server nonce to retry with (§8), if any."""

    def __init__(
        self,
        description: str | None = None,
        *,
        nonce: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description=description, status=status, headers=headers)
        self.nonce = nonce

    @property
    def error(self) -> str:
        """The wire code, under the name RFC 9449 §7.1 gives it."""
        return self.code


class InvalidDpopProof(DpopProofError):
    code = "invalid_dpop_proof"
    description = "The DPoP proof is not valid."


class UseDpopNonce(DpopProofError):
    code = "use_dpop_nonce"
    description = "Use the DPoP nonce the server provides."


class LoginRequired(OAuthError):
    """OIDC Core §3.1.2.6."""

    code = "login_required"
    description = "The person is not logged in."


class ConsentRequired(OAuthError):
    """OIDC Core §3.1.2.6."""

    code = "consent_required"
    description = "Consent is required."


class InteractionRequired(OAuthError):
    """OIDC Core §3.1.2.6."""

    code = "interaction_required"
    description = "The person must interact with the login page."


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1."""

    code = "access_denied"
    description = "The request was denied."


class InvalidTransactionId(OAuthError):
    """OpenID4VCI 1.0 §9.3: a transaction_id not issued by idbb, or already used to obtain its credentials.
    eSignet's linked authorization answers the same code for an unknown transaction (one code, one class)."""

    code = "invalid_transaction_id"
    description = "The transaction_id is not valid."


class InvalidRequestObject(OAuthError):
    """OIDC Core §6.3 (RFC 9101 §6.3): the request object is not valid."""

    code = "invalid_request_object"
