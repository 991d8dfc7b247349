"""The lifecycle service (issue 17) as C, B and the APIs call it: transitions, all-or-nothing calls, nesting in a
caller's transaction, audit and outbox events, blocks, and the entries as a verifier reads them from the list."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditEvent, AuditPending
from app.models.registry import OutboxEvent
from app.services import lifecycle
from app.services.outbox import LIFECYCLE_TOPICS
from app.services.transaction import atomic
from tests.conftest import seal_audit
from tests.flows.issuance_helpers import MDOC_PID, SD_JWT_PID, HolderKey, code_of
from tests.flows.lifecycle.helpers import issue, published_status


def _topics() -> list[str]:
    return list(db.session.execute(select(OutboxEvent.topic).order_by(OutboxEvent.id)).scalars())


def _audit_actions() -> list[str]:
    seal_audit()
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars()) + list(
        db.session.execute(select(AuditPending.action)).scalars()
    )


@pytest.mark.parametrize("config", [SD_JWT_PID, MDOC_PID])
def test_transitions_reach_the_published_list(app, client, backend, wallet, citizen, config):
    item = issue(backend, wallet, citizen.uin, config)
    assert published_status(client, item) == lifecycle.VALID
    with app.app.app_context():
        view = lifecycle.get_credential(item.credential_id)
        assert (view.status, view.status_label, view.subject_uin) == (0, "Operational", citizen.uin)
        assert lifecycle.get_by_revocation_id(item.revocation_id) == view
        assert (view.status_list_uri, view.status_index) == (item.uri, item.idx)
        [suspended] = lifecycle.suspend([item.credential_id], reason="lost phone", actor="ops")
        assert (suspended.status, suspended.status_label) == (2, "Suspended")
    assert published_status(client, item) == lifecycle.SUSPENDED
    with app.app.app_context():
        with pytest.raises(lifecycle.StatusConflict) as refused:
            lifecycle.suspend([item.credential_id], reason=None, actor="ops")
        assert refused.value.reason_code == "already_suspended" and refused.value.status == 409
        lifecycle.unsuspend([item.credential_id], reason="found", actor="ops")
    assert published_status(client, item) == lifecycle.VALID
    with app.app.app_context():
        with pytest.raises(lifecycle.StatusConflict) as refused:
            lifecycle.unsuspend([item.credential_id], reason=None, actor="ops")
        assert refused.value.reason_code == "not_suspended"
        [revoked] = lifecycle.revoke([item.credential_id], reason="stolen", actor="ops")
        assert revoked.status_label == "Revoked"
    assert published_status(client, item) == lifecycle.INVALID
    with app.app.app_context():
        for action in (lifecycle.unsuspend, lifecycle.suspend, lifecycle.revoke):
            with pytest.raises(lifecycle.StatusConflict) as refused:
                action([item.credential_id], reason=None, actor="ops")
            assert refused.value.reason_code == "already_revoked"
        assert lifecycle.get_credential(item.credential_id).status == lifecycle.INVALID
        assert _topics()[-3:] == ["credential.suspended", "credential.unsuspended", "credential.revoked"]
        actions = _audit_actions()
        assert [a for a in actions if a.startswith("credential.")][-3:] == [
            "credential.suspend",
            "credential.unsuspend",
            "credential.revoke",
        ]
    assert published_status(client, item) == lifecycle.INVALID


def test_a_call_changes_all_or_nothing(app, client, backend, wallet, citizen):
    first = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    second = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    with app.app.app_context():
        lifecycle.revoke([second.credential_id], reason=None, actor="ops")
        before = len(_topics())
        with pytest.raises(lifecycle.StatusConflict):
            lifecycle.suspend([first.credential_id, second.credential_id], reason=None, actor="ops")
        with pytest.raises(lifecycle.CredentialNotFound) as missing:
            lifecycle.revoke([first.credential_id, "no-such-credential"], reason=None, actor="ops")
        assert missing.value.code == "credential_not_found" and missing.value.status == 404
        with pytest.raises(lifecycle.CredentialNotFound):
            lifecycle.get_credential("no-such-credential")
        assert lifecycle.get_credential(first.credential_id).status == lifecycle.VALID
        assert len(_topics()) == before  # no event for what did not happen
    assert published_status(client, first) == lifecycle.VALID


def test_inside_a_callers_transaction_it_commits_and_rolls_back_with_it(app, client, backend, wallet, citizen):
    first = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    second = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    with app.app.app_context():
        with pytest.raises(RuntimeError):
            with atomic():
                lifecycle.suspend([first.credential_id], reason=None, actor="cms")
                raise RuntimeError("the caller's use case fails after the change")
        assert lifecycle.get_credential(first.credential_id).status == lifecycle.VALID
        assert "credential.suspended" not in _topics()
        assert "credential.suspend" not in _audit_actions()

        with atomic():  # the caller catches a refused change and goes on: only the refused part is undone
            lifecycle.suspend([first.credential_id], reason=None, actor="cms")
            try:
                lifecycle.unsuspend([second.credential_id], reason=None, actor="cms")
            except lifecycle.StatusConflict as exc:
                assert exc.reason_code == "not_suspended"
            lifecycle.revoke([second.credential_id], reason=None, actor="cms")
        assert lifecycle.get_credential(first.credential_id).status == lifecycle.SUSPENDED
        assert lifecycle.get_credential(second.credential_id).status == lifecycle.INVALID
        assert [t for t in _topics() if t in LIFECYCLE_TOPICS] == ["credential.suspended", "credential.revoked"]
        assert [a for a in _audit_actions() if a.startswith("credential.")] == ["credential.suspend", "credential.revoke"]
    assert published_status(client, first) == lifecycle.SUSPENDED
    assert published_status(client, second) == lifecycle.INVALID


def test_find_credentials_by_person_configuration_and_status(app, backend, wallet, citizen):
    sd = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    mdoc = issue(backend, wallet, citizen.uin, MDOC_PID)
    with app.app.app_context():
        assert {v.credential_id for v in lifecycle.find_credentials(uin=citizen.uin)} == {
            sd.credential_id,
            mdoc.credential_id,
        }
        assert [v.credential_id for v in lifecycle.find_credentials(configuration_id=MDOC_PID)] == [mdoc.credential_id]
        assert [v.format for v in lifecycle.find_credentials(issuance_id=sd.issuance_id)] == ["dc+sd-jwt"]
        lifecycle.suspend([mdoc.credential_id], reason=None, actor="ops")
        assert [v.credential_id for v in lifecycle.find_credentials(status=lifecycle.SUSPENDED)] == [mdoc.credential_id]
        assert lifecycle.find_credentials(uin="0000000000") == []
        assert len(lifecycle.find_credentials(uin=citizen.uin, limit=1)) == 1
        assert len(lifecycle.find_credentials(uin=citizen.uin, limit=1, offset=1)) == 1


def test_block_suspends_everything_refuses_issuance_and_unblock_restores_only_its_own(app, client, backend, wallet, citizen):
    kept = issue(backend, wallet, citizen.uin, SD_JWT_PID)
    earlier = issue(backend, wallet, citizen.uin, MDOC_PID)
    pending = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin})
    with app.app.app_context():
        lifecycle.suspend([earlier.credential_id], reason="lost", actor="ops")  # suspended before the block
        assert lifecycle.block_identity(citizen.uin, reason="fraud inquiry", actor="ops") == 1
        assert lifecycle.is_blocked(citizen.uin)
    assert published_status(client, kept) == lifecycle.SUSPENDED
    refused = backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin})
    assert refused.status_code == 400 and "identity_blocked" in refused.json()["message"]
    token = wallet.token(code_of(wallet.offer(pending["offerUri"])))  # an offer made before the block is not honoured
    response = wallet.credential(token, [HolderKey()])
    assert response.status_code == 400 and response.json()["error"] == "credential_request_denied"
    with app.app.app_context():
        assert lifecycle.unblock_identity(citizen.uin, reason=None, actor="ops") == 1
        assert not lifecycle.is_blocked(citizen.uin)
        assert lifecycle.get_credential(earlier.credential_id).status == lifecycle.SUSPENDED  # not the block's
        assert lifecycle.unblock_identity(citizen.uin, reason=None, actor="ops") == 0
    assert published_status(client, kept) == lifecycle.VALID
    assert issue(backend, wallet, citizen.uin, SD_JWT_PID).credential_id
