"""Fixtures shared by the flow tests: a relying party registered over HTTP, an enrolled citizen, and for the
issuance flows a back office and a wallet."""

from typing import Any

import pytest

from tests.flows.issuance_helpers import Backend, Wallet
from tests.flows.oidc_helpers import Citizen, RelyingParty, enroll_citizen, register_rp


@pytest.fixture
def backend(api_client: Any, client: Any) -> Backend:
    """A back office holding the issuance scopes, calling ``/v1/issuance`` (issuance flow tests)."""
    return Backend(client, api_client("issuance.write", "issuance.read").token())


@pytest.fixture
def wallet(client: Any) -> Wallet:
    """A wallet speaking OpenID4VCI 1.0 over plain HTTP."""
    return Wallet(client)


@pytest.fixture
def rp(client: Any, admin_token: str) -> RelyingParty:
    """A relying party registered for PIN login (idbb:acr:static-code) with profile claims and email."""
    return register_rp(client, admin_token)


@pytest.fixture
def citizen(app: Any) -> Citizen:
    return enroll_citizen(app)
