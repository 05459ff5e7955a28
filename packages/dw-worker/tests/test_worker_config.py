"""Worker construction: argument validation, type names and the in-process definition guard.

These need no server: the Worker does no I/O before ``run()``. ``client`` is a plain object because
the constructor only stores it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from dw_core import workflow
from dw_worker import Worker

CLIENT = object()


def _workflow_class(body: str) -> type:
    namespace: dict[str, Any] = {"__name__": "guard_module"}
    exec(
        f"class Flow:\n    def run(self, ctx):\n        {body}\n", namespace
    )  # no source file: bytecode fingerprint
    cls: type = workflow.defn(name="guard.flow")(namespace["Flow"])
    return cls


def test_changed_workflow_class_under_the_same_worker_id_is_refused() -> None:
    worker_id = f"guard-{uuid.uuid4().hex[:6]}"
    Worker(CLIENT, task_queue="q", workflows=[_workflow_class("return 1")], worker_id=worker_id)
    Worker(CLIENT, task_queue="q", workflows=[_workflow_class("return 1")], worker_id=worker_id)  # same: fine
    with pytest.raises(RuntimeError, match="Workflow definition changed for worker"):
        Worker(CLIENT, task_queue="q", workflows=[_workflow_class("return 2")], worker_id=worker_id)
    # another worker id is a fresh registration
    Worker(CLIENT, task_queue="q", workflows=[_workflow_class("return 2")], worker_id=worker_id + "-b")


def test_fingerprints_and_type_names_are_advertised() -> None:
    flow = _workflow_class("return 3")

    def plain_activity() -> None: ...

    worker = Worker(CLIENT, task_queue="q", workflows=[flow], activities=[plain_activity])
    assert list(worker.workflows) == ["guard.flow"]
    assert list(worker.activities) == ["plain_activity"]
    assert worker.workflow_definition_fingerprints["guard.flow"].startswith("sha256:")
    assert worker.worker_id.startswith("py-worker-") and len(worker.worker_id) == len("py-worker-") + 8


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"build_id": "  "}, "build_id"),
        ({"max_concurrent_workflow_tasks": 0}, "max_concurrent_workflow_tasks"),
        ({"max_concurrent_activity_tasks": True}, "max_concurrent_activity_tasks"),
        ({"heartbeat_interval": 0}, "heartbeat_interval"),
        ({"external_storage_threshold_bytes": 0}, "external_storage_threshold_bytes"),
        ({"max_cached_workflows": -1}, "max_cached_workflows"),
        ({"task_queue": ""}, "task_queue"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_the_argument(kwargs: dict[str, Any], fragment: str) -> None:
    options: dict[str, Any] = {"task_queue": "q", **kwargs}
    with pytest.raises(ValueError, match=fragment):
        Worker(CLIENT, **options)


def test_two_activities_with_one_type_name_are_refused() -> None:
    def first() -> None: ...

    def second() -> None: ...

    second.__activity_name__ = "first"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="type name 'first'"):
        Worker(CLIENT, task_queue="q", activities=[first, second])


async def test_the_server_refuses_a_changed_class_under_an_active_worker_id(
    server: Any, client: Any, queue: str, tmp_path: Any
) -> None:
    import subprocess
    import sys
    import textwrap

    worker_id = f"guard-{uuid.uuid4().hex[:6]}"
    script = tmp_path / "changed_worker.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from dw_client import Client
            from dw_core import workflow
            from dw_worker import Worker

            namespace = {"__name__": "guard_module"}
            exec("class Flow:\\n    def run(self, ctx):\\n        return 'v2'\\n", namespace)
            Flow = workflow.defn(name="guard.flow")(namespace["Flow"])

            async def main():
                async with Client(sys.argv[1]) as client:
                    try:
                        worker = Worker(
                            client, task_queue=sys.argv[2], workflows=[Flow], worker_id=sys.argv[3]
                        )
                        await worker.run()
                    except RuntimeError as exc:
                        print("refused:", exc)

            asyncio.run(main())
            """
        )
    )
    async with Worker(client, task_queue=queue, workflows=[_workflow_class("return 1")], worker_id=worker_id):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(script), server.url, queue, worker_id],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert "refused:" in done.stdout, done.stderr[-2000:]
    assert "different definition of workflow type 'guard.flow'" in done.stdout
