"""What the worker tells the server about itself: type names, fingerprints, and the in-process guard."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dw_worker.engine import definition_fingerprint

_registered: dict[tuple[str, str], str] = {}
_registered_lock = threading.Lock()


class WorkflowDefinitionChanged(RuntimeError):
    """A second worker with the same id was built with a changed workflow class in this process."""


def workflow_type_name(cls: type) -> str:
    """The registered type name of a workflow class (``@workflow.defn(name=...)``, else the class name)."""
    name = getattr(cls, "__workflow_name__", None)
    return name if isinstance(name, str) and name else cls.__name__


def activity_type_name(fn: Callable[..., Any]) -> str:
    """The registered type name of an activity (``@activity.defn(name=...)``, else the function name)."""
    name = getattr(fn, "__activity_name__", None)
    if isinstance(name, str) and name:
        return name
    return str(getattr(fn, "__name__", type(fn).__name__))


def index_by_name(items: Iterable[Any], name_of: Callable[[Any], str], kind: str) -> dict[str, Any]:
    """Map items by their type name; the same name twice for different objects is a mistake we refuse."""
    indexed: dict[str, Any] = {}
    for item in items:
        name = name_of(item)
        if name in indexed and indexed[name] is not item:
            raise ValueError(
                f"two different {kind}s are registered under the type name {name!r}; give one of them "
                f"another name with @{kind}.defn(name=...)"
            )
        indexed[name] = item
    return indexed


def fingerprints(workflows: Mapping[str, type]) -> dict[str, str]:
    return {name: definition_fingerprint(cls) for name, cls in workflows.items()}


def guard_definitions(worker_id: str, fingerprints_by_type: Mapping[str, str]) -> None:
    """Refuse a changed workflow class for a worker id already registered in this process."""
    with _registered_lock:
        for workflow_type, fingerprint in fingerprints_by_type.items():
            known = _registered.get((worker_id, workflow_type))
            if known is not None and known != fingerprint:
                raise WorkflowDefinitionChanged(
                    f"Workflow definition changed for worker {worker_id!r}, type {workflow_type!r} "
                    f"({known} -> {fingerprint}); restart the worker process or use a new worker_id "
                    "so running workflows are not replayed with different code"
                )
        for workflow_type, fingerprint in fingerprints_by_type.items():
            _registered[(worker_id, workflow_type)] = fingerprint
