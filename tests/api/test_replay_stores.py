"""Replay stores: SQL (default) and Redis (when configured) keep single-use values single-use."""

from datetime import timedelta

import pytest
import redis

from app.clock import clock
from app.stores.replay import RedisReplayStore, SqlReplayStore
from tests.conftest import ASSERTION_TYPE, TEST_REDIS


def test_sql_store_refuses_a_second_use_until_expiry(ctx):
    store = SqlReplayStore()
    now = clock.now()
    assert store.add_once("k1", 30, now)
    assert not store.add_once("k1", 30, now)
    assert not store.add_once("k1", 30, now + timedelta(seconds=29))
    assert store.add_once("k1", 30, now + timedelta(seconds=31))  # expired entries make room


def test_sql_store_keeps_the_callers_transaction_usable(ctx):
    from sqlalchemy import text

    from app.extensions import db

    store = SqlReplayStore()
    now = clock.now()
    assert store.add_once("k2", 30, now)
    assert not store.add_once("k2", 30, now)
    db.session.execute(text("SELECT 1"))  # the savepoint rolled back, the transaction lives on
    db.session.commit()


@pytest.mark.redis
def test_redis_store_refuses_a_second_use_and_sets_a_ttl():
    client = redis.Redis.from_url(TEST_REDIS)
    client.flushdb()
    store = RedisReplayStore(client)
    assert store.add_once("k1", 30, clock.now())
    assert not store.add_once("k1", 30, clock.now())
    assert 0 < client.ttl("idbb:replay:k1") <= 30


@pytest.mark.redis
def test_redis_store_checks_one_key_and_spends_the_others_in_one_call():
    """seen_and_add_many (the credential request's one round trip): the first key is only looked up, each other is
    spent once with its own TTL, and every entry is attempted even when an earlier one was spent."""
    client = redis.Redis.from_url(TEST_REDIS)
    client.flushdb()
    store = RedisReplayStore(client)
    now = clock.now()
    assert store.seen_and_add_many("revoked", [("p1", 30), ("n1", 90)], now) == (False, [True, True])
    assert client.get("idbb:replay:revoked") is None  # looked up, never written
    assert 0 < client.ttl("idbb:replay:p1") <= 30 and 30 < client.ttl("idbb:replay:n1") <= 90
    assert store.add_once("revoked", 30, now)
    assert store.seen_and_add_many("revoked", [("p1", 30), ("p2", 30), ("n1", 90)], now) == (True, [False, True, False])
    assert client.exists("idbb:replay:p2")
    client.script_flush()  # a server that lost its scripts (a restart): loaded again, not an error
    assert store.seen_and_add_many("other", [("p3", 0)], now) == (False, [True])
    assert client.ttl("idbb:replay:p3") == 1  # a TTL of at least one second, as add_once sets it


@pytest.mark.redis
def test_assertion_replay_is_caught_across_two_servers_sharing_redis(app, api_client, client):
    """Two app instances (two workers) share Redis: an assertion used on one is refused on the other."""
    from app import create_app
    from tests.conftest import ISSUER

    caller = api_client("read_oidc_client")
    second = create_app(app.app.extensions["idbb"].settings)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": caller.assertion(),
    }
    assert client.post("/oauth/token", data=form).status_code == 200
    replay = second.test_client(base_url=ISSUER).post("/oauth/token", data=form)
    assert replay.json()["error"] == "invalid_client"
    keys = redis.Redis.from_url(TEST_REDIS).keys("idbb:replay:assertion:*")
    assert keys, "the replay marker lives in Redis"
