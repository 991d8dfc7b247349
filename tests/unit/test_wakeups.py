"""Long-poll wake-ups (app/stores/wakeups.py): a waiter is woken by a publish from another thread, and
with Redis by a publish from another process's store (two stores stand for two workers)."""

import asyncio
import threading
import time

import pytest

from app.stores.wakeups import LocalWakeups, RedisWakeups
from tests.conftest import TEST_REDIS


def test_local_waiter_is_woken_from_a_worker_thread() -> None:
    store = LocalWakeups()

    async def scenario() -> tuple[bool, float, bool]:
        async with await store.subscribe("txn-1") as waiter:
            started = time.perf_counter()
            threading.Timer(0.05, store.publish, args=("txn-1",)).start()
            woken = await waiter.wait(2.0)
            elapsed = time.perf_counter() - started
            other = await waiter.wait(0.05)  # nothing else was published: times out
        return woken, elapsed, other

    woken, elapsed, other = asyncio.run(scenario())
    assert woken and elapsed < 0.5
    assert other is False
    assert store.held() == 0  # leaving the context removes the waiter


def test_local_waiter_of_another_key_is_not_woken() -> None:
    store = LocalWakeups()

    async def scenario() -> bool:
        async with await store.subscribe("txn-a") as waiter:
            store.publish("txn-b")
            return await waiter.wait(0.1)

    assert asyncio.run(scenario()) is False


@pytest.mark.redis
def test_redis_wakes_a_waiter_held_by_another_worker() -> None:
    import redis

    assert TEST_REDIS is not None
    worker_a = RedisWakeups(TEST_REDIS, redis.Redis.from_url(TEST_REDIS))  # holds the browser's poll
    worker_b = RedisWakeups(TEST_REDIS, redis.Redis.from_url(TEST_REDIS))  # handles the wallet's call

    async def scenario() -> tuple[bool, float]:
        async with await worker_a.subscribe("txn-x") as waiter:  # returns once the subscription is confirmed
            started = time.perf_counter()
            await asyncio.to_thread(worker_b.publish, "txn-x")
            woken = await waiter.wait(3.0)
            return woken, time.perf_counter() - started

    woken, elapsed = asyncio.run(scenario())
    assert woken, "a publish by another worker's store must wake the waiter"
    assert elapsed < 0.1  # issue 4: the poll returns within 100 ms of the wallet's action
