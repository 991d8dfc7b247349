"""Two requests racing on PostgreSQL (separate sessions on threads, as two workers): the same new document
uploaded twice, the same document deleted twice, the same mapping created twice. One wins, the other gets the
seed's error code, never a 5xx, and nothing is half-written."""

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.datastore import seed
from tests.conftest import bearer

pytestmark = pytest.mark.postgres
ALL = ("datastore.read", "datastore.write", "identity.read", "identity.write")


def _race(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def test_racing_uploads_deletes_and_mappings(client: Any, api_client: Any) -> None:
    http = client
    auth = bearer(api_client(*ALL).token())  # (also builds the middleware stack before the threads start)
    for attempt in range(3):
        body = copy.deepcopy(seed.DIPLOMA)
        body["meta"]["document_id"] = f"race-{attempt}"
        answers = _race([lambda b=body: http.post("/api/v1/datastore/", json=b, headers=auth) for _ in range(4)])
        assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"DOCUMENT_EXISTS"}
        key = {**seed.DIPLOMA_KEY, "document_id": f"race-{attempt}"}
        deletes = _race([lambda k=key: http.request("DELETE", "/api/v1/datastore", json=k, headers=auth) for _ in range(4)])
        assert sorted(a.status_code for a in deletes) == [200, 409, 409, 409]
        assert {a.json()["error"]["code"] for a in deletes if a.status_code == 409} == {"ALREADY_REVOKED"}
    mapping = _race([lambda: http.post("/api/v1/identity/mapping", json=seed.ALICE_MAPPING, headers=auth) for _ in range(4)])
    assert sorted(a.status_code for a in mapping) == [200, 409, 409, 409]
    found = http.get("/api/v1/identity/mapping/search", params={"authentic_source": "hr.example.org"}, headers=auth).json()[
        "mappings"
    ]
    assert len(found) == 1
