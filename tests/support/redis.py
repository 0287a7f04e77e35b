"""A private redis-server for fault tests: stopped and started by the test, never the shared one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence (a restart empties it)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@contextmanager
def celery_app_on(url: str) -> Iterator[None]:
    """Point this process's Celery app (what the services publish with) at ``url``."""
    from portal.celery import app

    def reset(*, close: bool) -> None:
        # Only the private server's pool is closed: kombu keeps pools in a registry by URL, and
        # a closed pool of the shared broker would be handed out again afterwards.
        if close and app._pool is not None:
            app._pool.force_close_all()
        app._after_fork()  # forgets the connection and producer pools
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    before = (app.conf.broker_url, app.conf.result_backend, app.conf.broker_transport_options)
    app.conf.broker_url = app.conf.result_backend = url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    reset(close=False)
    try:
        yield
    finally:
        reset(close=True)
        app.conf.broker_url, app.conf.result_backend, app.conf.broker_transport_options = before
        reset(close=False)
