"""The userinfo endpoint (OIDC Core §5.3) with bearer (RFC 6750) or DPoP-bound (RFC 9449 §7) tokens.

Only tokens issued through a grant (a person's consent) are accepted; the answer holds only the
claims consented to, as a signed JWT by default (GovStack), nested in a JWE when the client
registered an encryption key, or plain JSON for a client registered for it.
"""

from dataclasses import dataclass, field

from app.clock import clock
from app.errors import InsufficientScope, InvalidDpopProof, InvalidRequest, InvalidToken, UseDpopNonce
from app.extensions import db
from app.formats import FormatError
from app.formats.jose import check_time_claims
from app.models.grants import Grant
from app.services.oidc import access_tokens, client_lookup, dpop, id_tokens
from app.services.transaction import atomic


@dataclass
class UserinfoResponse:
    status: int
    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def _refuse(
    scheme: str, error: str | None, description: str = "", nonce: str | None = None, status: int = 401
) -> UserinfoResponse:
    challenge = scheme if error is None else f'{scheme} error="{error}"'
    if description:
        challenge += f', error_description="{description}"'
    if scheme == "DPoP":
        challenge += ', algs="ES256 PS256 RS256 EdDSA"'
    headers = {"WWW-Authenticate": challenge, "Cache-Control": "no-store"}
    if nonce:
        headers["DPoP-Nonce"] = nonce
    return UserinfoResponse(status, "", "text/plain", headers)


@atomic()  # DPoP replay markers
def answer(authorization: str | None, dpop_proof: str | None, *, method: str, url: str) -> UserinfoResponse:
    if not authorization:
        return _refuse("Bearer", None)  # RFC 6750 §3.1: no error code when no credentials were sent
    scheme, _, token = authorization.partition(" ")
    scheme = scheme.lower()
    token = token.strip()
    if scheme not in ("bearer", "dpop") or not token:
        return _refuse("Bearer", InvalidRequest.code, "Use the Bearer or DPoP scheme.", status=400)
    challenge = "DPoP" if scheme == "dpop" else "Bearer"
    try:
        claims = access_tokens.decode(token)
        check_time_claims(claims, clock.epoch(), leeway=0)
    except FormatError:
        return _refuse(challenge, InvalidToken.code, "The access token is not valid.")
    grant = db.session.get(Grant, claims.get("gid")) if isinstance(claims.get("gid"), str) else None
    if grant is None or grant.revoked_at is not None or access_tokens.is_revoked(claims):
        return _refuse(challenge, InvalidToken.code, "The access token is not valid.")
    bound = (claims.get("cnf") or {}).get("jkt")
    if bound and scheme != "dpop":  # RFC 9449 §7.1: a DPoP-bound token is not a bearer token
        return _refuse("DPoP", InvalidToken.code, "This token is DPoP-bound.")
    if scheme == "dpop":
        if not bound:
            return _refuse("DPoP", InvalidToken.code, "The token is not DPoP-bound.")
        try:
            proof = dpop.check(dpop_proof, method=method, url=url, access_token=token, required=True)
        except dpop.DpopRefused as refused:
            if isinstance(refused, UseDpopNonce):
                return _refuse("DPoP", UseDpopNonce.code, "", refused.nonce)
            return _refuse("DPoP", InvalidDpopProof.code, "The DPoP proof is not valid.", status=401)
        if proof is None or proof.jkt != bound:  # RFC 9449 §7.1: the proof key is the bound key
            return _refuse("DPoP", InvalidToken.code, "The DPoP key does not match the token.")
    client = client_lookup.active_client(grant.client_id)
    if client is None:
        return _refuse(challenge, InvalidToken.code, "The client is not active.")
    raw_scope = claims.get("scope")
    scope = raw_scope.split() if isinstance(raw_scope, str) else []  # no scope claim: no scope at all
    if "openid" not in scope:  # OIDC Core §5.3: userinfo is for openid access tokens
        return _refuse(challenge, InsufficientScope.code, "The access token lacks the openid scope.", status=403)
    body, content_type = id_tokens.userinfo(grant, client, scope)
    return UserinfoResponse(200, body, content_type, {"Cache-Control": "no-store"})
