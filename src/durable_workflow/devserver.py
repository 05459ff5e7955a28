"""The embedded dev server (re-exported from ``dw_devserver``).

``async with DevServer.start() as server:`` serves the Durable Workflow protocol on SQLite in
this process, on a free port (``server.url``); ``SyncDevServer`` does the same from
synchronous code. For production, point ``Client`` at a real server instead.
"""

from dw_devserver import DevServer, ServerConfig, SyncDevServer, create_app

__all__ = ["DevServer", "ServerConfig", "SyncDevServer", "create_app"]
