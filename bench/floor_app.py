"""The stack's floor for a token exchange: a baseline for ``bench/oidc.py``, not part of idbb.

``POST /oauth/token`` here does only what any conforming OpenID Provider must do for an authorization-code
exchange with ``private_key_jwt`` and PKCE, on idbb's stack and nothing else: Connexion (FlaskApp, under
gunicorn + uvicorn, the Flask handlers on 2 threads as idbb's default) validates the form and the JSON
response against the same schemas as idbb's; the handler verifies the RS256 client assertion (iss, sub, aud,
exp; RFC 7523 §3) with jwcrypto, spends its ``jti`` in Redis (SET NX), locks and spends the code in
PostgreSQL (SELECT ... FOR UPDATE, UPDATE, COMMIT through Flask-SQLAlchemy), checks PKCE S256 (RFC 7636
§4.6), and signs an RS256 access token and the ID token (with ``at_hash``) as idbb does (``sign_jwt``).

Left out, because idbb's rules or features need them and the floor does not: Authlib, the audit trail,
DPoP, pairwise subjects, error precedence, client registration and caches with invalidation, key rotation.
So idbb's exchanges/s divided by this one's is what idbb's own code costs on top of the stack; and if this
floor stays below a target on a machine, no implementation on this stack reaches that target there.

Environment: FLOOR_DATABASE_URL (SQLAlchemy URL), FLOOR_REDIS_URL, FLOOR_ISSUER (``http://host:port``).
Tables ``floor_clients`` and ``floor_codes`` are created and filled by ``bench/oidc.py``.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import connexion
import redis
from a2wsgi import WSGIMiddleware
from flask import request
from flask_sqlalchemy import SQLAlchemy
from jwcrypto import jwk
from sqlalchemy import text

from app.formats.errors import FormatError
from app.formats.jose import check_time_claims, sign_jwt, verify_jwt
from app.services.database import engine_options

ISSUER = os.environ["FLOOR_ISSUER"]
TOKEN_URL = ISSUER + "/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
KEYS = {
    "RS256": jwk.JWK.generate(kty="RSA", size=2048, kid="floor-rs"),
    "ES256": jwk.JWK.generate(kty="EC", crv="P-256", kid="floor-es"),
}

db = SQLAlchemy()
store = redis.Redis.from_url(os.environ["FLOOR_REDIS_URL"])
_clients: dict[str, tuple[dict[str, jwk.JWK], str]] = {}


def _client(client_id: str) -> tuple[dict[str, jwk.JWK], str] | None:
    """The client's verification keys by kid and its ID-token algorithm, read once (clients do not change here)."""
    if client_id not in _clients:
        row = db.session.execute(
            text("SELECT public_jwk, id_token_alg FROM floor_clients WHERE client_id = :c"), {"c": client_id}
        ).first()
        if row is None:
            return None
        key = jwk.JWK(**json.loads(row.public_jwk))
        # the bench's assertions carry no kid: verify_jwt then looks the key up under "None"
        _clients[client_id] = ({str(key.get("kid")): key}, row.id_token_alg)
    return _clients[client_id]


def _error(code: str, description: str, status: int = 400) -> tuple[dict[str, str], int, dict[str, str]]:
    return {"error": code, "error_description": description}, status, NO_STORE


def health() -> dict[str, str]:
    return {"status": "UP"}


def token(body: dict[str, Any] | None = None) -> Any:
    form = request.form
    if form.get("grant_type") != "authorization_code":
        return _error("unsupported_grant_type", "only authorization_code")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        return _error("invalid_client", "private_key_jwt only")
    assertion = form.get("client_assertion", "")
    try:
        unverified = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
        client_id = str(unverified["iss"])
        found = _client(client_id)
        if found is None:
            return _error("invalid_client", "unknown client", 401)
        keys, id_token_alg = found
        _, claims = verify_jwt(assertion, keys, algorithms=["RS256", "PS256", "ES256"])
        now = int(time.time())
        check_time_claims(claims, now)
    except (FormatError, ValueError, KeyError, IndexError):
        return _error("invalid_client", "bad client assertion", 401)
    if claims.get("sub") != client_id or claims.get("aud") not in (TOKEN_URL, ISSUER):  # RFC 7523 §3
        return _error("invalid_client", "bad client assertion", 401)
    ttl = max(1, int(claims["exp"]) - now)
    if not store.set(f"floor:jti:{client_id}:{claims.get('jti')}", b"1", nx=True, ex=ttl):  # single use
        return _error("invalid_client", "assertion replayed", 401)
    code_hash = hashlib.sha256(form.get("code", "").encode()).hexdigest()
    row = db.session.execute(
        text(
            "SELECT client_id, redirect_uri, code_challenge, nonce, subject, used_at, expires_at FROM floor_codes "
            "WHERE code_hash = :h FOR UPDATE"
        ),
        {"h": code_hash},
    ).first()
    if row is None or row.client_id != client_id or row.used_at is not None or row.expires_at <= now:
        db.session.rollback()
        return _error("invalid_grant", "unknown, spent or expired code")
    verifier = form.get("code_verifier", "")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if form.get("redirect_uri") != row.redirect_uri or not hmac.compare_digest(challenge, row.code_challenge):
        db.session.rollback()
        return _error("invalid_grant", "redirect_uri or code_verifier does not match")
    db.session.execute(text("UPDATE floor_codes SET used_at = :n WHERE code_hash = :h"), {"n": now, "h": code_hash})
    db.session.commit()
    access = sign_jwt(
        {
            "iss": ISSUER,
            "sub": row.subject,
            "aud": ISSUER,
            "client_id": client_id,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "scope": "openid profile",
        },
        KEYS["RS256"],
        "RS256",
        typ="at+jwt",
    )
    digest = hashlib.sha256(access.encode("ascii")).digest()
    id_token = sign_jwt(
        {
            "iss": ISSUER,
            "sub": row.subject,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "nonce": row.nonce,
            "acr": "idbb:acr:static-code",
            "amr": ["pin"],
            "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode(),
        },
        KEYS[id_token_alg],
        id_token_alg,
    )
    return (
        {"access_token": access, "token_type": "Bearer", "expires_in": 300, "scope": "openid profile", "id_token": id_token},
        200,
        NO_STORE,
    )


def create_app() -> connexion.FlaskApp:
    cx = connexion.FlaskApp(__name__, specification_dir=str(Path(__file__).parent))
    cx.app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ["FLOOR_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(os.environ["FLOOR_DATABASE_URL"], 10),
    )  # as idbb's
    db.init_app(cx.app)
    cx.add_api("floor.yaml", validate_responses=True)
    cx._middleware_app.asgi_app = WSGIMiddleware(cx.app.wsgi_app, workers=2)  # as idbb's IDBB_WORKER_THREADS
    return cx


app = create_app()
