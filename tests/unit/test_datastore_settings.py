"""The datastore API's settings (issue 18): exactly one authentication mode, what each needs, rules from the
setting and a rules file, and HTTP Basic never in production."""

import base64
import os
from pathlib import Path

import pytest

from app.config import ConfigError, Settings

KEK = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def settings(**changes: object) -> Settings:
    return Settings(profile="production", issuer="https://idbb.test", kek=KEK, **changes)  # type: ignore[arg-type]


def test_modes_and_what_they_need() -> None:
    settings().validate()
    with pytest.raises(ConfigError, match="IDBB_DATASTORE_AUTH must be one of"):
        settings(datastore_auth="both").validate()
    with pytest.raises(ConfigError, match="JWKS_URL"):
        settings(datastore_auth="jwks", datastore_token_audience="a").validate()
    with pytest.raises(ConfigError, match="AUDIENCE"):
        settings(datastore_auth="oidc", datastore_oidc_issuer="https://as.example").validate()
    with pytest.raises(ConfigError, match="https"):
        settings(
            datastore_auth="jwks",
            datastore_jwks_url="http://as.example/jwks",
            datastore_token_issuer="i",
            datastore_token_audience="a",
        ).validate()
    settings(
        datastore_auth="jwks",
        datastore_jwks_url="http://127.0.0.1:9/jwks",
        datastore_token_issuer="i",
        datastore_token_audience="a",
    ).validate()  # loopback may be http
    with pytest.raises(ConfigError, match="basic"):
        settings(datastore_auth="basic").validate()


def test_rules_from_the_setting_and_a_file(tmp_path: Path) -> None:
    path = tmp_path / "spocp-rules.txt"
    path.write_text(
        "# HR\n(vc (service apigw)(method DELETE)(path /api/v1/datastore)(subject hr-admin)"
        "(authentic_source *)(scope *))\n\n",
        encoding="utf-8",
    )
    made = settings(datastore_rules="(vc (service apigw)(method GET))", datastore_rules_file=str(path)).validate()
    assert len(made.datastore_rule_list()) == 2
    with pytest.raises(ConfigError, match="rule 1"):
        settings(datastore_rules="(vc (method GET)").validate()
    with pytest.raises(ConfigError, match="cannot be read"):
        settings(datastore_rules_file=str(tmp_path / "missing.txt")).validate()
