"""The events of the credential-management API: one per request, a random 16-digit id (the GovStack document:
"Randomly generated 16 digit number"), readable by the client that made it only."""

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from app.clock import clock
from app.errors import InvalidRequest, NotFound
from app.extensions import db
from app.models.cms import ServiceEvent

SERVICE_TYPES = {
    "block": "ID_MANAGEMENT_REQUEST",
    "unblock": "ID_MANAGEMENT_REQUEST",
    "update_identity": "DATA_UPDATE_REQUEST",
    "download_card": "SERVICE_REQUEST",
    "share_credential": "DATA_SHARE_REQUEST",
}
SUMMARIES = {
    "block": "Identity blocked: its credentials suspended",
    "unblock": "Identity unblocked",
    "update_identity": "UIN activation status changed",
    "download_card": "Personalized card downloaded",
    "share_credential": "Credential shared with a partner",
}


class EventNotFound(NotFound):
    code = "event_not_found"
    description = "No event has this id."


class InvalidDate(InvalidRequest):
    """400: a date query parameter that is not a calendar date (YYYY-MM-DD)."""

    code = "invalid_date"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(event_type: str, *, client_id: str, uin: str, status: str = "SUCCESS", info: dict[str, Any] | None = None) -> str:
    """Add the event to the caller's transaction; returns its id."""
    event_id = str(10**15 + secrets.randbelow(9 * 10**15))  # 16 digits, no leading zero
    db.session.add(
        ServiceEvent(
            event_id=event_id,
            client_id=client_id,
            uin=uin,
            event_type=event_type,
            service_type=SERVICE_TYPES[event_type],
            status=status,
            info=dict(info or {}),
            created_at=clock.now(),
        )
    )
    return event_id


def read(event_id: str, *, client_id: str) -> dict[str, Any]:
    row = db.session.get(ServiceEvent, event_id)
    if row is None or row.client_id != client_id:  # another client's event is the same 404
        raise EventNotFound()
    return {
        "eventId": row.event_id,
        "eventType": row.event_type,
        "eventStatus": row.status,
        "individualId": row.uin,
        "summary": SUMMARIES[row.event_type],
        "timestamp": _timestamp(row.created_at),
        "info": dict(row.info or {}),
    }


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidDate(f"{name} is a calendar date, YYYY-MM-DD.") from None


def history(
    *,
    client_id: str,
    from_date: str,
    to_date: str | None,
    page_start: int,
    page_fetch: int,
    search_text: str | None,
    service_type: str,
    sort_type: str,
    status_filter: str | None,
) -> dict[str, Any]:
    start = datetime.combine(_date(from_date, "fromDate"), time.min, tzinfo=UTC)
    last = _date(to_date, "toDate") if to_date else clock.now().date()
    end = datetime.combine(last, time.min, tzinfo=UTC) + timedelta(days=1)
    conditions = [ServiceEvent.client_id == client_id, ServiceEvent.created_at >= start, ServiceEvent.created_at < end]
    if search_text:
        conditions.append(ServiceEvent.event_id.startswith(search_text, autoescape=True))
    if service_type != "ALL":
        conditions.append(ServiceEvent.service_type == service_type)
    statuses = [s.strip() for s in (status_filter or "").split(",") if s.strip() and s.strip() != "ALL"]
    if statuses:
        conditions.append(ServiceEvent.status.in_(statuses))
    total = db.session.execute(select(func.count()).select_from(ServiceEvent).where(*conditions)).scalar_one()
    order = ServiceEvent.created_at.desc() if sort_type == "DESC" else ServiceEvent.created_at.asc()
    rows = db.session.execute(
        select(ServiceEvent)
        .where(*conditions)
        .order_by(order, ServiceEvent.event_id)
        .offset(page_start * page_fetch)
        .limit(page_fetch)
    ).scalars()
    data = [
        {
            "eventId": r.event_id,
            "eventDescription": SUMMARIES[r.event_type],
            "eventStatus": r.status,
            "timeStamp": _timestamp(r.created_at),
            "requestType": r.service_type,
        }
        for r in rows
    ]
    return {
        "pageNo": page_start,
        "pageSize": page_fetch,
        "totalItems": total,
        "totalPages": (total + page_fetch - 1) // page_fetch,
        "data": data,
    }
