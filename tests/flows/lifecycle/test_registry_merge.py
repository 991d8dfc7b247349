"""``POST /registry/identities/{uin}/merge`` over HTTP (issue 17): one person registered twice is merged into the
survivor; the retired identity is kept as ``MERGED`` with the merge in its history, can no longer be issued to or
re-activated, and its credentials (wallet credentials and printed cards alike) follow ``IDBB_REGISTRY_MERGE_ACTION``
on the published lists, read by the tests' own decoder."""

from typing import Any

import pytest

from app.clock import clock
from app.services import lifecycle
from tests.conftest import bearer
from tests.flows.issuance_helpers import MDOC_PID, SD_JWT_PID, Backend, Wallet
from tests.flows.lifecycle.helpers import issue, published_status
from tests.flows.oidc_helpers import enroll_citizen


def _pair(app: Any) -> tuple[Any, Any]:
    """Two registered identities of one person (different enough to pass the duplicate check)."""
    first = enroll_citizen(app, email="amina@example.org")
    second = enroll_citizen(app, email="amina.d@example.org", firstName="Aminata", dateOfBirth="1990-04-21")
    return first, second


def _merge(http: Any, token: str, uin: str, into: Any, reason: Any = "one person registered twice") -> Any:
    return http.post(f"/registry/identities/{uin}/merge", json={"intoUin": into, "reason": reason}, headers=bearer(token))


@pytest.mark.parametrize("rule,expected", [("revoke", lifecycle.INVALID), ("suspend", lifecycle.SUSPENDED)])
def test_a_merge_retires_the_identity_and_its_credentials_follow_the_rule(make_app, api_client, rule, expected):
    clock.reset()
    cx = make_app(status_publish_delay=0, registry_merge_action=rule)
    http = cx.test_client(base_url="https://idbb.test")
    backend, wallet = Backend(http, api_client("issuance.write", "issuance.read").token()), Wallet(http)
    source, target = _pair(cx)
    retired = [issue(backend, wallet, source.uin, c) for c in (SD_JWT_PID, MDOC_PID)]
    kept = issue(backend, wallet, target.uin, SD_JWT_PID)
    operator = api_client("registry.read", "registry.adjudicate", "audit.read").token()

    merged = _merge(http, operator, source.uin, target.uin)
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["uin"], body["mergedInto"], body["status"], body["credentialsChanged"]) == (
        source.uin,
        target.uin,
        "MERGED",
        2,
    )
    assert [published_status(http, i) for i in retired] == [expected, expected]
    assert published_status(http, kept) == lifecycle.VALID  # the survivor is untouched

    read = http.get(f"/registry/identities/{source.uin}", headers=bearer(operator)).json()
    assert read["status"] == "MERGED" and read["version"] == body["version"]
    last = http.get(f"/registry/identities/{source.uin}/history", headers=bearer(operator)).json()[-1]
    assert last["reason"] == "one person registered twice"
    assert last["changes"] == [{"attribute": "status", "before": "ACTIVE", "after": "MERGED", "mergedInto": target.uin}]
    assert http.get(f"/registry/identities/{target.uin}", headers=bearer(operator)).json()["status"] == "ACTIVE"

    # the retired identity gets no new credential
    refused = backend.issue(credentialConfigurationId=SD_JWT_PID, subject={"uin": source.uin})
    assert refused.status_code in (400, 403, 404, 409), refused.text
    clock.reset()


def test_merge_errors(app, client, api_client):
    source, target = _pair(app)
    operator = api_client("registry.read", "registry.adjudicate").token()
    assert _merge(client, operator, source.uin, source.uin).json()["title"] == "identity_not_mergeable"
    unknown = _merge(client, operator, "0000000000", target.uin)
    assert unknown.status_code == 404 and unknown.json()["title"] == "unknown_identity"  # problem+json
    assert _merge(client, operator, source.uin, "0000000000").status_code == 404
    assert _merge(client, operator, source.uin, target.uin, reason="").status_code == 400
    missing = client.post(f"/registry/identities/{source.uin}/merge", json={"reason": "x"}, headers=bearer(operator))
    assert missing.status_code == 400
    writer = api_client("registry.read", "registry.write").token()  # updates attributes, does not adjudicate
    assert _merge(client, writer, source.uin, target.uin).status_code == 403
    assert _merge(client, operator, source.uin, target.uin).status_code == 200
    again = _merge(client, operator, source.uin, target.uin)
    assert again.status_code == 409 and again.json()["title"] == "identity_not_mergeable"
    into_merged = _merge(client, operator, target.uin, source.uin)
    assert into_merged.status_code == 409


def test_a_merged_identity_is_not_activated_again(app, client, api_client):
    source, target = _pair(app)
    operator = api_client("registry.adjudicate").token()
    assert _merge(client, operator, source.uin, target.uin).status_code == 200
    office = api_client("identity.status.write").token()
    answer = client.patch(
        "/updateIdentity",
        json={"id": "govstack.updateIdentity", "version": "v1", "request": {"uin": source.uin, "status": "ACTIVATED"}},
        headers=bearer(office),
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["errors"][0]["errorCode"] == "identity_merged"


def test_a_merged_identity_no_longer_logs_in(app, api_client, client):
    from app.services.oidc import authentication

    source, target = _pair(app)
    operator = api_client("registry.adjudicate").token()
    assert _merge(client, operator, source.uin, target.uin).status_code == 200
    with app.app.app_context():
        assert authentication.with_static_code(target.uin, "482913") is not None  # the survivor still logs in
        with pytest.raises(authentication.AuthFailed):
            authentication.with_static_code(source.uin, "482913")  # the same answer as a wrong PIN
