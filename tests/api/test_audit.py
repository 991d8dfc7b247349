"""The audit trail: hash-chained, tamper-evident, no personal data."""

import os
import threading
import time
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, text, update

from app.cli import main as cli
from app.clock import clock
from app.extensions import db
from app.models.audit import AuditEvent, AuditPending
from app.services import audit
from tests.conftest import seal_audit


def run_concurrently(work: Callable[[int], None], threads: int) -> list[BaseException]:
    """Run ``work(0)``, ``work(1)``, … in as many threads at once; returns what they raised."""
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    started = [threading.Thread(target=guarded, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors


def committed(*actions: str) -> list[AuditEvent]:
    """Commit, chain what is pending, and read back the events of ``actions`` in chain order."""
    db.session.commit()
    seal_audit()
    return list(
        db.session.execute(select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.seq)).scalars()
    )


def test_events_chain_and_verify(app):
    with app.app.app_context():
        audit.record("test.one", actor="tester", target="t1")
        audit.record("test.two", actor="tester", target="t2", outcome="failure")
        first, second = committed("test.one", "test.two")
        assert second.prev_hash == first.hash and second.seq == first.seq + 1
        report = audit.verify()
    assert report.ok
    assert report.events >= 2  # key creation at start-up is audited too


def test_edited_event_is_named_as_the_first_broken_link(app):
    with app.app.app_context():
        audit.record("test.one", actor="tester")
        audit.record("test.two", actor="tester", details={"scopes": ["a"]})
        audit.record("test.three", actor="tester")
        victim_seq = committed("test.one", "test.two", "test.three")[1].seq
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == victim_seq).values(details={"scopes": ["a", "admin"]}))
        db.session.commit()
        report = audit.verify()
    assert not report.ok
    assert report.first_broken_seq == victim_seq
    assert "content" in (report.reason or "")


def test_deleted_event_breaks_the_link_of_the_next(app):
    with app.app.app_context():
        audit.record("test.one", actor="tester")
        audit.record("test.two", actor="tester")
        audit.record("test.three", actor="tester")
        _, gone, after = committed("test.one", "test.two", "test.three")
        after_seq, gone_seq = after.seq, gone.seq
        db.session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": gone_seq})
        db.session.commit()
        report = audit.verify()
    assert not report.ok and report.first_broken_seq == after_seq


def test_a_rolled_back_use_case_leaves_no_event(app):
    with app.app.app_context():
        audit.record("test.rolled_back", actor="tester")
        db.session.rollback()
        audit.record("test.kept", actor="tester")
        assert [e.action for e in committed("test.rolled_back", "test.kept")] == ["test.kept"]


@pytest.mark.postgres
def test_postgresql_events_wait_in_the_queue_and_the_sealer_chains_them(app):
    """No lock in the request: the COMMIT queues the events and nudges this worker's sealer thread."""
    with app.app.app_context():
        for n in range(5):
            audit.record("test.queued", actor="tester", target=str(n))
        db.session.commit()
        deadline = time.monotonic() + 10
        while audit.pending_count(db.session()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert audit.pending_count(db.session()) == 0
        rows = (
            db.session.execute(select(AuditEvent).where(AuditEvent.action == "test.queued").order_by(AuditEvent.seq))
            .scalars()
            .all()
        )
        assert [r.target for r in rows] == ["0", "1", "2", "3", "4"]  # commit order kept within a use case
        assert audit.verify().ok


@pytest.mark.postgres
def test_postgresql_two_sealers_at_once_chain_each_event_once(app):
    with app.app.app_context():
        audit.stop_all()
        db.session.execute(
            insert(AuditPending),
            [
                {
                    "at": clock.now(),
                    "actor": "tester",
                    "action": "test.race",
                    "target": str(n),
                    "outcome": "success",
                    "details": {},
                }
                for n in range(400)
            ],
        )
        db.session.commit()

    def sealer(_: int) -> None:
        with app.app.app_context():
            while audit.seal_pending(db.session(), batch=25, wait=False) or audit.pending_count(db.session()):
                pass

    assert run_concurrently(sealer, 3) == []
    with app.app.app_context():
        targets = db.session.execute(select(AuditEvent.target).where(AuditEvent.action == "test.race")).scalars().all()
        assert sorted(targets, key=int) == [str(n) for n in range(400)]
        assert audit.verify().ok


@pytest.mark.postgres
def test_postgresql_events_recorded_before_a_savepoint_are_sealed_after_the_commit(app):
    """SQLAlchemy fires the commit hooks when a SAVEPOINT is released: the nudge must wait for the COMMIT."""
    with app.app.app_context():
        audit.record("test.before_savepoint", actor="tester")
        with db.session.begin_nested():
            db.session.execute(text("SELECT 1"))
        db.session.commit()
        assert wait_until_sealed() == 0
        assert db.session.execute(select(AuditEvent.action).where(AuditEvent.action == "test.before_savepoint")).scalar_one()


@pytest.mark.postgres
def test_postgresql_a_sealer_that_finds_the_head_locked_tries_again(app):
    """Another sealer (here: a transaction holding the head row) may have read the queue before our COMMIT."""
    with app.app.app_context():
        audit.record("test.warm", actor="tester")
        db.session.commit()
        assert wait_until_sealed() == 0
        holder = db.engine.connect()
        holder.execute(text("SELECT id FROM audit_head WHERE id = 1 FOR UPDATE"))
        try:
            audit.record("test.behind_a_lock", actor="tester")
            db.session.commit()
            time.sleep(0.3)
            assert audit.pending_count(db.session()) == 1  # the sealer stepped back
        finally:
            holder.rollback()
            holder.close()
        assert wait_until_sealed() == 0  # and came back on its own
        assert audit.verify().ok


def test_details_that_cannot_be_chained_fail_the_use_case(app):
    with app.app.app_context():
        audit.record("test.unchainable", actor="tester", details={"n": 2**60})  # beyond RFC 8785's integers
        with pytest.raises(Exception):  # noqa: B017 - canonical JSON's own error type
            db.session.commit()
        db.session.rollback()
        assert committed("test.unchainable") == []


def wait_until_sealed(seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while audit.pending_count(db.session()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return audit.pending_count(db.session())


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
    def writer(n: int) -> None:
        with app.app.app_context():
            for i in range(10):
                audit.record("test.concurrent", actor=f"w{n}", target=str(i))
                db.session.commit()

    assert run_concurrently(writer, 4) == []
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


def test_a_nudge_restarts_a_sealer_whose_thread_died_while_nudged(app):
    """The nudge's shortcut (already nudged: nothing to do) must not trust a dead thread."""
    with app.app.app_context():
        sealer = audit.Sealer(app.app)
        dead = threading.Thread(target=lambda: None)
        dead.start()
        dead.join()
        sealer._thread, sealer._pid = dead, os.getpid()
        sealer._wake.set()
        sealer.nudge()
        try:
            assert sealer._thread is not dead and sealer._thread.is_alive()
        finally:
            sealer.stop()
