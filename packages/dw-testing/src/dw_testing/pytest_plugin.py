"""pytest plugin (entry point ``pytest11``): fixtures for testing workflows.

* ``workflow_env`` — a :class:`~dw_testing.local.LocalServerEnvironment`: the dev server in process
  (in memory, time skipping on) with a connected client; ``async with workflow_env.worker(...)``.
* ``workflow_client`` — that environment's connected async ``Client``.
* ``workflow_harness`` — a fresh in-process :class:`~dw_testing.WorkflowEnvironment` (no server).
* ``workflow_env_options`` — keyword arguments for ``LocalServerEnvironment.start``; override it in
  a ``conftest.py`` (e.g. ``return {"db": str(tmp_path / "dev.sqlite")}``).

A test is then three lines::

    async def test_greeter(workflow_env):
        async with workflow_env.worker(workflows=[Greeter], activities=[greet]):
            assert await workflow_env.execute_workflow(Greeter, "Ada") == "Hello, Ada!"

The async fixtures need ``pytest-asyncio`` (``pip install dw-testing[pytest]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest

from dw_testing.environment import WorkflowEnvironment

if TYPE_CHECKING:
    from dw_client import Client

    from dw_testing.local import LocalServerEnvironment


_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _async_fixture_decorator() -> _Decorator | None:
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
        return None
    decorator: _Decorator = pytest_asyncio.fixture
    return decorator


_async_fixture: _Decorator | None = _async_fixture_decorator()

_NEEDS_ASYNCIO = (
    "the workflow_env / workflow_client fixtures are async and need pytest-asyncio: "
    "pip install 'dw-testing[pytest]' (or pytest-asyncio)"
)


@pytest.fixture
def workflow_env_options() -> dict[str, Any]:
    """Keyword arguments for ``LocalServerEnvironment.start`` (override to customise)."""
    return {}


@pytest.fixture
def workflow_harness() -> WorkflowEnvironment:
    """A fresh in-process ``WorkflowEnvironment`` (mocked activities, no server)."""
    return WorkflowEnvironment()


if _async_fixture is not None:

    @_async_fixture
    async def workflow_env(workflow_env_options: dict[str, Any]) -> AsyncIterator[LocalServerEnvironment]:
        """The dev server in process with a connected client; stopped after the test."""
        from dw_testing.local import LocalServerEnvironment

        async with LocalServerEnvironment.start(**workflow_env_options) as env:
            yield env

    @_async_fixture
    async def workflow_client(workflow_env: LocalServerEnvironment) -> Client:
        """The async ``Client`` connected to ``workflow_env``'s server."""
        return workflow_env.client

else:  # pragma: no cover - exercised only without pytest-asyncio

    @pytest.fixture
    def workflow_env() -> Any:
        """Unavailable: pytest-asyncio is not installed."""
        pytest.fail(_NEEDS_ASYNCIO)

    @pytest.fixture
    def workflow_client() -> Any:
        """Unavailable: pytest-asyncio is not installed."""
        pytest.fail(_NEEDS_ASYNCIO)
