"""Lifecycle settings (issue 17) fail fast with the variable named."""

import pytest

from app.config import Settings
from tests.unit.test_config import assert_config_error, production


@pytest.mark.parametrize(
    "changes,name",
    [
        ({"status_publish_delay": -1}, "IDBB_STATUS_PUBLISH_DELAY"),
        ({"status_publish_delay": 300, "status_list_ttl": 300}, "IDBB_STATUS_PUBLISH_DELAY"),
        ({"lifecycle_bulk_threshold": 0}, "IDBB_LIFECYCLE_BULK_THRESHOLD"),
        ({"lifecycle_job_sweep": -1}, "IDBB_LIFECYCLE_JOB_SWEEP"),
        ({"renewal_old_credential": "revoke"}, "IDBB_RENEWAL_OLD_CREDENTIAL"),
        ({"registry_death_action": "delete"}, "IDBB_REGISTRY_DEATH_ACTION"),
        ({"registry_merge_action": "ignore"}, "IDBB_REGISTRY_MERGE_ACTION"),
    ],
)
def test_bad_lifecycle_settings_are_refused(changes, name):
    assert_config_error(production(**changes), name)


def test_lifecycle_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "IDBB_STATUS_PUBLISH_DELAY": "0.5",
            "IDBB_LIFECYCLE_BULK_THRESHOLD": "50",
            "IDBB_RENEWAL_OLD_CREDENTIAL": "revoke_on_accept",
            "IDBB_REGISTRY_DEATH_ACTION": "suspend",
            "IDBB_LIFECYCLE_JOB_SWEEP": "0",
        }
    )
    assert settings.lifecycle_job_sweep == 0 and Settings().lifecycle_job_sweep == 30
    assert (settings.status_publish_delay, settings.lifecycle_bulk_threshold) == (0.5, 50)
    assert (settings.renewal_old_credential, settings.registry_death_action) == ("revoke_on_accept", "suspend")
    production().validate()  # the defaults validate
