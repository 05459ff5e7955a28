"""The embedded Durable Workflow dev server: the same HTTP protocol on SQLite in one process.

``async with DevServer.start() as server: server.url`` runs it in-process on a free port;
``SyncDevServer.start()`` does the same from synchronous code; ``create_app(config)`` gives the
bare ASGI app; the ``dw-devserver start`` command runs it standalone.
"""

from importlib.metadata import PackageNotFoundError, version

from dw_devserver.app import create_app
from dw_devserver.config import ServerConfig
from dw_devserver.server import DevServer, SyncDevServer

try:
    __version__ = version("dw-devserver")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["DevServer", "ServerConfig", "SyncDevServer", "__version__", "create_app"]
