"""Fixtures shared by the files of this package."""

import pytest

from tests.flows.oidc_helpers import RelyingParty, register_rp


@pytest.fixture
def dpop_rp(client, admin_token) -> RelyingParty:
    return register_rp(client, admin_token, additionalConfig={"dpop_bound_access_tokens": True})
