"""Fixtures of the lifecycle flows: a backend with the issuance scopes, a wallet and an enrolled citizen."""

from collections.abc import Iterator
from typing import Any

import pytest

from app.clock import clock
from tests.flows.issuance_helpers import Backend, Wallet
from tests.flows.oidc_helpers import enroll_citizen


@pytest.fixture
def app(make_app: Any) -> Iterator[Any]:
    """Changes published on the next read (no batching window): these tests read the list right after a change.
    ``test_publication`` covers the window itself."""
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
