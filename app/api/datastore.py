"""The datastore and identity-mapping API (``openapi/datastore.yaml``, seed 000): thin handlers.

Each handler checks the SPOCP-style rules with the request's method and path, the caller's subject and the
body's authentic source and scope, then calls one use case of :mod:`app.services.datastore`.
"""

from typing import Any

from flask import request

from app.services.datastore import access, documents, mappings

JSON = {"Content-Type": "application/json"}
Answer = tuple[dict[str, Any], int, dict[str, str]]


def _allow(token_info: dict[str, Any], source: Any, scope: Any = None, *, count: bool = True) -> str:
    subject = str(token_info.get("sub") or "")
    if count:  # one count per request, before the rules (RATE_LIMITED, seed 000)
        access.throttle(f"{token_info.get('mode')}:{subject}")
    access.authorize(
        subject,
        method=request.method,
        path=request.path,
        authentic_source=None if source is None else str(source),
        scope=None if scope is None else str(scope),
    )
    return f"{token_info.get('mode')}:{subject}"


def _bulk_sources(entries: dict[str, Any], token_info: dict[str, Any]) -> str:
    """Every (authentic_source, scope) of a bulk call must be allowed (one rule check per distinct pair)."""
    actor = ""
    pairs = {(str(e.get("meta", e).get("authentic_source")), e.get("meta", {}).get("scope")) for e in entries.values()}
    for n, (source, scope) in enumerate(sorted(pairs, key=str) or [(None, None)]):  # type: ignore[list-item]  # the (None, None) sentinel checks an empty bulk call once, as before
        actor = _allow(token_info, source, scope, count=n == 0)
    return actor


def upload(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    meta = body["meta"]
    return documents.upload(body, actor=_allow(token_info, meta["authentic_source"], meta["scope"])), 200, JSON


def upload_bulk(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return documents.upload_bulk(body["documents"], actor=_bulk_sources(body["documents"], token_info)), 200, JSON


def get_by_query(authentic_source: str, scope: str, document_id: str, token_info: dict[str, Any]) -> Answer:
    key = {"authentic_source": authentic_source, "scope": scope, "document_id": document_id}
    return documents.get(key, actor=_allow(token_info, authentic_source, scope)), 200, JSON


def get_by_body(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return documents.get(body, actor=_allow(token_info, body["authentic_source"], body["scope"])), 200, JSON


def replace(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    meta = body["meta"]
    return documents.replace(body, actor=_allow(token_info, meta["authentic_source"], meta["scope"])), 200, JSON


def delete(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return documents.remove(body, actor=_allow(token_info, body["authentic_source"], body["scope"])), 200, JSON


def list_documents(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    actor = _allow(token_info, body["authentic_source"], body.get("scope"))
    return documents.list_for(body, actor=actor), 200, JSON


def resolve_documents(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    actor = _allow(token_info, body["authentic_source"], body.get("scope"))
    return documents.resolve(body, actor=actor), 200, JSON


def search_documents(
    authentic_source: str, token_info: dict[str, Any], scope: str | None = None, search: str | None = None, limit: int = 50
) -> Answer:
    actor = _allow(token_info, authentic_source, scope)
    return documents.search(authentic_source=authentic_source, scope=scope, text=search, limit=limit, actor=actor), 200, JSON


def add_identities(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    actor = _allow(token_info, body["authentic_source"], body["scope"])
    return documents.change_identities(body, add=True, actor=actor), 200, JSON


def remove_identities(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    actor = _allow(token_info, body["authentic_source"], body["scope"])
    return documents.change_identities(body, add=False, actor=actor), 200, JSON


def create_mapping(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return mappings.create(body, actor=_allow(token_info, body["authentic_source"])), 200, JSON


def create_mappings(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return mappings.create_bulk(body["mappings"], actor=_bulk_sources(body["mappings"], token_info)), 200, JSON


def resolve_mapping(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return mappings.resolve(body, actor=_allow(token_info, body["authentic_source"])), 200, JSON


def update_mapping(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return mappings.update(body, actor=_allow(token_info, body["authentic_source"])), 200, JSON


def delete_mapping(body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    return mappings.remove(body, actor=_allow(token_info, body["authentic_source"])), 200, JSON


def search_mappings(authentic_source: str, token_info: dict[str, Any], search: str | None = None, limit: int = 50) -> Answer:
    actor = _allow(token_info, authentic_source)
    return mappings.search(authentic_source=authentic_source, text=search, limit=limit, actor=actor), 200, JSON
