"""GovStack credential management (``openapi/credential-management.yaml``): thin handlers around
``app.services.credential_management``; answers in the GovStack envelope."""

from datetime import date
from typing import Any

from flask import Response

from app.services.credential_management import cards, events, identities, sharing
from app.services.envelope import response_time

JSON = {"Content-Type": "application/json"}


def _client(token_info: dict[str, Any]) -> str:
    return str(token_info.get("client_id", "unknown"))


def _envelope(body: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(body.get("id") or "govstack.credential-management"),
        "version": str(body.get("version") or "1.0"),
        "responsetime": response_time(),
        "metadata": None,
        "response": response,
        "errors": [],
    }


def block(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    request = body["request"]
    done = identities.block(str(request["id"]), reason=request.get("reason"), client_id=_client(token_info))
    return _envelope(body, done), 200, JSON


def unblock(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    request = body["request"]
    done = identities.unblock(str(request["id"]), reason=request.get("reason"), client_id=_client(token_info))
    return _envelope(body, done), 200, JSON


def update_identity(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    request = body["request"]
    done = identities.update_status(
        str(request["uin"]), str(request["status"]), reason=request.get("reason"), client_id=_client(token_info)
    )
    answer = _envelope(body, done)
    answer["metaData"] = answer.pop("metadata")
    return answer, 200, JSON


def read_event(eventId: str, language: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict]:
    found = events.read(eventId, client_id=_client(token_info))
    return (
        {"id": "govstack.event", "version": "1.0", "response": found, "requestTime": response_time(), "errors": []},
        200,
        JSON,
    )


def service_history(
    langCode: str,
    fromDate: date | str,
    token_info: dict[str, Any],
    toDate: date | str | None = None,
    pageFetch: int = 10,
    pageStart: int = 0,
    searchText: str | None = None,
    serviceType: str = "ALL",
    sortType: str = "ASC",
    statusFilter: str | None = None,
) -> tuple[dict[str, Any], int, dict]:
    page = events.history(
        client_id=_client(token_info),
        from_date=str(fromDate),
        to_date=str(toDate) if toDate else None,
        page_start=pageStart,
        page_fetch=pageFetch,
        search_text=searchText,
        service_type=serviceType,
        sort_type=sortType,
        status_filter=statusFilter,
    )
    return (
        {
            "id": "govstack.service.history",
            "version": "1.0",
            "response": page,
            "responseTime": response_time(),
            "errors": [],
        },
        200,
        JSON,
    )


def share_credential(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict]:
    done = sharing.share(body["request"], client_id=_client(token_info))
    return _envelope(body, done), 200, {**JSON, "eventId": done["eventId"]}


def download_card(body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    pdf, event_id = cards.download(str(body["request"]["individualId"]), client_id=_client(token_info))
    return Response(
        pdf,
        status=200,
        content_type="application/pdf",
        headers={"eventId": event_id, "Cache-Control": "no-store", "Content-Disposition": "attachment; filename=card.pdf"},
    )
