"""Running the server: in-process async (``DevServer``) and in a background thread (``SyncDevServer``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from dw_devserver.app import create_app
from dw_devserver.config import ServerConfig
from dw_devserver.runtime import Runtime


def _config(
    db: str | None, virtual_clock: bool, config: ServerConfig | None, fields: dict[str, Any]
) -> ServerConfig:
    base = config or ServerConfig()
    return dataclasses.replace(
        base,
        db_path=db if db is not None else base.db_path,
        virtual_clock=virtual_clock or base.virtual_clock,
        **fields,
    )


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this on Linux; without it uvicorn's header/body writes meet
    # Nagle + delayed ACK and every response takes ~40 ms
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class DevServer:
    """A dev server running on the current event loop (uvicorn in-process).

    Use :meth:`start` as an async context manager; ``server.url`` is the base URL.
    """

    def __init__(self, runtime: Runtime, server: uvicorn.Server, sock: socket.socket, host: str) -> None:
        self.runtime = runtime
        self._server = server
        self._sock = sock
        self.host = host
        self.port: int = sock.getsockname()[1]
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Base URL (``http://host:port``); clients add ``/api/...``."""
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> ServerConfig:
        """The server's configuration."""
        return self.runtime.config

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        db: str | None = None,
        virtual_clock: bool = False,
        config: ServerConfig | None = None,
        log_level: str = "warning",
        **config_fields: Any,
    ) -> AsyncIterator[DevServer]:
        """Start on ``host:port`` (0 = a free port) and stop cleanly on exit."""
        server = await cls.launch(
            port=port,
            host=host,
            db=db,
            virtual_clock=virtual_clock,
            config=config,
            log_level=log_level,
            **config_fields,
        )
        try:
            yield server
        finally:
            await server.stop()

    @classmethod
    async def launch(
        cls,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        db: str | None = None,
        virtual_clock: bool = False,
        config: ServerConfig | None = None,
        log_level: str = "warning",
        **config_fields: Any,
    ) -> DevServer:
        """Start and return a running server (call :meth:`stop` yourself)."""
        runtime = Runtime(_config(db, virtual_clock, config, config_fields))
        app = create_app(runtime=runtime)
        sock = _bind(host, port)
        uv_config = uvicorn.Config(
            app,
            log_level=log_level,
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=1,
            proxy_headers=False,  # local server: no proxy in front, one middleware less per request
        )
        server = uvicorn.Server(uv_config)
        self = cls(runtime, server, sock, host)
        self._task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("dev server exited during startup")
            await asyncio.sleep(0.005)
        return self

    async def skip(self, seconds: float) -> float:
        """Virtual clock: move time forward and fire everything that came due; returns the new now."""
        if not self.runtime.clock.virtual:
            raise RuntimeError("skip() needs a server started with virtual_clock=True")
        self.runtime.clock.advance(seconds)
        await self.runtime.scheduler.settle()
        return self.runtime.clock.now()

    async def stop(self) -> None:
        """Stop serving and close the database."""
        self.runtime.wakeups.notify_all()
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sock.close()
        self.runtime.close()


class SyncDevServer:
    """The dev server on its own event loop in a background thread, for synchronous code."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dw-devserver", daemon=True)
        self._server: DevServer | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        assert self._server is not None
        return self._server.url

    @property
    def runtime(self) -> Runtime:
        """The server runtime (read-only use from the calling thread)."""
        assert self._server is not None
        return self._server.runtime

    @classmethod
    @contextlib.contextmanager
    def start(cls, **kwargs: Any) -> Iterator[SyncDevServer]:
        """Same arguments as :meth:`DevServer.start`."""
        self = cls()
        self._thread.start()
        try:
            self._server = asyncio.run_coroutine_threadsafe(DevServer.launch(**kwargs), self._loop).result(30)
            yield self
        finally:
            if self._server is not None:
                asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def skip(self, seconds: float) -> float:
        """Virtual clock skip (see :meth:`DevServer.skip`)."""
        assert self._server is not None
        return asyncio.run_coroutine_threadsafe(self._server.skip(seconds), self._loop).result(60)
