"""Fixtures: a CMS back office (OSIA scopes), an issuance backend, a wallet and an enrolled citizen."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.clock import clock
from tests.conftest import bearer
from tests.flows.issuance_helpers import Backend, Wallet
from tests.flows.oidc_helpers import enroll_citizen

CMS_SCOPES = ("cms.request.read", "cms.request.write", "cms.credential.read", "cms.credential.write", "cms.profile.read")


@dataclass
class Cms:
    http: Any
    token: str
    account: Any = None

    def renew(self) -> None:
        """A fresh token for the same client (after the test clock moved past the old one's expiry)."""
        self.token = self.account.token()

    def call(self, method: str, path: str, *, tx: bool = True, **kwargs: Any) -> Any:
        if tx:
            path += ("&" if "?" in path else "?") + f"transactionId=tx-{uuid.uuid4().hex[:8]}"
        return self.http.request(method, path, headers=bearer(self.token), **kwargs)


@pytest.fixture
def cms(api_client: Any, client: Any) -> Cms:
    account = api_client(*CMS_SCOPES)
    return Cms(client, account.token(), account)


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
