"""Reading credentials: one by its id or its revocation id, or a selection (by person, configuration, issuance,
status, issue time) as the search APIs and the bulk changes use it.

A credential's status is its status-list entry; its subject is the UIN of the issuance that made it (None for an
issuance with explicit claims).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models.issuance import Issuance, IssuedCredential
from app.models.lifecycle import RenewalMark
from app.models.status import StatusEntry
from app.services.lifecycle.states import CredentialNotFound, label
from app.services.status.allocation import list_uri

MAX_LIMIT = 1000
C, Iss, E = IssuedCredential, Issuance, StatusEntry


@dataclass(frozen=True)
class CredentialView:
    """What the lifecycle APIs report of one credential (never a claim value but the subject's UIN)."""

    credential_id: str
    revocation_id: str
    issuance_id: str
    configuration_id: str
    format: str
    subject_uin: str | None
    status: int
    status_label: str
    issued_at: datetime
    expires_at: datetime
    status_list_uri: str
    status_index: int
    status_list_id: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Selection:
    """Which credentials a search or a bulk change is about; every given criterion must hold."""

    credential_ids: tuple[str, ...] | None = None
    revocation_ids: tuple[str, ...] | None = None
    uin: str | None = None
    configuration_id: str | None = None
    issuance_id: str | None = None
    status: int | None = None
    issued_after: datetime | None = None
    issued_before: datetime | None = None
    client_id: str | None = None  # a backend's bulk change reaches only the issuances it started

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.credential_ids is not None:
            out.append(C.credential_id.in_(list(self.credential_ids)))
        if self.revocation_ids is not None:
            out.append(C.revocation_id.in_(list(self.revocation_ids)))
        if self.uin is not None:
            out.append(Iss.subject_uin == self.uin)
        if self.configuration_id is not None:
            out.append(C.configuration_id == self.configuration_id)
        if self.issuance_id is not None:
            out.append(C.issuance_id == self.issuance_id)
        if self.status is not None:
            out.append(E.status == self.status)
        if self.issued_after is not None:
            out.append(C.issued_at >= self.issued_after)
        if self.issued_before is not None:
            out.append(C.issued_at < self.issued_before)
        if self.client_id is not None:
            out.append(Iss.client_id == self.client_id)
        return out

    def empty(self) -> bool:
        return all(
            getattr(self, name) is None
            for name in ("credential_ids", "revocation_ids", "uin", "configuration_id", "issuance_id")
        )


COLUMNS = (
    C.credential_id,
    C.revocation_id,
    C.issuance_id,
    C.configuration_id,
    C.format,
    Iss.subject_uin,
    E.status,
    C.issued_at,
    C.expires_at,
    C.status_list_id,
    C.status_index,
)


def query(*conditions: ColumnElement[bool]) -> Select[Any]:
    return (
        select(*COLUMNS)
        .join(Iss, Iss.issuance_id == C.issuance_id)  # type: ignore[return-value]  # SQLAlchemy infers a typed row; the callers take any Select
        .join(E, and_(E.list_id == C.status_list_id, E.idx == C.status_index))
        .where(*conditions)
    )


def view_of(row: Sequence[Any], status: int | None = None) -> CredentialView:
    value = int(row[6] if status is None else status)
    return CredentialView(
        credential_id=row[0],
        revocation_id=row[1],
        issuance_id=row[2],
        configuration_id=row[3],
        format=row[4],
        subject_uin=row[5],
        status=value,
        status_label=label(value),
        issued_at=row[7],
        expires_at=row[8],
        status_list_uri=list_uri(row[9]),
        status_index=int(row[10]),
        status_list_id=row[9],
    )


def _one(condition: ColumnElement[bool]) -> CredentialView:
    row = db.session.execute(query(condition)).first()
    if row is None:
        raise CredentialNotFound()
    return view_of(row)


def get_credential(credential_id: str) -> CredentialView:
    """One credential by the id idbb gave it (``credentialId``)."""
    if not isinstance(credential_id, str) or len(credential_id) > 36:
        raise CredentialNotFound()
    return _one(C.credential_id == credential_id)


def get_by_revocation_id(revocation_id: str) -> CredentialView:
    """One credential by the ``revocationId`` the backend was handed (seed 003's ``revocation_uuid``)."""
    if not isinstance(revocation_id, str) or len(revocation_id) > 36:
        raise CredentialNotFound()
    return _one(C.revocation_id == revocation_id)


def find_credentials(
    *,
    uin: str | None = None,
    configuration_id: str | None = None,
    issuance_id: str | None = None,
    status: int | None = None,
    issued_after: datetime | None = None,
    issued_before: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    client_id: str | None = None,
) -> list[CredentialView]:
    """Credentials matching every criterion given, newest first (``limit`` at most 1,000)."""
    selection = Selection(
        uin=uin,
        configuration_id=configuration_id,
        issuance_id=issuance_id,
        status=status,
        issued_after=issued_after,
        issued_before=issued_before,
        client_id=client_id,
    )
    rows = db.session.execute(
        query(*selection.conditions())
        .order_by(C.issued_at.desc(), C.credential_id)
        .limit(max(0, min(limit, MAX_LIMIT)))
        .offset(max(0, offset))
    ).all()
    return [view_of(r) for r in rows]


def statuses(credential_ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """(status label, renewal due) of each credential, for the backend's ``GET /v1/issuance/{id}``."""
    ids = list(credential_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(C.credential_id, E.status)
        .join(E, and_(E.list_id == C.status_list_id, E.idx == C.status_index))
        .where(C.credential_id.in_(ids))
    ).all()
    due = set(db.session.execute(select(RenewalMark.credential_id).where(RenewalMark.credential_id.in_(ids))).scalars())
    return {row[0]: (label(int(row[1])), row[0] in due) for row in rows}
