"""The audit sealer: one thread per worker that chains committed pending events in batches (PostgreSQL).

A use case's COMMIT nudges it; it waits ``GATHER_SECONDS`` so that one batch takes what many requests
wrote (a batch costs six statements whatever its size: waiting 0.02 s instead, sealing took a tenth of
the server's CPU under load), then seals until nothing is left, one transaction per batch of up to
``BATCH`` events. The chain head's row lock is taken with ``SKIP LOCKED``: when the other worker's
sealer holds it, this one steps back and tries again moments later (that sealer may have read the queue
before our events were committed). When the database refuses, it tries again every ``RETRY_SECONDS``.
A thread that was not nudged for ``IDLE_EXIT_SECONDS`` ends (the next nudge starts a new one), so idle
workers, CLI commands and test apps keep no thread, and an idle thread never touches the database.
Events of a worker that died before sealing stay in ``audit_pending`` and are sealed by the next sealing
of any worker, or by ``idbb audit verify``.
"""

import logging
import os
import threading
import time
import weakref

from flask import Flask, current_app

from app.extensions import db, state

log = logging.getLogger("idbb.audit")

GATHER_SECONDS = 0.2
RETRY_SECONDS = 1.0
IDLE_EXIT_SECONDS = 30.0
BATCH = 1000
_SEALER = "audit_sealer"
_ALL: "weakref.WeakSet[Sealer]" = weakref.WeakSet()


class Sealer:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        _ALL.add(self)

    def nudge(self) -> None:
        thread = self._thread
        if self._wake.is_set() and thread is not None and thread.is_alive() and self._pid == os.getpid() \
                and not self._stop.is_set():
            return  # already nudged: the running thread will see it (an idle thread ends only when not nudged)
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="idbb-audit-sealer", daemon=True)
                self._thread.start()
            self._wake.set()  # under the lock: an idle thread deciding to end sees it

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread after sealing what is pending (app shutdown, tests)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            woke = self._wake.wait(IDLE_EXIT_SECONDS)
            if not woke:
                with self._lock:
                    if not self._wake.is_set():  # idle: end; the next nudge starts a new thread
                        self._thread = None
                        return
                continue
            self._wake.clear()
            stopping = self._stop.is_set()
            if not stopping:
                time.sleep(GATHER_SECONDS)  # let the requests of this moment join the batch
            if not self._seal_once() and not self._stop.is_set():
                time.sleep(RETRY_SECONDS)  # the database refused: the events wait in the queue; try again
                self._wake.set()
            if self._stop.is_set():
                if not stopping:  # stopped during that batch: seal (waiting for the head) what committed meanwhile
                    self._seal_once()
                with self._lock:
                    self._thread = None
                    return

    def _seal_once(self) -> bool:
        """Seal until the queue is empty; False when the database refused (logged, without details)."""
        from app.services import audit

        try:
            with self._app.app_context():
                try:
                    while True:
                        sealed = audit.seal_pending(db.session(), batch=BATCH, wait=self._stop.is_set())
                        if sealed == audit.BUSY:  # the other worker's sealer: wait for it, then look again
                            time.sleep(GATHER_SECONDS)
                        elif sealed < BATCH:
                            return True
                finally:
                    db.session.remove()
        except Exception as exc:
            log.error("audit sealing failed", extra={"error": type(exc).__name__})
            return False


def nudge() -> None:
    """Called after a COMMIT that queued events (in the committing request's app context)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state().cached(_SEALER, lambda: Sealer(app)).nudge()


def stop_all() -> None:
    """Seal what is pending and end every sealer thread of this process (tests, before emptying tables)."""
    for found in list(_ALL):
        found.stop()

