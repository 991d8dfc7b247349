"""app/config.py: Settings read from IDBB_* variables, and fail-fast validation naming the setting."""

import base64
import os

import pytest

from app.config import DEMO_KEK, ConfigError, Settings

HTTPS_ISSUER = "https://idbb.example.gov"


def kek_text(length: int = 32) -> str:
    return base64.urlsafe_b64encode(os.urandom(length)).decode("ascii")


def production(**changes) -> Settings:
    """A production configuration that validates; each test breaks one thing."""
    return Settings(profile="production", issuer=HTTPS_ISSUER, kek=kek_text()).with_(**changes)


def assert_config_error(settings: Settings, env_name: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        settings.validate()
    assert env_name in str(caught.value), f"{env_name} not named in: {caught.value}"
    return caught.value


# --- from_env ---------------------------------------------------------------------------------


def test_from_env_reads_idbb_variables_and_coerces_ints():
    settings = Settings.from_env(
        {
            "IDBB_PROFILE": "development",
            "IDBB_ISSUER": HTTPS_ISSUER,
            "IDBB_PORT": "9090",
            "IDBB_WORKERS": "4",
            "IDBB_ACCESS_TOKEN_TTL": "300",
            "IDBB_KEY_RETENTION": "7200",
            "IDBB_DATABASE_URL": "postgresql+psycopg://idbb@db/idbb",
            "IDBB_REDIS_URL": "redis://cache:6379/0",
            "IDBB_LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.profile == "development"
    assert settings.issuer == HTTPS_ISSUER
    assert settings.port == 9090 and type(settings.port) is int
    assert settings.workers == 4 and type(settings.workers) is int
    assert settings.access_token_ttl == 300 and type(settings.access_token_ttl) is int
    assert settings.key_retention == 7200
    assert settings.database_url == "postgresql+psycopg://idbb@db/idbb"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.log_level == "DEBUG"
    assert not settings.is_sqlite


def test_from_env_ignores_unprefixed_and_empty_variables():
    defaults = Settings()
    settings = Settings.from_env({"PORT": "1", "IDBB_PORT": "", "ISSUER": "https://x", "idbb_port": "2"})
    assert settings == defaults


def test_from_env_overrides_win():
    settings = Settings.from_env({"IDBB_PORT": "9090", "IDBB_PROFILE": "development"}, port=7000)
    assert settings.port == 7000
    assert settings.profile == "development"


def test_from_env_does_not_read_os_environ_when_given_a_mapping(monkeypatch):
    monkeypatch.setenv("IDBB_PORT", "1234")
    assert Settings.from_env({}).port == Settings().port
    assert Settings.from_env().port == 1234


@pytest.mark.parametrize("raw", ["abc", "80.5", "8080x", "0x50"])
def test_from_env_non_integer_port_raises(raw):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IDBB_PORT": raw})
    assert "IDBB_PORT" in str(caught.value)


def test_from_env_non_integer_ttl_names_its_setting():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IDBB_ACCESS_TOKEN_TTL": "ten minutes"})
    assert "IDBB_ACCESS_TOKEN_TTL" in str(caught.value)


# --- validate: refused ------------------------------------------------------------------------


def test_production_refuses_the_demo_kek():
    assert_config_error(production(kek=DEMO_KEK), "IDBB_KEK")


def test_production_refuses_the_demo_kek_from_a_file(tmp_path):
    path = tmp_path / "kek"
    path.write_text(DEMO_KEK + "\n", encoding="utf-8")
    assert_config_error(production(kek=None, kek_file=str(path)), "IDBB_KEK")


def test_production_requires_a_kek():
    assert_config_error(production(kek=None), "IDBB_KEK")
    assert_config_error(production(kek=""), "IDBB_KEK")


def test_production_refuses_an_http_issuer():
    assert_config_error(production(issuer="http://idbb.example.gov"), "IDBB_ISSUER")


def test_defaults_alone_do_not_validate():
    # the default profile is production with an http issuer and no KEK: it must not come up as is
    with pytest.raises(ConfigError):
        Settings().validate()


@pytest.mark.parametrize("profile", ["prod", "dev", "", "PRODUCTION", "test"])
def test_unknown_profile(profile):
    assert_config_error(production(profile=profile), "IDBB_PROFILE")


@pytest.mark.parametrize(
    "issuer",
    [
        HTTPS_ISSUER + "/",  # trailing slash
        HTTPS_ISSUER + "/realm/",
        HTTPS_ISSUER + "?tenant=a",  # query
        HTTPS_ISSUER + "#frag",
        "ftp://idbb.example.gov",
        "idbb.example.gov",
        "https://",
        "",
    ],
)
def test_malformed_issuer(issuer):
    assert_config_error(production(issuer=issuer), "IDBB_ISSUER")


def test_issuer_with_trailing_slash_refused_in_development_too():
    assert_config_error(Settings(profile="development", issuer="http://127.0.0.1:8080/"), "IDBB_ISSUER")


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_kek_must_be_32_bytes(length):
    assert_config_error(production(kek=kek_text(length) if length else "AAAA"), "IDBB_KEK")


def test_kek_of_wrong_length_refused_in_development_too():
    assert_config_error(Settings(profile="development", kek=kek_text(16)), "IDBB_KEK")


def test_key_retention_shorter_than_access_token_ttl():
    error = assert_config_error(production(access_token_ttl=600, key_retention=599), "IDBB_KEY_RETENTION")
    assert "IDBB_ACCESS_TOKEN_TTL" in str(error)
    production(access_token_ttl=600, key_retention=600).validate()  # equal is enough


@pytest.mark.parametrize("name", ["access_token_ttl", "request_time_skew", "assertion_max_lifetime", "key_lifetime_days"])
@pytest.mark.parametrize("value", [0, -1])
def test_non_positive_durations(name, value):
    assert_config_error(production(**{name: value}), f"IDBB_{name.upper()}")


def test_nonexistent_openapi_dir(tmp_path):
    assert_config_error(production(openapi_dir=str(tmp_path / "no-such-dir")), "IDBB_OPENAPI_DIR")
    a_file = tmp_path / "spec.yaml"
    a_file.write_text("openapi: 3.0.3\n", encoding="utf-8")
    assert_config_error(production(openapi_dir=str(a_file)), "IDBB_OPENAPI_DIR")


def test_unreadable_kek_file(tmp_path):
    assert_config_error(production(kek=None, kek_file=str(tmp_path / "missing")), "IDBB_KEK_FILE")


# --- validate: accepted -----------------------------------------------------------------------


def test_development_without_kek_uses_the_demo_kek():
    settings = Settings(profile="development", issuer="http://127.0.0.1:8080")
    assert settings.validate() is settings
    assert settings.kek_bytes() == base64.urlsafe_b64decode(DEMO_KEK)
    assert len(settings.kek_bytes()) == 32


def test_production_with_https_issuer_and_random_kek():
    raw = os.urandom(32)
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")  # unpadded base64url is accepted
    settings = Settings(profile="production", issuer=HTTPS_ISSUER + "/idbb", kek=text)
    assert settings.validate() is settings
    assert settings.kek_bytes() == raw


def test_production_from_env_end_to_end(tmp_path):
    raw = os.urandom(32)
    path = tmp_path / "kek.txt"
    path.write_text(base64.urlsafe_b64encode(raw).decode("ascii") + "\n", encoding="utf-8")
    settings = Settings.from_env(
        {
            "IDBB_PROFILE": "production",
            "IDBB_ISSUER": HTTPS_ISSUER,
            "IDBB_KEK_FILE": str(path),
            "IDBB_OPENAPI_DIR": str(tmp_path),
        }
    )
    assert settings.kek_file == str(path)
    assert settings.validate() is settings
    assert settings.kek_bytes() == raw
