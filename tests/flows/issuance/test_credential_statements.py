"""What one credential request asks of PostgreSQL (the issuer's hot path, issue 16's benchmark target).

The issuance is locked with one ``SELECT … FOR UPDATE``; the row, its new credentials, the ``credential.issued``
outbox event and the audit event are written by one statement (data-modifying CTEs).
Counted with SQLAlchemy's ``before_cursor_execute`` on the engine, so a change that adds a round trip shows here.
"""

from typing import Any

import pytest
from sqlalchemy import event

from tests.flows.issuance_helpers import SD_JWT_PID, Backend, HolderKey, Wallet, code_of
from tests.flows.oidc_helpers import enroll_citizen

pytestmark = pytest.mark.postgres


def test_a_credential_request_is_one_lock_and_one_write(make_app, api_client):
    cx = make_app()
    http = cx.test_client(base_url="https://idbb.test")
    backend = Backend(http, api_client("issuance.write", "issuance.read").token())
    citizen = enroll_citizen(cx)
    wallet = Wallet(http)
    tokens = []
    for _ in range(2):
        created = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin})
        tokens.append((created, wallet.token(code_of(wallet.offer(created["offerUri"])))))
    warm_up = wallet.credential(tokens[0][1], [HolderKey()])  # key caches, the status-index reservation
    assert warm_up.status_code == 200, warm_up.text
    created, token = tokens[1]
    nonce = wallet.c_nonce()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    with cx.app.app_context():
        from app.extensions import db

        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        ident = token["authorization_details"][0]["credential_identifiers"][0]
        body = {"credential_identifier": ident, "proofs": {"jwt": [HolderKey().proof(nonce), HolderKey().proof(nonce)]}}
        answer = wallet.credential_response(token, body)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["credentials"]) == 2
    issuance = [s for s in statements if "issuances" in s and "status_entries" not in s]
    assert len(issuance) == 2, issuance
    assert issuance[0].startswith("SELECT") and issuance[0].endswith("FOR UPDATE")
    write = issuance[1]
    assert write.startswith("WITH issued AS (INSERT INTO issued_credentials")
    assert "announced AS (INSERT INTO outbox_events" in write and "UPDATE issuances SET" in write
    assert not [s for s in statements if s.startswith(("INSERT INTO issued_credentials", "INSERT INTO outbox_events"))]
    assert "audited AS (INSERT INTO audit_pending" in write  # the audit event travels with the write
    assert not [s for s in statements if s.startswith("INSERT INTO audit_pending")]
    record = backend.read(created["issuanceId"])
    assert record["state"] == "credential_issued" and len(record["credentials"]) == 2
    with cx.app.app_context():  # the event it carried is chained like any other, and the chain holds
        from sqlalchemy import select

        from app.models.audit import AuditEvent
        from app.services import audit
        from tests.conftest import seal_audit

        seal_audit()
        issued = db.session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "issuance.credential_issued", AuditEvent.target == created["issuanceId"]
            )
        ).scalar_one()
        assert issued.details["count"] == 2 and issued.hash
        assert audit.verify().ok
