"""The ASGI application: route modules mounted on Starlette, the scheduler run by the lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from dw_devserver.config import ServerConfig
from dw_devserver.http import json_response
from dw_devserver.routes import load_route_modules
from dw_devserver.runtime import Runtime

log = logging.getLogger("dw_devserver.app")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    reason = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    message = {404: "Route not found.", 405: "Method not allowed."}.get(status, "HTTP error.")
    return json_response(status, {"message": message, "reason": reason})


def create_app(config: ServerConfig | None = None, runtime: Runtime | None = None) -> Starlette:
    """Build the dev-server ASGI app; ``app.state.runtime`` is its :class:`Runtime`."""
    rt = runtime or Runtime(config or ServerConfig())
    routes: list[BaseRoute] = []
    for module in load_route_modules():
        schema = getattr(module, "SCHEMA", None)
        if schema:
            rt.store.apply_schema(schema)
        routes.extend(module.routes)
    for module in load_route_modules():
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(rt)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt.scheduler.start()
        try:
            yield
        finally:
            await rt.scheduler.stop()
            await rt.queries.shutdown()
            rt.wakeups.notify_all()

    handlers: dict[Any, Any] = {404: _http_error, 405: _http_error}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.runtime = rt
    return app
