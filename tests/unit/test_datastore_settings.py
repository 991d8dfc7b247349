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


def test_offer_wallets_default_json_and_yaml_file(tmp_path: Path) -> None:
    assert settings().validate().offer_wallet_map() == {
        "native": {"label": "Wallet app", "redirect_uri": "openid-credential-offer://"}
    }
    given = '{"web": {"label": "Web wallet", "redirect_uri": "https://wallet.example/cb"}}'
    assert settings(offer_wallets=given).validate().offer_wallet_map() == {
        "web": {"label": "Web wallet", "redirect_uri": "https://wallet.example/cb"}
    }
    path = tmp_path / "wallets.yaml"
    path.write_text(
        "native:\n  label: App\n  redirect_uri: 'haip://'\nweb:\n  label: Web\n  redirect_uri: https://w.example/\n"
    )
    assert sorted(settings(offer_wallets=str(path)).validate().offer_wallet_map()) == ["native", "web"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/file.yaml", "neither JSON nor a readable YAML file"),
        ("{}", "at least one wallet"),
        ('{"a b": {"label": "x", "redirect_uri": "https://w.example"}}', "a wallet id is"),
        ('{"w": {"label": "x", "redirect_uri": "https://w.example", "extra": 1}}', "must be {label, redirect_uri}"),
        ('{"w": {"label": "", "redirect_uri": "https://w.example"}}', "needs a label"),
        ('{"w": {"label": "x", "redirect_uri": "wallet.example/cb"}}', "needs a label and an absolute"),
        ('{"w": {"label": "x", "redirect_uri": "https://w.example/cb?x=1"}}', "query/fragment"),
        ('{"w": {"label": "x", "redirect_uri": "javascript://alert(1)"}}', "scheme is not allowed"),
        ('{"w": {"label": "x", "redirect_uri": "http://w.example/cb"}}', "plain http in production"),
    ],
)
def test_offer_wallets_refused_at_start(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}").replace("?", r"\?")):
        settings(offer_wallets=value).validate()


def test_datastore_rate_limit_settings() -> None:
    assert settings(datastore_rate_limit=0).validate().datastore_rate_limit == 0  # 0: off
    with pytest.raises(ConfigError, match="IDBB_DATASTORE_RATE_LIMIT"):
        settings(datastore_rate_limit=-1).validate()
    with pytest.raises(ConfigError, match="IDBB_DATASTORE_RATE_WINDOW"):
        settings(datastore_rate_window=0).validate()
