"""Deleting the newest audit events is detected (review finding R3 of issue 2)."""

from sqlalchemy import select, text

from tests.conftest import seal_audit

# --- R3: deleting the newest audit events is not detected -----------------------------------------------------------


def test_r3_audit_verify_detects_a_truncated_tail(app, api_client):
    from app.extensions import db
    from app.models.audit import AuditEvent
    from app.services import audit

    api_client("read_oidc_client").token()  # appends api_client.created and token.issued
    with app.app.app_context():
        seal_audit()
        last = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert last.action == "token.issued"
        db.session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last.seq})
        db.session.commit()
        report = audit.verify()
    assert not report.ok  # today: ok=True, the issued token has vanished from the trail
