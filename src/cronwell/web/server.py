"""Serving the API: uvicorn in a thread of this process, on a socket bound before it starts.

``cronwell run`` serves beside its scheduler and worker, ``cronwell serve`` serves alone, and
the tests serve on a free loopback port: all three start a ``WebServer``. Binding first means
the caller knows the port (``port=0`` picks one) and a taken port fails at once, in the
caller's thread, instead of inside uvicorn's.
"""

from __future__ import annotations

import socket
import threading

import uvicorn

from cronwell.app import Cronwell
from cronwell.web.api import create_api

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8080


class ExposedWithoutAuth(ValueError):
    """Serving without auth anywhere but the loopback address would hand anyone admin."""


class WebServer:
    def __init__(
        self,
        app: Cronwell,
        *,
        host: str = LOOPBACK,
        port: int = DEFAULT_PORT,
        is_auth_on: bool = True,
    ) -> None:
        if not is_auth_on and host != LOOPBACK:
            raise ExposedWithoutAuth(
                f"host: serving {host} without auth is refused: bind {LOOPBACK} or turn auth on"
            )
        self.host = host
        self._socket = socket.create_server((host, port))
        self.port: int = self._socket.getsockname()[1]
        self.api = create_api(app, is_auth_on=is_auth_on)
        config = uvicorn.Config(self.api, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="cronwell-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests in flight end, and wait for the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def _serve(self) -> None:
        # uvicorn takes no signals outside the main thread: the process that started us does.
        self._server.run(sockets=[self._socket])
