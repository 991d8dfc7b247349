"""One documented Settings object, read from ``IDBB_*`` environment variables.

Every setting is listed in the README's configuration table. Unsafe combinations fail at start-up
with :class:`ConfigError` naming the setting to change, so a production deployment cannot come up
with the demo key-encryption key or a plain-http issuer.
"""

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROFILES = ("production", "development", "govstack-sandbox")
#: Profiles that run with demo secrets and plain http; ``govstack-sandbox`` also relaxes the wallet APIs.
RELAXED_PROFILES = ("development", "govstack-sandbox")
NOTIFIERS = ("none", "smtp", "outbox")
DATASTORE_AUTH_MODES = ("idbb", "jwks", "oidc", "basic")
#: The well-known demo key-encryption key. Only the development profile may use it.
DEMO_KEK = base64.urlsafe_b64encode(b"idbb-demo-kek-never-use-in-prod!").decode("ascii")
_REPO_OPENAPI = Path(__file__).resolve().parent.parent / "openapi"
#: The credential configurations idbb ships (issue 16): a PID in dc+sd-jwt and mso_mdoc, a W3C jwt_vc_json.
_SHIPPED_CREDENTIAL_CONFIGS = Path(__file__).resolve().parent / "services" / "issuance" / "defaults"


class ConfigError(RuntimeError):
    """A setting is missing, malformed or unsafe for the chosen profile."""


@dataclass(frozen=True)
class Settings:
    """idbb's configuration. Field docs are the README's; env names are ``IDBB_<FIELD>`` upper-cased."""

    profile: str = "production"
    database_url: str = "sqlite:///idbb.db"
    redis_url: str | None = None
    issuer: str = "http://127.0.0.1:8080"
    kek: str | None = None
    kek_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    worker_threads: int = 2
    access_token_ttl: int = 600
    request_time_skew: int = 120
    key_publish_ahead: int = 900
    key_lifetime_days: int = 365
    key_retention: int = 86400
    assertion_max_lifetime: int = 300
    jwks_max_age: int = 300
    log_level: str = "INFO"
    openapi_dir: str = str(_REPO_OPENAPI)
    db_pool_size: int = 10
    client_cache_seconds: float = 5.0
    data_key: str | None = None
    data_key_file: str | None = None
    uin_length: int = 10
    dedup_attributes: str = "firstName,lastName,dateOfBirth;fullName,dateOfBirth"
    max_buffer_bytes: int = 20 * 1024 * 1024
    # --- request limits per surface (issue 14): bodies over them answer 413 in the surface's error format ---
    max_form_bytes: int = 64 * 1024
    max_json_bytes: int = 1024 * 1024
    max_enrollment_bytes: int = 32 * 1024 * 1024
    max_json_depth: int = 64
    max_attribute_chars: int = 1024
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    # --- OpenID Provider (issue 3) ---
    code_ttl: int = 60
    id_token_ttl: int = 600
    refresh_token_ttl: int = 86400
    authorize_ttl: int = 600
    par_ttl: int = 60
    require_par: bool = False
    session_ttl: int = 28800
    consent_ttl: int = 15552000
    otp_ttl: int = 180
    otp_max_attempts: int = 3
    otp_max_sends: int = 3
    otp_max_sends_per_person: int = 10
    otp_block_seconds: int = 900
    # --- throttles (issue 14): NIST SP 800-63B §5.2.2, answered 429 + Retry-After (RFC 6585 §4) ---
    login_max_failures: int = 10
    throttle_window: int = 300
    throttle_per_transaction: int = 10
    throttle_per_source: int = 60
    throttle_per_client: int = 3000
    dpop_require_nonce: bool = True
    dpop_max_age: int = 60
    ui_locales: str = "en,fr,ar"
    notifier: str = "none"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "idbb@localhost"
    # --- wallet login by QR and wallet binding (issue 4) ---
    link_code_ttl: int = 60
    linked_transaction_ttl: int = 300
    long_poll_timeout: float = 25.0
    link_codes_live_max: int = 2
    link_codes_total_max: int = 10
    wallet_deep_link: str = "idbb-wallet://wla-auth?linkCode={linkCode}&linkExpireDateTime={expireDateTime}"
    wla_audience: str = "esignet-binding"
    wla_max_age: int = 300
    binding_cert_days: int = 180
    # --- credential issuance, OpenID4VCI 1.0 (issue 16) ---
    credential_config_dir: str = str(_SHIPPED_CREDENTIAL_CONFIGS)
    credential_offer_ttl: int = 600
    credential_offer_max_ttl: int = 604800
    c_nonce_ttl: int = 300
    proof_max_age: int = 300
    tx_code_max_attempts: int = 3
    credential_batch_size: int = 10
    deferred_interval: int = 60
    status_list_size: int = 1_048_576
    status_list_ttl: int = 300
    status_list_lifetime: int = 86400
    mdoc_country: str = "ZZ"
    # --- the printable ID card (issue 17) ---
    card_validity_days: int = 3650
    # a Unicode TrueType font for the card's text (its "-Bold" sibling for values); Debian's fonts-dejavu-core
    card_font: str = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"
    wallet_push_origins: str = ""
    wallet_push_timeout: float = 3.0
    # --- credential lifecycle (issue 17) ---
    status_publish_delay: float = 1.0
    lifecycle_bulk_threshold: int = 1000
    lifecycle_job_sweep: float = 30.0
    renewal_old_credential: str = "keep"
    registry_death_action: str = "revoke"
    registry_merge_action: str = "revoke"
    # --- authentic sources' datastore API (issue 18, seed 000) ---
    datastore_auth: str = "idbb"  # idbb | jwks | oidc | basic: exactly one per deployment
    datastore_jwks_url: str = ""
    datastore_oidc_issuer: str = ""
    datastore_token_issuer: str = ""
    datastore_token_audience: str = ""
    datastore_jwks_min_refresh: int = 30
    datastore_rules: str = ""
    datastore_rules_file: str = ""
    datastore_rate_limit: int = 600
    datastore_rate_window: int = 60
    offer_wallets: str = ""
    max_bulk_bytes: int = 32 * 1024 * 1024
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Read ``IDBB_*`` variables; ``overrides`` win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f"IDBB_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw, f.type)
        values.update(overrides)
        return cls(**values)

    def _validate_datastore(self) -> None:
        """The datastore API's one authentication mode (seed 000: "exactly one must be enabled") and its rules."""
        mode = self.datastore_auth
        if mode not in DATASTORE_AUTH_MODES:
            raise ConfigError(f"IDBB_DATASTORE_AUTH must be one of {', '.join(DATASTORE_AUTH_MODES)}")
        if mode == "basic" and self.profile == "production":
            raise ConfigError("IDBB_DATASTORE_AUTH=basic is for development: not in the production profile")
        if mode == "jwks" and not (self.datastore_jwks_url and self.datastore_token_issuer):
            raise ConfigError("IDBB_DATASTORE_AUTH=jwks needs IDBB_DATASTORE_JWKS_URL and IDBB_DATASTORE_TOKEN_ISSUER")
        if mode == "oidc" and not self.datastore_oidc_issuer:
            raise ConfigError("IDBB_DATASTORE_AUTH=oidc needs IDBB_DATASTORE_OIDC_ISSUER")
        if mode in ("jwks", "oidc") and not self.datastore_token_audience:
            raise ConfigError("IDBB_DATASTORE_AUTH=jwks/oidc needs IDBB_DATASTORE_TOKEN_AUDIENCE (aud is checked)")
        for name in ("datastore_jwks_url", "datastore_oidc_issuer"):
            url = urlsplit(getattr(self, name))
            loopback = url.hostname in ("127.0.0.1", "::1", "localhost")
            if getattr(self, name) and (
                url.scheme not in ("https", "http")
                or not url.hostname
                or (self.profile == "production" and url.scheme != "https" and not loopback)
            ):
                raise ConfigError(f"IDBB_{name.upper()} must be an https URL (http: loopback or development only)")
        if self.datastore_jwks_min_refresh < 0 or self.max_bulk_bytes <= 0:
            raise ConfigError("IDBB_DATASTORE_JWKS_MIN_REFRESH must not be negative, IDBB_MAX_BULK_BYTES positive")
        self.datastore_rule_list()
        if self.datastore_rate_limit < 0 or self.datastore_rate_window <= 0:
            raise ConfigError("IDBB_DATASTORE_RATE_LIMIT must not be negative (0: off), IDBB_DATASTORE_RATE_WINDOW positive")
        self.offer_wallet_map()

    def offer_wallet_map(self) -> dict[str, dict[str, str]]:
        """The wallets of ``GET /offers/{scope}/{wallet_id}`` (seed 000, SUNET apigw's ``credential_offers.wallets``):
        ``IDBB_OFFER_WALLETS`` as JSON, or the path of a YAML/JSON file, ``{id: {label, redirect_uri}}``; by
        default one wallet, ``native``, reached through OpenID4VCI 1.0 §4.1's ``openid-credential-offer://``."""
        return {k: dict(v) for k, v in _offer_wallets(self.offer_wallets.strip(), self.profile).items()}

    def datastore_rule_list(self) -> tuple[Any, ...]:
        """The SPOCP-style rules of the datastore API: ``IDBB_DATASTORE_RULES`` (one per line) and the rules file."""
        from app.formats.spocp import RuleSyntaxError, compile_rules

        lines = self.datastore_rules.splitlines()
        if self.datastore_rules_file:
            try:
                lines += Path(self.datastore_rules_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"IDBB_DATASTORE_RULES_FILE cannot be read ({type(exc).__name__})") from exc
        try:
            return compile_rules(lines)
        except RuleSyntaxError as exc:
            raise ConfigError(f"IDBB_DATASTORE_RULES: {exc}") from exc

    def wallet_push_origin_list(self) -> list[str]:
        """The origins ``POST /v1/issuance`` may push offers to (``walletEndpoint``); empty: pushing is off."""
        return [o.strip().rstrip("/") for o in self.wallet_push_origins.split(",") if o.strip()]

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_database_url(self) -> str:
        """A relative SQLite path is taken from the working directory (Flask-SQLAlchemy would
        otherwise put it in the Flask instance folder, far from where the operator ran idbb)."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            path = self.database_url[len(prefix) :]
            if path and path != ":memory:" and not path.startswith("/"):
                return prefix + str(Path.cwd() / path)
        return self.database_url

    @property
    def is_sandbox(self) -> bool:
        """The GovStack compliance sandbox: seeded fixtures and relaxed wallet APIs (README)."""
        return self.profile == "govstack-sandbox"

    def ui_locale_list(self) -> list[str]:
        return [tag.strip() for tag in self.ui_locales.split(",") if tag.strip()]

    def kek_bytes(self) -> bytes:
        """The 32-byte key-encryption key, from ``IDBB_KEK`` or the file ``IDBB_KEK_FILE``."""
        key = _aes_key("KEK", self.kek, self.kek_file)
        if key is None and self.profile in RELAXED_PROFILES:
            key = _aes_key("KEK", DEMO_KEK, None)
        if key is None:
            raise ConfigError("IDBB_KEK (or IDBB_KEK_FILE) is required: base64url of 32 random bytes")
        return key

    def data_key_bytes(self) -> bytes:
        """The 32-byte key sealing biometric and document content at rest: ``IDBB_DATA_KEY(_FILE)``,
        or, when unset, derived from the KEK with HKDF-SHA256 (RFC 5869) so no second secret is needed."""
        key = _aes_key("DATA_KEY", self.data_key, self.data_key_file)
        return key if key is not None else self.derived_key("data key")

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (pairwise subjects, OTP MACs, DPoP nonces), derived from the KEK
        with HKDF-SHA256 (RFC 5869): one secret to guard, independent keys per use."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        info = f"idbb {purpose} v1".encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self.kek_bytes())

    def validate(self) -> "Settings":
        """Fail fast on unsafe or malformed combinations; returns self for chaining."""
        if self.profile not in PROFILES:
            raise ConfigError(f"IDBB_PROFILE must be one of {', '.join(PROFILES)}, not {self.profile!r}")
        issuer = urlsplit(self.issuer)
        if issuer.scheme not in {"http", "https"} or not issuer.hostname or issuer.query or issuer.fragment:
            raise ConfigError("IDBB_ISSUER must be an absolute http(s) URL without query or fragment")
        if self.issuer.endswith("/"):
            raise ConfigError("IDBB_ISSUER must not end with '/' (OIDC Discovery §4.3 compares it exactly)")
        kek = self.kek_bytes()
        if self.profile == "production":
            if kek == base64.urlsafe_b64decode(DEMO_KEK):
                raise ConfigError("the production profile refuses the demo key-encryption key: set IDBB_KEK")
            if issuer.scheme != "https":  # OAuth 2.0 (RFC 6749 §3.1) requires TLS at the endpoints
                raise ConfigError("the production profile needs an https IDBB_ISSUER")
        for name in (
            "access_token_ttl",
            "request_time_skew",
            "assertion_max_lifetime",
            "key_lifetime_days",
            "worker_threads",
            "max_form_bytes",
            "max_json_bytes",
            "max_enrollment_bytes",
            "max_json_depth",
            "max_attribute_chars",
            "max_buffer_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"IDBB_{name.upper()} must be positive")
        self.data_key_bytes()
        if not 6 <= self.uin_length <= 32:
            raise ConfigError("IDBB_UIN_LENGTH must be between 6 and 32")
        if self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2 or self.argon2_parallelism < 1:
            # OWASP Password Storage Cheat Sheet: argon2id minimum m=19 MiB, t=2, p=1
            raise ConfigError("IDBB_ARGON2_* must not go below OWASP's minimum (m=19456 KiB, t=2, p=1)")
        if self.key_publish_ahead < 0 or self.jwks_max_age < 0:
            raise ConfigError("IDBB_KEY_PUBLISH_AHEAD and IDBB_JWKS_MAX_AGE must not be negative")
        if self.profile == "production" and self.key_publish_ahead < self.jwks_max_age:
            # a new key must be in every cached JWKS before it signs anything
            raise ConfigError("IDBB_KEY_PUBLISH_AHEAD must be at least IDBB_JWKS_MAX_AGE in production")
        if self.request_time_skew > 3600 or self.assertion_max_lifetime > 3600:
            raise ConfigError("IDBB_REQUEST_TIME_SKEW and IDBB_ASSERTION_MAX_LIFETIME must be at most 3600 seconds")
        self._validate_datastore()
        if (self.data_key or self.data_key_file) and self.data_key_bytes() == kek:
            raise ConfigError("IDBB_DATA_KEY must differ from IDBB_KEK")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("IDBB_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        if self.key_retention < self.access_token_ttl:
            raise ConfigError("IDBB_KEY_RETENTION must outlast IDBB_ACCESS_TOKEN_TTL (retired keys verify old tokens)")
        for name in (
            "code_ttl",
            "id_token_ttl",
            "refresh_token_ttl",
            "authorize_ttl",
            "par_ttl",
            "session_ttl",
            "consent_ttl",
            "otp_ttl",
            "otp_max_attempts",
            "otp_max_sends",
            "otp_max_sends_per_person",
            "otp_block_seconds",
            "dpop_max_age",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"IDBB_{name.upper()} must be positive")
        for name in ("login_max_failures", "throttle_window", "throttle_per_transaction"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"IDBB_{name.upper()} must be positive")
        if self.throttle_per_source < 0 or self.throttle_per_client < 0:
            raise ConfigError("IDBB_THROTTLE_PER_SOURCE and IDBB_THROTTLE_PER_CLIENT must not be negative (0: off)")
        if self.code_ttl > 600:  # RFC 6749 §4.1.2: a maximum authorization code lifetime of 10 minutes
            raise ConfigError("IDBB_CODE_TTL must be at most 600 seconds")
        if self.notifier not in NOTIFIERS:
            raise ConfigError(f"IDBB_NOTIFIER must be one of {', '.join(NOTIFIERS)}")
        if self.notifier == "outbox" and self.profile == "production":
            raise ConfigError("IDBB_NOTIFIER=outbox writes one-time codes to the log: development profile only")
        for name in (
            "link_code_ttl",
            "linked_transaction_ttl",
            "long_poll_timeout",
            "link_codes_live_max",
            "link_codes_total_max",
            "wla_max_age",
            "binding_cert_days",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"IDBB_{name.upper()} must be positive")
        if "{linkCode}" not in self.wallet_deep_link:
            raise ConfigError("IDBB_WALLET_DEEP_LINK must contain {linkCode}")
        if not self.ui_locale_list():
            raise ConfigError("IDBB_UI_LOCALES must list at least one language tag")
        for name in (
            "credential_offer_ttl",
            "credential_offer_max_ttl",
            "c_nonce_ttl",
            "proof_max_age",
            "tx_code_max_attempts",
            "credential_batch_size",
            "deferred_interval",
            "status_list_ttl",
            "status_list_lifetime",
            "card_validity_days",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"IDBB_{name.upper()} must be positive")
        if self.credential_offer_max_ttl < self.credential_offer_ttl:
            raise ConfigError("IDBB_CREDENTIAL_OFFER_MAX_TTL must be at least IDBB_CREDENTIAL_OFFER_TTL")
        if self.status_list_ttl >= self.status_list_lifetime:  # a list is re-signed one ttl before it expires
            raise ConfigError("IDBB_STATUS_LIST_TTL must be shorter than IDBB_STATUS_LIST_LIFETIME")
        if not 16 <= self.status_list_size <= 16 * 1024 * 1024 or self.status_list_size % 4:
            # Token Status List §13.2: lists large enough to hide an index among many (herd privacy)
            raise ConfigError("IDBB_STATUS_LIST_SIZE must be a multiple of 4 between 16 and 16777216")
        if len(self.mdoc_country) != 2 or not self.mdoc_country.isascii() or not self.mdoc_country.isupper():
            raise ConfigError("IDBB_MDOC_COUNTRY must be an ISO 3166-1 alpha-2 code in upper case")
        if not 0 <= self.status_publish_delay < self.status_list_ttl:
            # a change must reach verifiers well within the ttl they cache for (Token Status List §13.7)
            raise ConfigError("IDBB_STATUS_PUBLISH_DELAY must be at least 0 and shorter than IDBB_STATUS_LIST_TTL")
        if self.lifecycle_bulk_threshold < 1:
            raise ConfigError("IDBB_LIFECYCLE_BULK_THRESHOLD must be positive")
        if self.lifecycle_job_sweep < 0:
            raise ConfigError("IDBB_LIFECYCLE_JOB_SWEEP must be at least 0 (0: no sweeper)")
        if self.renewal_old_credential not in ("keep", "revoke_on_accept"):
            raise ConfigError("IDBB_RENEWAL_OLD_CREDENTIAL must be keep or revoke_on_accept")
        for name in ("registry_death_action", "registry_merge_action"):
            if getattr(self, name) not in ("revoke", "suspend", "none"):
                raise ConfigError(f"IDBB_{name.upper()} must be revoke, suspend or none")
        if not 0 < self.wallet_push_timeout <= 30:
            raise ConfigError("IDBB_WALLET_PUSH_TIMEOUT must be between 0 and 30 seconds")
        for origin in self.wallet_push_origin_list():
            parts = urlsplit(origin)
            loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
            if (
                parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path
                or parts.query
                or parts.fragment
                or parts.username is not None
            ):
                raise ConfigError(f"IDBB_WALLET_PUSH_ORIGINS: {origin!r} is not an origin (scheme://host[:port])")
            if self.profile == "production" and parts.scheme != "https" and not loopback:
                raise ConfigError("IDBB_WALLET_PUSH_ORIGINS must be https origins in production (http: loopback only)")
        if not Path(self.credential_config_dir).is_dir():
            raise ConfigError(f"IDBB_CREDENTIAL_CONFIG_DIR {self.credential_config_dir!r} is not a directory")
        if not Path(self.openapi_dir).is_dir():
            raise ConfigError(f"IDBB_OPENAPI_DIR {self.openapi_dir!r} is not a directory")
        return self


@lru_cache(maxsize=8)
def _offer_wallets(raw: str, profile: str) -> dict[str, dict[str, str]]:
    """Parsed once per value (the offer page reads it on every request)."""
    if not raw:
        return {"native": {"label": "Wallet app", "redirect_uri": "openid-credential-offer://"}}
    try:
        import yaml

        text = raw if raw.startswith("{") else Path(raw).read_text(encoding="utf-8")
        data = yaml.safe_load(text)  # JSON is YAML 1.2
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"IDBB_OFFER_WALLETS is neither JSON nor a readable YAML file ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or not data:
        raise ConfigError("IDBB_OFFER_WALLETS must map at least one wallet id to {label, redirect_uri}")
    out: dict[str, dict[str, str]] = {}
    for wallet_id, entry in data.items():
        if not isinstance(wallet_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", wallet_id):
            raise ConfigError("IDBB_OFFER_WALLETS: a wallet id is 1 to 64 letters, digits, '-' or '_'")
        if not isinstance(entry, dict) or set(entry) - {"label", "redirect_uri"}:
            raise ConfigError(f"IDBB_OFFER_WALLETS: {wallet_id} must be {{label, redirect_uri}}")
        label, uri = entry.get("label"), entry.get("redirect_uri")
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if not isinstance(label, str) or not label.strip() or parts is None or not parts.scheme:
            raise ConfigError(f"IDBB_OFFER_WALLETS: {wallet_id} needs a label and an absolute redirect_uri")
        if (parts.scheme in ("http", "https") and not parts.hostname) or parts.query or parts.fragment:
            raise ConfigError(f"IDBB_OFFER_WALLETS: {wallet_id}'s redirect_uri has no host, or has a query/fragment")
        if parts.scheme in ("javascript", "data", "file", "vbscript"):
            raise ConfigError(f"IDBB_OFFER_WALLETS: {wallet_id}'s redirect_uri scheme is not allowed")
        if profile == "production" and parts.scheme == "http":
            raise ConfigError(f"IDBB_OFFER_WALLETS: {wallet_id}'s redirect_uri must not be plain http in production")
        out[wallet_id] = {"label": label.strip(), "redirect_uri": str(uri)}
    return out


#: The settings file ``idbb demo`` writes in its folder, so that every ``idbb`` command run there (``clients
#: list``, ``keys rotate``, ``serve``) finds the demo's database, issuer and profile. Only the ``idbb`` command
#: reads it (not ``app.asgi``, so never gunicorn or the Docker image).
DEMO_SETTINGS_FILE = "idbb-demo.env"
#: Secrets a settings file may never carry: the demo's key-encryption key is the relaxed profiles' built-in one.
_NEVER_IN_DEMO_FILE = ("IDBB_KEK", "IDBB_KEK_FILE", "IDBB_DATA_KEY", "IDBB_DATA_KEY_FILE")


def with_demo_settings(environ: Mapping[str, str], folder: Path) -> tuple[dict[str, str], Path | None]:
    """The environment with ``folder``'s :data:`DEMO_SETTINGS_FILE` under it (the environment wins), and the
    file's path when it was used.

    Production stays strict: the file is ignored when the environment names another profile than the file's
    (``IDBB_PROFILE=production`` always wins, and the production checks then refuse the demo KEK as before),
    and a file naming the production profile or carrying a key is refused, never half-applied.
    """
    path = folder / DEMO_SETTINGS_FILE
    env = dict(environ)
    if not path.is_file():
        return env, None
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.startswith("IDBB_"):
            raise ConfigError(f"{path}:{number}: expected IDBB_NAME=value")
        if name in _NEVER_IN_DEMO_FILE:
            raise ConfigError(f"{path}: {name} is never read from a settings file; set it in the environment")
        values[name] = value.strip()
    profile = values.get("IDBB_PROFILE")
    if profile not in RELAXED_PROFILES:
        raise ConfigError(
            f"{path}: IDBB_PROFILE must be one of {', '.join(RELAXED_PROFILES)} "
            "(the file is for the demo; configure production through the environment)"
        )
    if env.get("IDBB_PROFILE") and env["IDBB_PROFILE"] != profile:
        return env, None
    return {**values, **env}, path


def write_demo_settings(folder: Path, values: Mapping[str, str]) -> Path:
    """Write ``folder``'s :data:`DEMO_SETTINGS_FILE` (``IDBB_NAME=value`` lines) for :func:`with_demo_settings`."""
    path = folder / DEMO_SETTINGS_FILE
    lines = [
        "# Written by `idbb demo`: the settings of the demo in this folder, read by every `idbb` command",
        "# run here (the environment wins). Never read by app.asgi or in the production profile.",
        *(f"{name}={value}" for name, value in values.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _aes_key(name: str, value: str | None, file: str | None) -> bytes | None:
    """An AES-256 key given inline (``IDBB_<name>``) or in a file (``IDBB_<name>_FILE``); None if neither."""
    text = value
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"IDBB_{name}_FILE cannot be read: {exc.strerror}") from exc
    if not text:
        return None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"IDBB_{name} must be base64url of 32 random bytes") from exc
    if len(key) != 32:
        raise ConfigError(f"IDBB_{name} must decode to exactly 32 bytes (AES-256)")
    return key


def _coerce(name: str, raw: str, kind: Any) -> Any:
    text = str(kind)
    if "bool" in text:
        lowered = raw.strip().lower()
        if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            raise ConfigError(f"IDBB_{name.upper()} must be true or false")
        return lowered in {"true", "1", "yes", "on"}
    if "float" in text:
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"IDBB_{name.upper()} must be a number") from exc
    if "int" in text:
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"IDBB_{name.upper()} must be an integer") from exc
    return raw
