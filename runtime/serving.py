"""Run an ASGI app with uvicorn on a real port in a background thread (tests, benchmarks, `mender up`)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

KEEP_ALIVE = 65  # seconds an idle connection stays open (longer than the clients' pools keep theirs)


def free_port() -> int:
    """Ask the kernel for a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """A uvicorn server in a daemon thread; `start()` returns once it accepts connections."""

    def __init__(self, app: Any, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        # Idle connections are kept longer than uvicorn's 5 s: a client (a simulator's webhook sender)
        # that reuses one just as the server closes it gets a ReadError and the delivery is lost.
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", lifespan="on", timeout_keep_alive=KEEP_ALIVE
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
