"""OSIA CMS credentials: search, read, status changes, over ``app.services.lifecycle``.

OSIA v7.1 CMS 1.3 ``CredentialData.status`` onto draft-ietf-oauth-status-list-20 §7.1 values:

=========  ==========================  ===============================================================
OSIA       Token Status List           meaning here
=========  ==========================  ===============================================================
ACTIVE     0 VALID                     issued, usable
SUSPENDED  2 SUSPENDED                 suspended (OSIA active <-> suspended)
REVOKED    1 INVALID                   revoked, final (OSIA active or suspended -> revoked)
NEW        (no entry yet)              requested, not collected by the wallet (a PENDING request)
OTHER      0 or 2 past ``expiryDate``  ``statusOther: EXPIRED``: OSIA has no EXPIRED
=========  ==========================  ===============================================================

The ``{credentialId}`` of suspend/unsuspend/revoke is also the backend issue API's ``{revocationId}`` (issue 17):
a credential id first, else a revocation id. A caller holding only ``issuance.write`` reaches the credentials of
the issuances it started (least privilege, as ``/v1/issuance`` reads); any other id is the same 404.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models.cms import CredentialRequest
from app.models.issuance import Issuance
from app.services import lifecycle
from app.services.cms.errors import CredentialImmutable, InvalidCmsExpression, InvalidStatus
from app.services.transaction import atomic

ACTIVE, SUSPENDED, REVOKED, NEW, OTHER = "ACTIVE", "SUSPENDED", "REVOKED", "NEW", "OTHER"
OSIA_BY_LIST = {lifecycle.VALID: ACTIVE, lifecycle.SUSPENDED: SUSPENDED, lifecycle.INVALID: REVOKED}
LIST_BY_OSIA = {value: key for key, value in OSIA_BY_LIST.items()}
#: Expression attribute -> the operators it takes (OSIA CMS 1.3 findCredentials; an AND of the expressions).
SEARCH_OPERATORS = {
    "personId": ("=",),
    "credentialProfileId": ("=",),
    "status": ("=",),
    "credentialRequestId": ("=",),
    "issuedDate": (">", ">=", "<", "<="),
}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def osia_status(view: lifecycle.CredentialView, now: datetime | None = None) -> tuple[str, str | None]:
    """The OSIA status of a credential and, for OTHER, its ``statusOther``."""
    if view.status == lifecycle.INVALID:
        return REVOKED, None  # revoked is final and says more than expired
    if (now or clock.now()) >= view.expires_at:
        return OTHER, "EXPIRED"
    return OSIA_BY_LIST.get(view.status, OTHER), None


def credential_data(view: lifecycle.CredentialView) -> dict[str, Any]:
    """OSIA ``CredentialData`` of a credential (no claim value: the person is named by UIN only)."""
    status, other = osia_status(view)
    out: dict[str, Any] = {
        "credentialId": view.credential_id,
        "status": status,
        "personId": view.subject_uin or "",
        "credentialProfileId": view.configuration_id,
        "issuedDate": _iso(view.issued_at),
        "expiryDate": _iso(view.expires_at),
        "others": {
            "format": view.format,
            "statusListUri": view.status_list_uri,
            "statusListIndex": view.status_index,
            "statusLabel": view.status_label,
        },
    }
    if other is not None:
        out["statusOther"] = other
    return out


def resolve(credential_id: str, *, client_id: str, scopes: Sequence[str]) -> lifecycle.CredentialView:
    """The credential a path id names: a credentialId, else a revocationId (the backend issue API's id)."""
    try:
        view = lifecycle.get_credential(credential_id)
    except lifecycle.CredentialNotFound:
        view = lifecycle.get_by_revocation_id(credential_id)  # CredentialNotFound (404) when neither
    if "cms.credential.write" not in scopes and "cms.credential.read" not in scopes:
        owner = db.session.execute(
            select(Issuance.client_id).where(Issuance.issuance_id == view.issuance_id)
        ).scalar_one_or_none()
        if owner != client_id:  # least privilege: a backend reaches only what it issued; the same 404 otherwise
            raise lifecycle.CredentialNotFound()
    return view


def read(credential_id: str, *, client_id: str, scopes: Sequence[str]) -> dict[str, Any]:
    return credential_data(resolve(credential_id, client_id=client_id, scopes=scopes))


def read_status(credential_id: str, *, client_id: str, scopes: Sequence[str]) -> dict[str, Any]:
    status, other = osia_status(resolve(credential_id, client_id=client_id, scopes=scopes))
    return {"status": status, **({"statusOther": other} if other else {})}


def find(expressions: list[dict[str, Any]] | None, *, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """OSIA findCredentials: every expression must hold (``lifecycle.find_credentials`` criteria)."""
    criteria: dict[str, Any] = {}
    for expression in expressions or []:
        name, operator, value = expression["attributeName"], expression["operator"], expression["value"]
        if operator not in SEARCH_OPERATORS.get(name, ()):
            raise InvalidCmsExpression(
                "Credentials are searched by personId, credentialProfileId, "
                "status, credentialRequestId (=) and issuedDate (<, >)."
            )
        if not isinstance(value, str):
            raise InvalidCmsExpression(f"{name} is compared with a string.")
        if name == "personId":
            criteria["uin"] = value
        elif name == "credentialProfileId":
            criteria["configuration_id"] = value
        elif name == "status":
            if value == NEW:
                return []  # a credential not collected yet has no list entry: nothing to list
            if value not in LIST_BY_OSIA:
                raise InvalidCmsExpression("status is ACTIVE, SUSPENDED, REVOKED or NEW.")
            criteria["status"] = LIST_BY_OSIA[value]
        elif name == "credentialRequestId":
            request = db.session.get(CredentialRequest, value) if len(value) <= 128 else None
            if request is None or request.issuance_id is None:
                return []
            criteria["issuance_id"] = request.issuance_id
        else:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is None:
                raise InvalidCmsExpression("issuedDate is an RFC 3339 date-time.")
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            criteria["issued_after" if operator.startswith(">") else "issued_before"] = moment
    views = lifecycle.find_credentials(**criteria, limit=limit, offset=offset)
    return [credential_data(v) for v in views]


CHANGES: dict[str, Callable[..., list[lifecycle.CredentialView]]] = {
    "suspend": lifecycle.suspend,
    "unsuspend": lifecycle.unsuspend,
    "revoke": lifecycle.revoke,
}
#: setCredentialStatus: the OSIA status asked for -> the lifecycle move that reaches it.
MOVES = {SUSPENDED: "suspend", ACTIVE: "unsuspend", REVOKED: "revoke"}


def change(
    action: str, credential_id: str, *, reason: str | None, client_id: str, scopes: Sequence[str]
) -> lifecycle.CredentialView:
    """suspend / unsuspend / revoke one credential: one transaction (the lifecycle writes the list entry, the
    audit and outbox events); a move the lifecycle refuses is its ``StatusConflict`` (409)."""
    with atomic():
        view = resolve(credential_id, client_id=client_id, scopes=scopes)
        (changed,) = CHANGES[action]([view.credential_id], reason=reason, actor=client_id)
    return changed


def set_status(credential_id: str, body: dict[str, Any], *, client_id: str, scopes: Sequence[str]) -> None:
    """OSIA setCredentialStatus: ACTIVE, SUSPENDED or REVOKED; NEW and OTHER cannot be set (400)."""
    action = MOVES.get(str(body["status"]))
    if action is None:
        raise InvalidStatus("status can be set to ACTIVE, SUSPENDED or REVOKED.")
    reason = " - ".join(str(body[k]) for k in ("reason", "comment") if body.get(k)) or None
    change(action, credential_id, reason=reason, client_id=client_id, scopes=scopes)


def update(credential_id: str, body: dict[str, Any], *, client_id: str, scopes: Sequence[str]) -> None:
    """OSIA updateCredential (CMS 1.3): a signed credential's content cannot change after issuance; the same
    values are accepted (idempotent), anything else is refused (403): request a RENEWAL instead."""
    current = credential_data(resolve(credential_id, client_id=client_id, scopes=scopes))
    changed = [k for k, v in body.items() if k in current and current[k] != v or k not in current]
    if changed:
        raise CredentialImmutable()
