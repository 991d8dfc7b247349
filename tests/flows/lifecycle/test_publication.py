"""Publication of changed lists (issue 17): changes inside ``IDBB_STATUS_PUBLISH_DELAY`` batched into one new
signed list (JWT and CWT alike), no stale list past the window, a list past ``exp`` re-signed without changes, and
an ``ETag`` that changes exactly when the served bytes do. Lists are read over HTTP and decoded by the tests' own
decoder; signatures checked with PyJWT and ``cryptography``."""

from typing import Any

import jwt as pyjwt
import pytest

from app.clock import clock
from app.services import lifecycle
from tests.flows.issuance_helpers import SD_JWT_PID, Backend, HolderKey, Wallet, code_of
from tests.flows.lifecycle.helpers import Issued, published_status
from tests.flows.oidc_helpers import enroll_citizen


@pytest.fixture
def app(make_app: Any) -> Any:
    clock.reset()
    yield make_app(status_publish_delay=5, status_list_ttl=60, status_list_lifetime=600)
    clock.reset()


def _batch(app: Any, client: Any, api_client: Any, count: int) -> list[Issued]:
    backend = Backend(client, api_client("issuance.write", "issuance.read").token())
    wallet = Wallet(client)
    citizen = enroll_citizen(app)
    created = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin})
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    assert wallet.credential(token, [HolderKey() for _ in range(count)]).status_code == 200
    return [
        Issued(created["issuanceId"], c["credentialId"], c["revocationId"], c["status"]["uri"], c["status"]["idx"], "")
        for c in backend.read(created["issuanceId"])["credentials"]
    ]


def _get(client: Any, item: Issued, media: str = "application/statuslist+jwt", **headers: str) -> Any:
    return client.get(item.uri.removeprefix("https://idbb.test"), headers={"Accept": media, **headers})


def _claims(response: Any) -> dict[str, Any]:
    return dict(pyjwt.decode(response.text, options={"verify_signature": False}))


def test_changes_in_the_window_become_one_new_list(app, client, api_client):
    first, second, third = _batch(app, client, api_client, 3)
    signed = _get(client, first)
    etag, cwt_etag = signed.headers["ETag"], _get(client, first, "application/statuslist+cwt").headers["ETag"]
    assert _get(client, first).headers["ETag"] == etag  # nothing changed: the same bytes
    assert _get(client, first, **{"If-None-Match": etag}).status_code == 304
    clock.advance(10)  # the last signature is older than the window: the next change is published at once
    with app.app.app_context():
        lifecycle.suspend([first.credential_id], reason=None, actor="ops")
    assert published_status(client, first) == lifecycle.SUSPENDED
    after_first = _get(client, first).headers["ETag"]
    assert after_first != etag and _get(client, first, "application/statuslist+cwt").headers["ETag"] != cwt_etag
    with app.app.app_context():  # two more changes inside the window: still the list just published...
        lifecycle.revoke([second.credential_id], reason=None, actor="ops")
        lifecycle.suspend([third.credential_id], reason=None, actor="ops")
    assert _get(client, first).headers["ETag"] == after_first
    assert published_status(client, second) == lifecycle.VALID
    clock.advance(6)  # ...and once the window is over, one new list carries both
    batched = _get(client, first)
    assert batched.headers["ETag"] != after_first
    assert [published_status(client, i) for i in (first, second, third)] == [2, 1, 2]
    assert _get(client, first).headers["ETag"] == batched.headers["ETag"]
    assert _claims(batched)["iat"] > _claims(signed)["iat"]


def test_a_change_undone_inside_the_window_keeps_the_bytes_and_the_etag(app, client, api_client):
    [item] = _batch(app, client, api_client, 1)
    etag = _get(client, item).headers["ETag"]
    with app.app.app_context():
        lifecycle.suspend([item.credential_id], reason=None, actor="ops")
        lifecycle.unsuspend([item.credential_id], reason=None, actor="ops")
    clock.advance(6)
    assert _get(client, item).headers["ETag"] == etag  # the entries are as published: same content, same ETag
    assert published_status(client, item) == lifecycle.VALID


def test_a_list_is_re_signed_before_exp_without_changes(app, client, api_client):
    [item] = _batch(app, client, api_client, 1)
    first = _get(client, item)
    claims = _claims(first)
    assert claims["exp"] - claims["iat"] == 600 and claims["ttl"] == 60
    assert "max-age=60" in first.headers["Cache-Control"]
    clock.advance(600 - 60 - 1)  # just before one ttl ahead of exp: still the same token
    assert _get(client, item).headers["ETag"] == first.headers["ETag"]
    clock.advance(2)  # now a verifier caching for ttl would hold it past exp: re-signed
    again = _get(client, item)
    assert again.headers["ETag"] != first.headers["ETag"]
    renewed = _claims(again)
    assert renewed["exp"] > claims["exp"] and renewed["exp"] - clock.epoch() > 60
    assert published_status(client, item) == lifecycle.VALID  # verified against the JWKS, JWT and CWT agree
    clock.advance(600 + 120)  # long past the first exp, never fetched meanwhile: never served expired
    late = _claims(_get(client, item))
    assert late["exp"] > clock.epoch() + 60


def test_a_change_made_by_another_worker_is_served_once_the_window_is_over(app, client, api_client):
    [item] = _batch(app, client, api_client, 1)
    etag = _get(client, item).headers["ETag"]
    with app.app.app_context():
        from app.extensions import state

        held = dict(state().cache["status_list_tokens"])  # this worker's copy of the signed list
        clock.advance(10)
        lifecycle.revoke([item.credential_id], reason=None, actor="ops")
        # the change happened in another worker: this one still holds its old copy
        state().cache["status_list_tokens"] = held
    assert _get(client, item).headers["ETag"] != etag  # the copy was older than the window: re-checked, re-signed
    assert published_status(client, item) == lifecycle.INVALID
