"""Fixtures: a back office with the credential-management scopes, an issuance backend, a wallet, a citizen."""

from collections.abc import Iterator
from typing import Any

import pytest

from app.clock import clock
from tests.flows.issuance_helpers import Backend, Wallet
from tests.flows.oidc_helpers import enroll_citizen

CM_SCOPES = ("credential.block", "identity.status.write", "credential.events.read", "credential.share", "credential.card")


@pytest.fixture
def office(api_client: Any) -> str:
    return str(api_client(*CM_SCOPES).token())


@pytest.fixture
def app(make_app: Any) -> Iterator[Any]:
    """Status changes published on the next read (no batching window): the tests read the list right after."""
    clock.reset()
    yield make_app(status_publish_delay=0)
    clock.reset()


@pytest.fixture
def backend(api_client: Any, client: Any) -> Backend:
    return Backend(client, api_client("issuance.write", "issuance.read").token())


@pytest.fixture
def citizen(app: Any) -> Any:
    return enroll_citizen(app)


@pytest.fixture
def wallet(client: Any) -> Wallet:
    return Wallet(client)
