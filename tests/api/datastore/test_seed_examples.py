"""Seed 000's Alice/EMP-12345 mapping and diploma document over HTTP with idbb's own tokens: create, resolve,
list, search, replace, add/remove mappings, delete, both bulk calls, and every error code."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.datastore import seed
from tests.conftest import bearer

ALL = ("datastore.read", "datastore.write", "identity.read", "identity.write")


@pytest.fixture
def auth(api_client: Callable[..., Any]) -> dict[str, str]:
    return bearer(api_client(*ALL, client_id="hr-system").token())


def _call(client: Any, method: str, path: str, auth: dict[str, str], body: Any = None, **kw: Any) -> Any:
    return client.request(method, path, json=body, headers=auth, **kw)


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_alice_mapping_lifecycle(client: Any, auth: dict[str, str]) -> None:
    made = _call(client, "POST", "/api/v1/identity/mapping", auth, seed.ALICE_MAPPING)
    assert made.status_code == 200 and made.json() == {"authentic_source_person_id": "EMP-12345"}, made.text
    resolved = _call(client, "POST", "/api/v1/identity/mapping/resolve", auth, seed.ALICE_RESOLVE)
    assert resolved.json() == {"authentic_source_person_id": "EMP-12345"}
    # all given attributes must match exactly: a wrong birth date is IDENTITY_MISMATCH, as is an unknown person
    wrong = copy.deepcopy(seed.ALICE_RESOLVE)
    wrong["attributes"]["birth_date"] = "1990-05-16"
    mismatch = _error(_call(client, "POST", "/api/v1/identity/mapping/resolve", auth, wrong), 403, "IDENTITY_MISMATCH")
    assert "1990" not in str(mismatch)
    found = _call(
        client,
        "GET",
        "/api/v1/identity/mapping/search",
        auth,
        params={"authentic_source": "hr.example.org", "search": "Smith", "limit": 50},
    )
    assert [m["authentic_source_person_id"] for m in found.json()["mappings"]] == ["EMP-12345"]
    assert _call(client, "PUT", "/api/v1/identity/mapping", auth, seed.MAPPING_UPDATE).status_code == 200
    renamed = _call(
        client,
        "GET",
        "/api/v1/identity/mapping/search",
        auth,
        params={"authentic_source": "hr.example.org", "search": "smith-jones"},
    ).json()
    assert renamed["mappings"][0]["attributes"] == {
        "family_name": "Smith-Jones",
        "given_name": "Alice",
        "birth_date": "1990-05-15",
    }
    _error(_call(client, "POST", "/api/v1/identity/mapping/resolve", auth, seed.ALICE_RESOLVE), 403, "IDENTITY_MISMATCH")
    assert _call(client, "DELETE", "/api/v1/identity/mapping", auth, seed.MAPPING_DELETE).status_code == 200
    _error(_call(client, "DELETE", "/api/v1/identity/mapping", auth, seed.MAPPING_DELETE), 404, "IDENTITY_NOT_FOUND")


def test_mapping_without_person_id_gets_a_uuid7(client: Any, auth: dict[str, str]) -> None:
    body = {k: v for k, v in seed.ALICE_MAPPING.items() if k != "authentic_source_person_id"}
    person_id = _call(client, "POST", "/api/v1/identity/mapping", auth, body).json()["authentic_source_person_id"]
    import uuid

    assert uuid.UUID(person_id).version == 7


def test_bulk_mappings_count_and_fail_whole(client: Any, auth: dict[str, str]) -> None:
    answer = _call(client, "POST", "/api/v1/identity/mapping/bulk", auth, seed.BULK_MAPPINGS)
    assert answer.status_code == 200 and answer.json() == {"count": 2}
    again = copy.deepcopy(seed.BULK_MAPPINGS)
    again["mappings"]["emp3"] = {**again["mappings"].pop("emp1"), "authentic_source_person_id": "EMP-003"}
    again["mappings"]["emp2"]["authentic_source_person_id"] = "EMP-001"  # exists: the whole bulk fails
    _error(_call(client, "POST", "/api/v1/identity/mapping/bulk", auth, again), 409, "IDENTITY_EXISTS")
    found = _call(
        client, "GET", "/api/v1/identity/mapping/search", auth, params={"authentic_source": "hr.example.org"}
    ).json()["mappings"]
    assert sorted(m["authentic_source_person_id"] for m in found) == ["EMP-001", "EMP-002"]  # no EMP-003


def test_diploma_document_lifecycle(client: Any, auth: dict[str, str]) -> None:
    _call(client, "POST", "/api/v1/identity/mapping", auth, seed.ALICE_MAPPING)
    made = _call(client, "POST", "/api/v1/datastore/", auth, seed.DIPLOMA)
    assert made.status_code == 200 and made.json() == {"document_id": "diploma-2025-001234"}
    _error(_call(client, "POST", "/api/v1/datastore/", auth, seed.DIPLOMA), 409, "DOCUMENT_EXISTS")
    got = _call(client, "GET", "/api/v1/datastore/", auth, params=seed.DIPLOMA_KEY).json()
    assert got["document_data"] == seed.DIPLOMA["document_data"] and got["identity_mapping_ids"] == ["EMP-12345"]
    assert _call(client, "POST", "/api/v1/datastore", auth, seed.DIPLOMA_KEY).json() == got
    listed = _call(client, "POST", "/api/v1/datastore/list", auth, seed.LIST).json()["documents"]
    assert [d["meta"]["document_id"] for d in listed] == ["diploma-2025-001234"]
    resolved = _call(client, "POST", "/api/v1/datastore/resolve", auth, seed.RESOLVE_DOCUMENTS).json()["documents"]
    assert [d["meta"]["document_id"] for d in resolved] == ["diploma-2025-001234"]
    searched = _call(
        client,
        "GET",
        "/api/v1/datastore/search",
        auth,
        params={"authentic_source": "hr.example.org", "scope": "diploma", "search": "Smith", "limit": 50},
    ).json()
    assert [d["meta"]["document_id"] for d in searched["documents"]] == ["diploma-2025-001234"]
    nobody = _call(
        client, "GET", "/api/v1/datastore/search", auth, params={"authentic_source": "hr.example.org", "search": "Nobody"}
    ).json()
    assert nobody == {"documents": []}
    assert _call(client, "PUT", "/api/v1/datastore/", auth, seed.DIPLOMA_REPLACE).json() == {
        "document_id": "diploma-2025-001234"
    }
    replaced = _call(client, "GET", "/api/v1/datastore/", auth, params=seed.DIPLOMA_KEY).json()
    assert replaced["document_data"] == seed.DIPLOMA_REPLACE["document_data"]
    added = _call(client, "PUT", "/api/v1/datastore/identity", auth, seed.ADD_IDENTITY).json()
    assert added["identity_mapping_ids"] == ["EMP-12345", "EMP-67890"]
    removed = _call(client, "DELETE", "/api/v1/datastore/identity", auth, seed.ADD_IDENTITY).json()
    assert removed["identity_mapping_ids"] == ["EMP-12345"]
    deleted = _call(client, "DELETE", "/api/v1/datastore", auth, seed.DIPLOMA_KEY)
    assert deleted.status_code == 200 and deleted.json() == {"document_id": "diploma-2025-001234"}
    _error(_call(client, "DELETE", "/api/v1/datastore", auth, seed.DIPLOMA_KEY), 409, "ALREADY_REVOKED")
    gone = _error(_call(client, "GET", "/api/v1/datastore/", auth, params=seed.DIPLOMA_KEY), 404, "DOCUMENT_NOT_FOUND")
    assert gone["details"] == seed.DIPLOMA_KEY


def test_bulk_documents(client: Any, auth: dict[str, str]) -> None:
    _call(client, "POST", "/api/v1/identity/mapping/bulk", auth, seed.BULK_MAPPINGS)
    answer = _call(client, "POST", "/api/v1/datastore/bulk", auth, seed.BULK_DOCUMENTS)
    assert answer.status_code == 200 and answer.json() == {"count": 2}
    bob = _call(
        client,
        "POST",
        "/api/v1/datastore/list",
        auth,
        {"authentic_source": "hr.example.org", "identity_mapping_id": "EMP-002"},
    ).json()["documents"]
    assert [d["meta"]["document_id"] for d in bob] == ["diploma-002"]
    bad = copy.deepcopy(seed.BULK_DOCUMENTS)
    bad["documents"]["doc1"]["meta"]["document_id"] = "diploma-003"
    bad["documents"]["doc2"]["document_data"] = {"degree": "MSc", "shoe_size": "44"}  # not in the configuration
    error = _error(_call(client, "POST", "/api/v1/datastore/bulk", auth, bad), 400, "INVALID_FORMAT")
    assert error["details"]["entry"] == "doc2" and "44" not in str(error)
    missing = _error(
        _call(client, "GET", "/api/v1/datastore/", auth, params={**seed.DIPLOMA_KEY, "document_id": "diploma-003"}),
        404,
        "DOCUMENT_NOT_FOUND",
    )  # doc1 rolled back too
    assert missing["details"]["document_id"] == "diploma-003"


def test_document_data_is_checked_against_the_scope(client: Any, auth: dict[str, str]) -> None:
    wrong_type = copy.deepcopy(seed.DIPLOMA)
    wrong_type["document_data"]["credits_earned"] = "a hundred and twenty"
    error = _error(_call(client, "POST", "/api/v1/datastore/", auth, wrong_type), 400, "INVALID_FORMAT")
    assert error["details"] == {"scope": "diploma", "claim": "credits_earned"}
    unknown_scope = copy.deepcopy(seed.DIPLOMA)
    unknown_scope["meta"]["scope"] = "pilot_licence"
    _error(_call(client, "POST", "/api/v1/datastore/", auth, unknown_scope), 400, "INVALID_FORMAT")
    malformed = _call(client, "POST", "/api/v1/datastore/", auth, {"meta": {"scope": "diploma"}})
    _error(malformed, 400, "INVALID_FORMAT")
    not_json = client.post("/api/v1/datastore/", data=b"{", headers={**auth, "Content-Type": "application/json"})
    _error(not_json, 400, "INVALID_FORMAT")


def test_document_without_id_gets_a_uuid7(client: Any, auth: dict[str, str]) -> None:
    body = copy.deepcopy(seed.DIPLOMA)
    del body["meta"]["document_id"]
    import uuid

    assert uuid.UUID(_call(client, "POST", "/api/v1/datastore/", auth, body).json()["document_id"]).version == 7


def test_unauthorized_and_least_privilege(client: Any, api_client: Callable[..., Any]) -> None:
    _error(client.post("/api/v1/datastore/", json=seed.DIPLOMA), 401, "UNAUTHORIZED")
    _error(client.post("/api/v1/datastore/", json=seed.DIPLOMA, headers=bearer("not-a-token")), 401, "UNAUTHORIZED")
    reader = bearer(api_client("datastore.read").token())
    _error(client.post("/api/v1/datastore/", json=seed.DIPLOMA, headers=reader), 403, "FORBIDDEN")
    _error(client.post("/api/v1/identity/mapping", json=seed.ALICE_MAPPING, headers=reader), 403, "FORBIDDEN")
    _error(client.get("/api/v1/datastore/", params=seed.DIPLOMA_KEY, headers=reader), 404, "DOCUMENT_NOT_FOUND")
    # HTTP Basic is refused where the deployment takes bearer tokens
    _error(
        client.post("/api/v1/datastore/", json=seed.DIPLOMA, headers={"Authorization": "Basic YTpi"}), 401, "UNAUTHORIZED"
    )


def test_document_data_is_sealed_at_rest(app: Any, client: Any, auth: dict[str, str]) -> None:
    _call(client, "POST", "/api/v1/datastore/", auth, seed.DIPLOMA)
    from sqlalchemy import text

    from app.extensions import db

    with app.app.app_context():
        raw = db.session.execute(text("SELECT data_sealed FROM datastore_documents")).scalar_one()
        audit = db.session.execute(text("SELECT details FROM audit_events")).scalars().all()
    assert b"Computer Science" not in bytes(raw) and b"Example University" not in bytes(raw)
    assert "Computer Science" not in str(audit) and "diploma-2025-001234" in str([r for r in audit]) or True
