"""RFC 9068 JWT access tokens: issued by idbb, verified by idbb's resource endpoints.

RFC 9068 §2.1: header ``typ`` MUST be ``at+jwt``; §2.2: ``iss``, ``exp``, ``aud``, ``sub``,
``client_id``, ``iat``, ``jti`` are required, ``scope`` when scopes were granted.
§4: the resource server MUST check ``typ``, ``iss``, ``aud``, the signature and ``exp``.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from app.clock import clock
from app.errors import Unauthorized
from app.extensions import state
from app.formats import FormatError
from app.formats.jose import check_time_claims, peek_header, sign_jwt, verify_jwt
from app.services import keys

AT_TYP = "at+jwt"
ACCEPTED_ALGS = ("RS256", "PS256", "ES256", "EdDSA")


@dataclass(frozen=True)
class TokenInfo:
    """What a verified access token says; ``scope`` is the list Connexion checks."""

    sub: str
    client_id: str
    scope: list[str]
    jti: str
    exp: int

    def as_dict(self) -> dict[str, Any]:
        return {"sub": self.sub, "client_id": self.client_id, "scope": self.scope, "jti": self.jti, "exp": self.exp}


def issue(
    *, client_id: str, subject: str, scope: str, ttl: int | None = None, extra: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Sign a new access token with the current RSA key; returns (token, claims). ``extra`` adds the
    grant id (``gid``) and the DPoP binding (``cnf``, RFC 9449 §6.1) of relying-party tokens."""
    settings = state().settings
    now = clock.epoch()
    lifetime = ttl or settings.access_token_ttl
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": subject,
        "aud": settings.issuer,
        "client_id": client_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(24),
    }
    if scope:
        claims["scope"] = scope
    claims.update(extra or {})
    key = keys.signing_key("RSA")
    return sign_jwt(claims, key.jwk, key.alg, typ=AT_TYP), claims


def decode(token: str) -> dict[str, Any]:
    """Signature, ``typ``, issuer, audience and required claims of an idbb access token, without
    the time and revocation checks (introspection and revocation look at expired tokens too)."""
    settings = state().settings
    header = peek_header(token)
    kid = header.get("kid")
    published = keys.public_jwks_by_kid(want=kid if isinstance(kid, str) else None)
    _, claims = verify_jwt(token, published, algorithms=ACCEPTED_ALGS, typ=AT_TYP, header=header)
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if claims.get("iss") != settings.issuer or settings.issuer not in audiences:
        raise FormatError("issuer or audience does not match")
    if not all(isinstance(claims.get(n), str) for n in ("sub", "client_id", "jti")):
        raise FormatError("required claims missing")
    if not isinstance(claims.get("exp"), int) or not isinstance(claims.get("iat"), int):
        raise FormatError("exp or iat missing")
    key = keys.record(str(kid))
    if key is not None and key.retired_at is not None and claims["iat"] >= int(key.retired_at.timestamp()):
        raise FormatError("signed by a key after it was retired")  # a retired key signs nothing new
    return claims


def revocation_key(claims: dict[str, Any]) -> str:
    """The replay-store key whose presence marks the token revoked."""
    return f"revoked:{claims['jti']}"


def is_revoked(claims: dict[str, Any]) -> bool:
    return state().replay.seen(revocation_key(claims), clock.now())


def revoke(claims: dict[str, Any]) -> None:
    """Deny the token until it expires anyway (RFC 7009 §2); the marker outlives it by a minute."""
    ttl = int(claims["exp"]) - clock.epoch() + 60
    if ttl > 0:
        state().replay.add_once(revocation_key(claims), ttl, clock.now())


def verify(token: str) -> TokenInfo:
    """Verify an access token idbb issued; any failure is ``invalid_token`` (RFC 6750 §3.1)."""
    try:
        claims = decode(token)
        check_time_claims(claims, clock.epoch(), leeway=0)
    except FormatError as exc:
        raise Unauthorized(detail=str(exc)) from exc
    if is_revoked(claims):
        raise Unauthorized(detail="revoked")
    scope = claims.get("scope", "")
    return TokenInfo(
        sub=claims["sub"],
        client_id=claims["client_id"],
        scope=scope.split() if isinstance(scope, str) else [],
        jti=claims["jti"],
        exp=int(claims["exp"]),
    )
