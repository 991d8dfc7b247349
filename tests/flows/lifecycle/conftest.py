"""Fixtures of the lifecycle flows: a backend with the issuance scopes, a wallet and an enrolled citizen."""

from typing import Any

import pytest

from tests.flows.issuance_helpers import Backend, Wallet
from tests.flows.oidc_helpers import enroll_citizen


@pytest.fixture
def backend(api_client: Any, client: Any) -> Backend:
    return Backend(client, api_client("issuance.write", "issuance.read").token())


@pytest.fixture
def citizen(app: Any) -> Any:
    return enroll_citizen(app)


@pytest.fixture
def wallet(client: Any) -> Wallet:
    return Wallet(client)
