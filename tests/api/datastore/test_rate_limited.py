"""``RATE_LIMITED`` (seed 000 "Common Error Codes"): the datastore and identity-mapping API counts calls per
authenticated subject (``IDBB_DATASTORE_RATE_LIMIT`` per ``IDBB_DATASTORE_RATE_WINDOW``) and answers 429 with
``Retry-After`` in the seed's error body; another subject is not affected, and the next window serves again."""

from collections.abc import Callable
from typing import Any

import pytest

from app.clock import clock
from tests.api.datastore import seed
from tests.conftest import bearer

ALL = ("datastore.read", "datastore.write", "identity.read", "identity.write")


@pytest.fixture
def app(make_app: Any) -> Any:
    clock.reset()
    yield make_app(datastore_rate_limit=3, datastore_rate_window=60)
    clock.reset()


def test_rate_limited_per_subject(client: Any, api_client: Callable[..., Any]) -> None:
    hr = bearer(api_client(*ALL, client_id="hr-system").token())
    other = bearer(api_client(*ALL, client_id="uni-system").token())
    assert client.post("/api/v1/identity/mapping", json=seed.ALICE_MAPPING, headers=hr).status_code == 200
    # errors count too (an unknown document), and so does a bulk call (once)
    assert client.get("/api/v1/datastore/", params=seed.DIPLOMA_KEY, headers=hr).status_code == 404
    bulk = client.post("/api/v1/identity/mapping/bulk", json=seed.BULK_MAPPINGS, headers=hr)
    assert bulk.status_code == 200, bulk.text
    limited = client.post("/api/v1/identity/mapping/resolve", json=seed.ALICE_RESOLVE, headers=hr)
    assert limited.status_code == 429, limited.text
    retry = int(limited.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert limited.json() == {
        "error": {
            "code": "RATE_LIMITED",
            "message": "Too many requests: try again after the number of seconds in Retry-After.",
            "details": {"retry_after": retry},
        }
    }
    # the refused call did nothing, whatever it was
    assert client.post("/api/v1/datastore/", json=seed.DIPLOMA, headers=hr).status_code == 429
    # another subject has its own count
    assert client.post("/api/v1/identity/mapping/resolve", json=seed.ALICE_RESOLVE, headers=other).status_code == 403
    clock.advance(retry)
    again = client.get("/api/v1/identity/mapping/search", params={"authentic_source": "hr.example.org"}, headers=hr)
    assert again.status_code == 200 and len(again.json()["mappings"]) == 3  # the refused upload stored nothing
    assert client.get("/api/v1/datastore/", params=seed.DIPLOMA_KEY, headers=hr).status_code == 404


def test_unauthenticated_calls_are_not_counted_for_a_subject(client: Any, api_client: Callable[..., Any]) -> None:
    hr = bearer(api_client(*ALL, client_id="hr-system").token())
    for _ in range(5):
        assert client.post("/api/v1/identity/mapping/resolve", json=seed.ALICE_RESOLVE).status_code == 401
    assert client.post("/api/v1/identity/mapping", json=seed.ALICE_MAPPING, headers=hr).status_code == 200
