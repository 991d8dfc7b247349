"""Long-poll wake-ups: "something changed on transaction X, re-check it".

GovStack §8 "Wallet – QR Code": link-status and link-auth-code are long polls that answer as soon as
the wallet acts. A waiter registers *before* it checks the state, so a change between the check and
the wait is never missed; a wake-up carries no state, only the key to re-check (the database stays the
truth). Waiting holds no thread: waiters are asyncio futures on the worker's event loop.

- :class:`LocalWakeups` wakes waiters of this process only (one worker, the embedded default).
- :class:`RedisWakeups` publishes on one Redis pub/sub channel that every worker (and machine)
  subscribes to once, so a browser waiting on worker A is woken by a wallet call handled by worker B.
  Every worker receives every wake-up and drops the keys nobody waits for here (a key is a few bytes;
  wake-ups are a handful per login).
"""

import asyncio
import logging
import threading
from collections import defaultdict
from typing import Any, Protocol

log = logging.getLogger("idbb.wakeups")

CHANNEL = "idbb:wakeups"
#: How long a waiter waits for its loop's Redis subscription to be confirmed before going on without it.
SUBSCRIBE_TIMEOUT = 2.0


class Wakeups(Protocol):
    def publish(self, key: str) -> None:
        """Wake every waiter of ``key``, in any worker this store reaches (callable from any thread)."""
        ...

    async def subscribe(self, key: str) -> "Waiter":
        """Register a waiter for ``key`` on the running loop; use it as an async context manager."""
        ...


class Waiter:
    """One registration: ``await waiter.wait(timeout)`` returns True if woken, False at the timeout."""

    def __init__(self, hub: "_LoopHub", key: str) -> None:
        self._hub = hub
        self.key = key
        self._event = asyncio.Event()

    def _wake(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()  # a later wake-up wakes the same waiter again
        return True

    async def __aenter__(self) -> "Waiter":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._hub.remove(self)


class _LoopHub:
    """The waiters of one event loop, by key; wake-ups from other threads hop onto the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiters: dict[str, set[Waiter]] = defaultdict(set)

    def add(self, key: str) -> Waiter:
        waiter = Waiter(self, key)
        self.waiters[key].add(waiter)
        return waiter

    def remove(self, waiter: Waiter) -> None:
        group = self.waiters.get(waiter.key)
        if group is not None:
            group.discard(waiter)
            if not group:
                del self.waiters[waiter.key]

    def wake(self, key: str) -> None:
        """On the loop's thread: wake every waiter of ``key``."""
        for waiter in list(self.waiters.get(key, ())):
            waiter._wake()

    def wake_threadsafe(self, key: str) -> None:
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.wake(key)
        else:
            self.loop.call_soon_threadsafe(self.wake, key)

    def held(self) -> int:
        return sum(len(group) for group in self.waiters.values())


class LocalWakeups:
    """In-process wake-ups: right for a single worker process (every loop of this process is reached)."""

    def __init__(self) -> None:
        self._hubs: dict[asyncio.AbstractEventLoop, _LoopHub] = {}
        self._lock = threading.Lock()

    def _hub(self, loop: asyncio.AbstractEventLoop) -> _LoopHub:
        with self._lock:
            hub = self._hubs.get(loop)
            if hub is None:
                for old in [lp for lp in self._hubs if lp.is_closed()]:
                    del self._hubs[old]
                hub = self._hubs[loop] = _LoopHub(loop)
            return hub

    def publish(self, key: str) -> None:
        self._deliver(key)

    def _deliver(self, key: str) -> None:
        with self._lock:
            hubs = list(self._hubs.values())
        for hub in hubs:
            hub.wake_threadsafe(key)

    async def subscribe(self, key: str) -> Waiter:
        return self._hub(asyncio.get_running_loop()).add(key)

    def held(self) -> int:
        with self._lock:
            return sum(hub.held() for hub in self._hubs.values())


class RedisWakeups(LocalWakeups):
    """Wake-ups across workers through Redis pub/sub (``PUBLISH idbb:wakeups <key>``).

    Each event loop that holds waiters runs one listener task on its own async Redis connection; the
    first ``subscribe`` on a loop waits until the subscription is confirmed, so a wake-up published after
    a waiter's state check cannot be missed. Publishing uses the app's synchronous Redis client, from
    the worker thread that changed the state, after its transaction committed.
    """

    def __init__(self, redis_url: str, publisher: Any) -> None:
        super().__init__()
        self._url = redis_url
        self._publisher = publisher
        self._listeners: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}

    def publish(self, key: str) -> None:
        try:
            self._publisher.publish(CHANNEL, key)
        except Exception:  # the waiter still answers at its timeout and the browser polls again
            log.warning("could not publish a long-poll wake-up; local waiters only", exc_info=True)
            self._deliver(key)

    async def subscribe(self, key: str) -> Waiter:
        loop = asyncio.get_running_loop()
        waiter = self._hub(loop).add(key)
        ready = self._listeners.get(loop)
        if ready is None or (ready.done() and ready.exception() is not None):
            ready = self._listeners[loop] = loop.create_future()
            loop.create_task(self._listen(loop, ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), SUBSCRIBE_TIMEOUT)
        except Exception:  # Redis is down or slow: fall back to the timeout (the browser re-polls)
            log.warning("long-poll listener is not subscribed; waiting for the timeout", exc_info=True)
        return waiter

    async def _listen(self, loop: asyncio.AbstractEventLoop, ready: "asyncio.Future[None]") -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self._url)
        pubsub = client.pubsub()  # redis-py: a pubsub-wide ignore_subscribe_messages wins over get_message's
        try:
            await pubsub.subscribe(CHANNEL)
            # the confirmation arrives as the first message: read it so "subscribed" is true server-side
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=False, timeout=5.0)
                if message is not None and message.get("type") == "subscribe":
                    break
            if not ready.done():
                ready.set_result(None)
            hub = self._hub(loop)
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                if message is None:
                    continue
                data = message.get("data")
                hub.wake(data.decode("utf-8") if isinstance(data, bytes) else str(data))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:  # the next subscribe starts a new listener
                self._listeners.pop(loop, None)
            log.warning("long-poll listener stopped", exc_info=True)
        finally:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
                await client.aclose()
            except Exception:  # already gone
                log.debug("long-poll listener connection already closed", exc_info=True)
