"""The credential request's hot path (issue 16 performance): proof and c_nonce markers in one replay-store round
trip, status indexes reserved in blocks per worker on PostgreSQL, and the security properties kept."""

from typing import Any

import pytest
import redis
from sqlalchemy import select

from app.clock import clock
from app.stores.replay import RedisReplayStore, SqlReplayStore
from tests.conftest import TEST_REDIS


def test_sql_store_adds_many_each_once(ctx):
    store = SqlReplayStore()
    now = clock.now()
    assert store.add_many_once([("m1", 30), ("m2", 30)], now) == [True, True]
    assert store.add_many_once([("m3", 30), ("m1", 30), ("m2", 30)], now) == [True, False, False]


@pytest.mark.redis
def test_redis_store_adds_many_each_once_with_their_ttls():
    client = redis.Redis.from_url(TEST_REDIS)
    client.flushdb()
    store = RedisReplayStore(client)
    assert store.add_many_once([("m1", 30), ("m2", 90)], clock.now()) == [True, True]
    assert store.add_many_once([("m3", 30), ("m1", 30)], clock.now()) == [True, False]
    assert 0 < client.ttl("idbb:replay:m1") <= 30 and 30 < client.ttl("idbb:replay:m2") <= 90


@pytest.mark.postgres
def test_reserved_status_indexes_are_random_distinct_and_unused_ones_stay_valid(make_app):
    """A worker reserves a block at once (one INSERT); it hands them out in random order, never twice, and what it
    has not handed out is VALID and referenced by no credential (§13.3; the safe direction)."""
    from app.extensions import db
    from app.models.status import StatusEntry
    from app.services.status import allocation

    cx = make_app(status_list_size=1_048_576)
    with cx.app.app_context():
        refs = [allocation.allocate() for _ in range(300)]
        rows = db.session.execute(select(StatusEntry.idx, StatusEntry.status)).all()
    idx = [r.idx for r in refs]
    assert len(set(idx)) == 300 and idx != sorted(idx) and idx != sorted(idx, reverse=True)
    assert len({r.list_id for r in refs}) == 1
    assert set(idx) <= {r.idx for r in rows} and all(r.status == 0 for r in rows)
    # two blocks of 256 (1,048,576 / 4,096), the second short of any index the first holds (a random collision:
    # ON CONFLICT DO NOTHING): the rest reserved, unused, VALID
    assert 256 + 44 <= len(rows) <= 512
    from app import create_app

    second = create_app(cx.app.extensions["idbb"].settings)  # another worker on the same database
    with second.app.app_context():
        other = [allocation.allocate() for _ in range(10)]
        total = db.session.execute(select(StatusEntry.idx)).all()
    assert {r.list_id for r in other} == {refs[0].list_id}  # the same open list, its own block
    assert not {r.idx for r in other} & set(idx) and 10 <= len(total) - len(rows) <= 256


def test_a_replayed_proof_is_refused_even_with_a_fresh_c_nonce(client: Any, api_client: Any):
    from tests.conftest import bearer
    from tests.flows.issuance_helpers import SD_JWT_PID, Backend, HolderKey, Wallet, code_of

    backend = Backend(client, api_client("issuance.write").token())
    wallet = Wallet(client)
    tokens = []
    for _ in range(2):
        created = backend.issued(
            credentialConfigurationId=SD_JWT_PID,
            claims={
                "family_name": "Diallo",
                "given_name": "Amina",
                "birthdate": "1990-04-12",
                "personal_administrative_number": "1234567890",
            },
        )
        tokens.append(wallet.token(code_of(wallet.offer(created["offerUri"]))))
    key, nonce = HolderKey(), wallet.c_nonce()
    proof = key.proof(nonce)
    ident = tokens[0]["authorization_details"][0]["credential_identifiers"][0]
    first = client.post(
        "/credential",
        json={"credential_identifier": ident, "proofs": {"jwt": [proof]}},
        headers=bearer(tokens[0]["access_token"]),
    )
    assert first.status_code == 200, first.text
    both = client.post(
        "/credential",
        json={"credential_identifier": ident, "proofs": {"jwt": [HolderKey().proof(wallet.c_nonce()), proof]}},
        headers=bearer(tokens[1]["access_token"]),
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_proof"
    again = client.post(
        "/credential",
        json={"credential_identifier": ident, "proofs": {"jwt": [key.proof(nonce)]}},
        headers=bearer(tokens[1]["access_token"]),
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_nonce"  # a fresh proof, a spent nonce
