"""Who may call the datastore API (seed 000 "Authentication", "API Authentication"): exactly one mode per
deployment (``IDBB_DATASTORE_AUTH``), then the SPOCP-style rules.

- ``idbb``: idbb's own RFC 9068 access tokens (``POST /oauth/token``); the subject is the token's ``sub``, and the
  operation's scope (``datastore.write`` ...) is checked as for every idbb API.
- ``jwks`` / ``oidc``: bearer JWTs of an external authorization server, verified against its JWKS (a configured
  URL, or the ``jwks_uri`` of the issuer's OpenID Provider metadata) with ``iss`` and ``aud`` checked; keys are
  cached and fetched again on an unknown ``kid`` at most once per ``IDBB_DATASTORE_JWKS_MIN_REFRESH`` seconds (a
  flood of tokens with random kids cannot make idbb hammer the key server). The subject is ``eppn`` or ``email``
  (seed 000: "not the standard sub claim").
- ``basic``: HTTP Basic with an API client's id and secret (development profiles only).

Rules: with none configured any authenticated caller may call every operation; otherwise a request is allowed only
when a rule covers ``(vc (service apigw)(method M)(path P)(subject S)(authentic_source A)(scope C))``.
"""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException

from app.clock import clock
from app.extensions import state
from app.formats import FormatError, spocp
from app.formats.jose import check_time_claims, verify_jwt
from app.services import throttle as throttles
from app.services.datastore.errors import NotAllowed, NotAuthenticated, RateLimitExceeded
from app.services.oidc import access_tokens
from app.services.oidc.client_auth import secret_matches
from app.services.oidc.client_lookup import active_client

#: Every scope of the datastore API; an external token (checked by the rules instead) is given all of them.
SCOPES = ("datastore.read", "datastore.write", "identity.read", "identity.write")
ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")  # RFC 8725 §3.1: never "none", never a MAC
FETCH_TIMEOUT = 5.0
MAX_JWKS_BYTES = 256 * 1024
LEEWAY = 30


@dataclass(frozen=True)
class Caller:
    subject: str
    mode: str
    scopes: tuple[str, ...]

    def as_token_info(self) -> dict[str, Any]:
        """What Connexion keeps as ``token_info`` (its ``scope`` checked against the operation's)."""
        return {"sub": self.subject, "client_id": self.subject, "scope": list(self.scopes), "mode": self.mode}


def _refused(reason: str) -> NotAuthenticated:
    return NotAuthenticated(detail=reason, headers={"WWW-Authenticate": 'Bearer realm="idbb", error="invalid_token"'})


def _fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):  # never file: or a custom scheme
        raise ValueError("key set URL is not http(s)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked)
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as answer:  # noqa: S310 (scheme checked)
        raw = answer.read(MAX_JWKS_BYTES + 1)
    if len(raw) > MAX_JWKS_BYTES:
        raise ValueError("key set too large")
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _public_key(raw: dict[str, Any]) -> jwk.JWK | None:
    """A signing key of the set; a private, encryption-only, unnamed or unreadable one is skipped, not fatal."""
    if raw.get("use", "sig") != "sig" or "kid" not in raw or "d" in raw:
        return None
    try:
        return jwk.JWK(**raw)
    except (ValueError, TypeError, KeyError, JWException):
        return None


class KeyCache:
    """The external authorization server's keys by ``kid``, fetched on first use and on an unknown ``kid``."""

    def __init__(self, jwks_url: str | None, oidc_issuer: str | None, min_refresh: float) -> None:
        self.jwks_url, self.oidc_issuer, self.min_refresh = jwks_url, oidc_issuer, min_refresh
        self.keys: dict[str, jwk.JWK] = {}
        self.fetched_at: float | None = None
        self.lock = threading.Lock()

    def _url(self) -> str:
        if self.jwks_url:
            return self.jwks_url
        # OpenID Connect Discovery 1.0 §4: the metadata at the issuer's /.well-known/openid-configuration
        meta = _fetch_json(str(self.oidc_issuer).rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != self.oidc_issuer:  # Discovery §4.3: MUST be identical to the issuer URL used
            raise ValueError("discovery issuer differs")
        self.jwks_url = str(meta["jwks_uri"])
        return self.jwks_url

    def _refresh(self) -> None:
        data = _fetch_json(self._url())
        found = (_public_key(raw) for raw in data.get("keys", []) if isinstance(raw, dict))
        self.keys = {str(key.key_id): key for key in found if key is not None}

    def get(self, kid: str) -> dict[str, jwk.JWK]:
        with self.lock:
            now = time.monotonic()
            stale = self.fetched_at is None or (kid not in self.keys and now - self.fetched_at >= self.min_refresh)
            if stale:
                try:
                    self._refresh()
                except (OSError, ValueError, KeyError) as exc:
                    raise _refused(f"key set unavailable ({type(exc).__name__})") from exc
                finally:
                    self.fetched_at = now
            return self.keys


def _key_cache() -> KeyCache:
    settings = state().settings
    return state().cached(
        "datastore_jwks",
        lambda: KeyCache(
            settings.datastore_jwks_url or None,
            settings.datastore_oidc_issuer or None,
            float(settings.datastore_jwks_min_refresh),
        ),
    )


def _external(token: str) -> Caller:
    settings = state().settings
    expected_iss = settings.datastore_token_issuer or settings.datastore_oidc_issuer
    try:
        from app.formats.jose import peek_header

        kid = str(peek_header(token).get("kid", ""))
        _, claims = verify_jwt(token, _key_cache().get(kid), algorithms=ALGORITHMS)
        check_time_claims(claims, int(clock.timestamp()), leeway=LEEWAY)
    except FormatError as exc:
        raise _refused(str(exc)) from exc
    if claims.get("iss") != expected_iss:  # RFC 7519 §4.1.1, seed 000: validate issuer
        raise _refused("token iss is not the configured issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if settings.datastore_token_audience not in audiences:  # RFC 7519 §4.1.3: MUST be rejected if not identified
        raise _refused("token aud does not name this API")
    subject = claims.get("eppn") or claims.get("email") or ""  # seed 000: eppn or email, not sub
    return Caller(str(subject), settings.datastore_auth, SCOPES)


def bearer(token: str) -> Caller:
    """The caller of a bearer token, in the deployment's one mode; otherwise ``UNAUTHORIZED``."""
    mode = state().settings.datastore_auth
    if mode == "basic":
        raise _refused("this deployment takes HTTP Basic credentials")
    if mode == "idbb":
        info = access_tokens.verify(token)  # invalid_token (401) on any failure
        scopes = tuple(s for s in info.scope if s in SCOPES)
        return Caller(str(info.sub), mode, scopes)
    return _external(token)


def basic(username: str, password: str) -> Caller:
    """HTTP Basic (development): an active API client's id and secret (compared in constant time)."""
    if state().settings.datastore_auth != "basic":
        raise NotAuthenticated(detail="this deployment takes bearer tokens")
    client = active_client(username) if 0 < len(username) <= 100 else None
    if client is None or client.kind != "api" or not secret_matches(password, client.secret_hash):
        raise NotAuthenticated(detail="basic credentials refused", headers={"WWW-Authenticate": 'Basic realm="idbb"'})
    return Caller(username, "basic", tuple(s for s in client.scopes or [] if s in SCOPES))


def rules() -> tuple[spocp.Rule, ...]:
    settings = state().settings
    return state().cached("datastore_rules", settings.datastore_rule_list)


def authorize(subject: str, *, method: str, path: str, authentic_source: str | None, scope: str | None) -> None:
    """Refuse (403) a request no rule covers; with no rules every authenticated caller is allowed (seed 000)."""
    configured = rules()
    if not configured:
        return
    query = spocp.query(
        "vc",
        [
            ("service", "apigw"),
            ("method", method),
            ("path", path),
            ("subject", subject),
            ("authentic_source", authentic_source or ""),
            ("scope", scope or ""),
        ],
    )
    if not spocp.allowed(configured, query):
        raise NotAllowed(details={"method": method, "path": path})


def throttle(caller: str) -> None:
    """Count one call of the datastore API by ``caller`` (the authenticated subject, with its mode) and refuse it
    with ``RATE_LIMITED`` past ``IDBB_DATASTORE_RATE_LIMIT`` calls per ``IDBB_DATASTORE_RATE_WINDOW`` seconds."""
    settings = state().settings
    wait = throttles.over_limit(f"datastore {caller}", settings.datastore_rate_limit, settings.datastore_rate_window)
    if wait:
        raise RateLimitExceeded(wait)
