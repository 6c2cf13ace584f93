"""``EmulatorServer``: the emulator on a loopback port, served by uvicorn in a background thread.

Used by the tests, the demo and ``pooldrift emulator``; ``start()`` returns once it answers.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from .app import EmulatorApp, create_app
from .config import EmulatorConfig
from .data import EmulatorData
from .faults import Faults
from .jobs import Jobs
from .recorder import RequestLog, WriteLog
from .shape import Shape
from .throttle import Throttle


class EmulatorServer:
    """Run the emulator on ``host:port`` (port 0: a free one). A context manager, or start()/stop()."""

    def __init__(self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.faults = Faults(seed=self.config.fault_seed)
        #: the demo set, or the fleet ``config.fleet`` asks for; ``reset()`` rebuilds it
        self.data = EmulatorData.for_config(self.config)
        self.requests = RequestLog(self.config.request_log_limit)
        #: how it answers (API version, name filter, nulls); ``reset()`` restores the defaults
        self.shape = Shape()
        #: the gateway's requests-a-minute limit; ``throttle.throttled`` counts the 429s it sent
        self.throttle = Throttle(self.config.rate_limit)
        #: every write received (applied or not, its job): ``writes.count(applied=True)``
        self.writes = WriteLog(self.config.request_log_limit)
        #: the writes' jobs; ``jobs.seconds`` is how long one takes, ``jobs.settle()`` waits them out
        self.jobs = Jobs(self.data, self.config.job_seconds, wall=self.config.clock)
        self.app: EmulatorApp = create_app(
            self.config,
            faults=self.faults,
            data=self.data,
            requests=self.requests,
            shape=self.shape,
            throttle=self.throttle,
            writes=self.writes,
            jobs=self.jobs,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __repr__(self) -> str:
        return f"EmulatorServer(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def access_key(self) -> str:
        return self.config.access_key

    @property
    def secret_key(self) -> str:
        return self.config.secret_key

    @property
    def project_id(self) -> str:
        return self.config.project_id

    def huge_answers(self) -> list[tuple[int, int]]:
        """(bytes sent, bytes the answer had) of the last huge answers (the ``huge`` fault)."""
        return self.app.huge_answers()

    def reset(self) -> None:
        """No faults, the default answer shape, an empty request log, no writes or jobs, the configured
        rate limit with an empty window, and the seeded data set it started with again."""
        self.app.reset()

    def start(self, timeout: float = 10.0) -> Self:

        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and without it
        # every small answer waits ~40 ms for a delayed ACK (headers and body are two writes)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="auto",  # httptools (a dependency): h11 took ~0.5 ms more CPU per request
            ws="none",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="pooldrift-emulator", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the emulator did not start on {self.base_url}")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # force_exit: do not wait for open keep-alive connections or slow fault answers
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket = None, None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
