"""The audit trail: hash-chained, tamper-evident, no personal data."""

import threading

from click.testing import CliRunner
from sqlalchemy import select, text, update

from app.cli import main as cli
from app.extensions import db
from app.models.audit import AuditEvent
from app.services import audit


def test_events_chain_and_verify(app):
    with app.app.app_context():
        first = audit.record("test.one", actor="tester", target="t1")
        second = audit.record("test.two", actor="tester", target="t2", outcome="failure")
        db.session.commit()
        assert second.prev_hash == first.hash
        report = audit.verify()
    assert report.ok
    assert report.events >= 2  # key creation at start-up is audited too


def test_edited_event_is_named_as_the_first_broken_link(app):
    with app.app.app_context():
        audit.record("test.one", actor="tester")
        victim = audit.record("test.two", actor="tester", details={"scopes": ["a"]})
        audit.record("test.three", actor="tester")
        db.session.commit()
        victim_seq = victim.seq
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == victim_seq)
                           .values(details={"scopes": ["a", "admin"]}))
        db.session.commit()
        report = audit.verify()
    assert not report.ok
    assert report.first_broken_seq == victim_seq
    assert "content" in (report.reason or "")


def test_deleted_event_breaks_the_link_of_the_next(app):
    with app.app.app_context():
        audit.record("test.one", actor="tester")
        gone = audit.record("test.two", actor="tester")
        after = audit.record("test.three", actor="tester")
        db.session.commit()
        after_seq = after.seq
        db.session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": gone.seq})
        db.session.commit()
        report = audit.verify()
    assert not report.ok and report.first_broken_seq == after_seq


def test_cli_audit_verify_exit_codes(app, settings, monkeypatch):
    monkeypatch.setenv("IDBB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IDBB_ISSUER", settings.issuer)
    monkeypatch.setenv("IDBB_KEK", settings.kek)
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    with app.app.app_context():
        seq = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().first()
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(actor="someone-else"))
        db.session.commit()
    broken = CliRunner().invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"seq={seq}" in broken.output


def test_concurrent_appends_never_fork_the_chain(app):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app.app_context():
                for i in range(10):
                    audit.record("test.concurrent", actor=f"w{n}", target=str(i))
                    db.session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app.app_context():
        report = audit.verify()
        count = db.session.query(AuditEvent).filter_by(action="test.concurrent").count()
    assert report.ok
    assert count == 40


def test_audit_rows_carry_no_secrets(app, api_client):
    caller = api_client("read_oidc_client")
    token = caller.token()
    with app.app.app_context():
        rows = db.session.execute(select(AuditEvent)).scalars().all()
    dumped = " ".join(f"{r.actor} {r.target} {r.details}" for r in rows)
    assert token not in dumped
    assert token.split(".")[2] not in dumped
