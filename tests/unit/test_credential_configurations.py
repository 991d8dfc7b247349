"""Credential configurations are YAML data validated at start-up: the shipped ones load, bad ones stop idbb with
the file's name (issue 16)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from app.config import ConfigError, Settings
from app.services.issuance.configurations import load

SHIPPED = Path(Settings().credential_config_dir)


def test_shipped_configurations_load_in_1_0_shapes():
    configs = load(str(SHIPPED))
    assert set(configs) == {
        "eu.europa.ec.eudi.pid_vc_sd_jwt",
        "eu.europa.ec.eudi.pid_mdoc",
        "NationalIdCredential_jwt_vc_json",
        "diploma",
    }
    mdoc = configs["eu.europa.ec.eudi.pid_mdoc"].metadata()
    assert mdoc["doctype"] == "eu.europa.ec.eudi.pid.1" and mdoc["credential_signing_alg_values_supported"] == [-7]
    assert all(c["path"][0] == "eu.europa.ec.eudi.pid.1" for c in mdoc["credential_metadata"]["claims"])


def test_values_from_the_registry_with_computed_ones():
    config = load(str(SHIPPED))["eu.europa.ec.eudi.pid_mdoc"]
    values = config.values(
        {"firstName": "Ama", "lastName": "Mensah", "dateOfBirth": "2010-06-01", "uin": "42"},
        None,
        now=datetime(2026, 12, 1, tzinfo=UTC),
        issuing_country="GH",
        issuing_authority="NIA",
    )
    ns = "eu.europa.ec.eudi.pid.1"
    assert values[(ns, "age_over_18")] is False and values[(ns, "issuing_country")] == "GH"
    assert str(values[(ns, "birth_date")]) == "2010-06-01" and str(values[(ns, "expiry_date")]) == "2027-12-01"
    with pytest.raises(KeyError, match="family_name"):  # the path of the missing claim, never a value
        config.values(
            {"firstName": "Ama"}, None, now=datetime(2026, 12, 1, tzinfo=UTC), issuing_country="GH", issuing_authority="NIA"
        )


def _write(folder: Path, name: str, data: object) -> None:
    (folder / name).write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")


GOOD = {
    "id": "x",
    "format": "dc+sd-jwt",
    "vct": "urn:x",
    "display": [{"name": "X", "locale": "en"}],
    "claims": [{"path": ["a"], "source": "firstName", "display": [{"name": "A", "locale": "en"}]}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "ldp_vc"}, "format must be one of"),
        ({"vct": None}, "needs vct"),
        ({"surprise": 1}, "unknown member"),
        ({"claims": [{"path": ["a"], "display": [{"name": "A", "locale": "en"}]}]}, "exactly one of source or computed"),
        ({"claims": [{"path": "a", "source": "x", "display": [{"name": "A", "locale": "en"}]}]}, "path must be"),
        ({"proof_signing_alg_values_supported": ["none"]}, "may only hold"),
        ({"display": []}, "display must be"),
        ({"validity_days": 0}, "validity_days"),
    ],
)
def test_bad_configurations_are_refused_naming_the_file(tmp_path, change, message):
    _write(tmp_path, "bad.yaml", {**GOOD, **change})
    with pytest.raises(ConfigError, match=message) as caught:
        load(str(tmp_path))
    assert "bad.yaml" in str(caught.value)


def test_duplicates_empty_folders_and_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="holds no"):
        load(str(tmp_path))
    _write(tmp_path, "a.yaml", GOOD)
    _write(tmp_path, "b.yaml", GOOD)
    with pytest.raises(ConfigError, match="defined twice"):
        load(str(tmp_path))
    (tmp_path / "b.yaml").unlink()
    _write(tmp_path, "c.yaml", "id: [unclosed")
    with pytest.raises(ConfigError, match="c.yaml"):
        load(str(tmp_path))


def test_settings_refuse_a_missing_folder_and_bad_status_list_sizes(tmp_path):
    base = Settings(profile="development")
    with pytest.raises(ConfigError, match="IDBB_CREDENTIAL_CONFIG_DIR"):
        base.with_(credential_config_dir=str(tmp_path / "nope")).validate()
    with pytest.raises(ConfigError, match="IDBB_STATUS_LIST_SIZE"):
        base.with_(status_list_size=10).validate()
    with pytest.raises(ConfigError, match="IDBB_STATUS_LIST_TTL"):
        base.with_(status_list_ttl=90000).validate()
    with pytest.raises(ConfigError, match="IDBB_MDOC_COUNTRY"):
        base.with_(mdoc_country="zz").validate()
