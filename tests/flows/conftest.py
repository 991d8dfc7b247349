"""Fixtures shared by the OIDC flow tests: a relying party registered over HTTP and an enrolled citizen."""

from typing import Any

import pytest

from tests.flows.oidc_helpers import Citizen, RelyingParty, enroll_citizen, register_rp


@pytest.fixture
def rp(client: Any, admin_token: str) -> RelyingParty:
    """A relying party registered for PIN login (idbb:acr:static-code) with profile claims and email."""
    return register_rp(client, admin_token)


@pytest.fixture
def citizen(app: Any) -> Citizen:
    return enroll_citizen(app)
