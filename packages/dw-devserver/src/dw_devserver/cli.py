"""``dw-devserver start``: run the dev server from the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

import uvicorn

from dw_devserver.app import create_app
from dw_devserver.config import ServerConfig
from dw_devserver.runtime import Runtime
from dw_devserver.server import _bind

log = logging.getLogger("dw_devserver")


class _RequestLog:
    """ASGI middleware: one debug line per request (method, path, status, duration)."""

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http" or not log.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)  # type: ignore[operator]
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        status = {"code": 0}

        async def capture(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)  # type: ignore[operator]

        await self.app(scope, receive, capture)  # type: ignore[operator]
        log.debug(
            "%s %s %s %.1fms", scope["method"], scope["path"], status["code"], (loop.time() - started) * 1000
        )


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="dw-devserver", description="Durable Workflow dev server")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="serve the Durable Workflow HTTP API")
    start.add_argument("--host", default="127.0.0.1")
    start.add_argument("--port", type=int, default=7233, help="0 picks a free port")
    start.add_argument("--db", default=None, help="SQLite file (default: in-memory, lost on exit)")
    start.add_argument("--token", default=None, help="single shared bearer token (full access)")
    start.add_argument("--admin-token", default=None)
    start.add_argument("--operator-token", default=None)
    start.add_argument("--worker-token", default=None)
    start.add_argument("--long-poll-timeout", type=float, default=30.0)
    start.add_argument("--workflow-task-lease-seconds", type=float, default=300.0)
    start.add_argument("--activity-lease-seconds", type=float, default=300.0)
    start.add_argument("--virtual-clock", action="store_true", help="time moves only via /api/dev/clock/skip")
    start.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dw-devserver`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    role_tokens = {
        t: r
        for t, r in (
            (args.admin_token, "admin"),
            (args.operator_token, "operator"),
            (args.worker_token, "worker"),
        )
        if t
    }
    config = ServerConfig(
        db_path=args.db,
        role_tokens=role_tokens,
        auth_token=args.token,
        virtual_clock=args.virtual_clock,
        long_poll_timeout=args.long_poll_timeout,
        workflow_task_lease_seconds=args.workflow_task_lease_seconds,
        activity_lease_seconds=args.activity_lease_seconds,
    )
    return asyncio.run(_serve(config, args.host, args.port, args.log_level))


async def _serve(config: ServerConfig, host: str, port: int, log_level: str) -> int:
    runtime = Runtime(config)
    app = _RequestLog(create_app(runtime=runtime))
    sock = _bind(host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning" if log_level != "debug" else "info",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
            proxy_headers=False,
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # non-Unix loops
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    task = loop.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        bound = sock.getsockname()
        print(f"dw-devserver listening on http://{bound[0]}:{bound[1]}", flush=True)
    await task
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
