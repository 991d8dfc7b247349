"""idbb under uvicorn in a thread of the test process: real sockets and real concurrency, on the test's
own database (the flow tests that race requests or hold long polls)."""

import threading
import time
from typing import Any

from tests.mailbox import free_port


def start_in_thread(cx: Any) -> tuple[str, Any, threading.Thread]:
    """Serve the Connexion app ``cx`` on a free loopback port; return (base URL, uvicorn server, thread).

    Stop it with ``server.should_exit = True`` and ``thread.join(...)``.
    """
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(cx, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread
