"""The Durable Workflow Worker runtime: pollers, workflow-task execution with a sticky workflow cache,
activities, queries, updates and interceptors.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dw-worker")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0+unknown"

__all__ = ["Worker", "__version__"]


def __getattr__(name: str) -> object:
    # Lazy so `import dw_worker.handshake` does not pull in the whole runtime.
    if name == "Worker":
        from dw_worker.worker import Worker

        return Worker
    raise AttributeError(name)
