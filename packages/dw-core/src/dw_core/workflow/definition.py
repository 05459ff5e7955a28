"""Workflow registration: ``@defn``, receiver decorators, the registry and definition fingerprints."""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

__all__ = [
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "definition_fingerprint",
    "defn",
    "get_definition",
    "query",
    "registry",
    "signal",
    "update",
    "update_validator",
]

T = TypeVar("T", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_DEFINITION_FINGERPRINT_TAG: Final = b"durable-workflow-python.workflow-definition.v1\0"

_registry: dict[str, type] = {}
_registry_lock = threading.Lock()


class WorkflowDefinitionError(TypeError):
    """A workflow class or receiver is declared in a way the SDK cannot run."""


def _check_receiver_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise WorkflowDefinitionError(
            f"@workflow.{kind}(name) needs a non-empty string name, got {name!r}; "
            f"write @workflow.{kind}('my-{kind}')"
        )
    return name


def signal(name: str) -> Callable[[F], F]:
    """Mark a method as the handler of signal ``name`` (its return value is ignored)."""
    _check_receiver_name("signal", name)

    def mark(fn: F) -> F:
        fn.__signal_name__ = name  # type: ignore[attr-defined]
        return fn

    return mark


def query(name: str) -> Callable[[F], F]:
    """Mark a method as the read-only handler of query ``name``."""
    _check_receiver_name("query", name)

    def mark(fn: F) -> F:
        fn.__query_name__ = name  # type: ignore[attr-defined]
        return fn

    return mark


def update_validator(name: str) -> Callable[[F], F]:
    """Mark a method as the validator of update ``name`` (raise or return ``False`` to reject)."""
    _check_receiver_name("update_validator", name)

    def mark(fn: F) -> F:
        fn.__update_validator_name__ = name  # type: ignore[attr-defined]
        return fn

    return mark


def update(name: str) -> Callable[[F], F]:
    """Mark a method as the handler of update ``name``; ``@handler.validator`` adds a validator."""
    _check_receiver_name("update", name)

    def mark(fn: F) -> F:
        fn.__update_name__ = name  # type: ignore[attr-defined]
        fn.validator = update_validator(name)  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class WorkflowDefinition:
    """Everything the replay engine needs to know about a registered workflow class."""

    name: str
    cls: type
    signals: dict[str, str]
    queries: dict[str, str]
    updates: dict[str, str]
    update_validators: dict[str, str]
    fingerprint: str


def _receivers(cls: type, marker: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for attribute in dir(cls):
        if attribute.startswith("_"):
            continue
        member = inspect.getattr_static(cls, attribute, None)
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        name = getattr(member, marker, None)
        if isinstance(name, str):
            if name in found and found[name] != attribute:
                raise WorkflowDefinitionError(
                    f"{cls.__qualname__}: {marker.strip('_')} {name!r} is declared by both "
                    f"{found[name]!r} and {attribute!r}; give each receiver its own name"
                )
            found[name] = attribute
    return found


def _class_source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        parts = []
        for attribute in sorted(vars(cls)):
            if attribute.startswith("__") and attribute.endswith("__"):
                continue
            member = vars(cls)[attribute]
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None:
                parts.append(f"{attribute}:{code.co_code.hex()}:{code.co_consts!r}:{code.co_names!r}")
            else:
                parts.append(f"{attribute}:{member!r}")
        return "\n".join(parts)


def definition_fingerprint(cls: type) -> str:
    """``sha256:<hex>`` over the class identity, type name, receiver maps and source (replay.md §11)."""
    digest = hashlib.sha256(_DEFINITION_FINGERPRINT_TAG)
    digest.update(f"{cls.__module__}.{cls.__qualname__}\0".encode())
    digest.update(f"{getattr(cls, '__workflow_name__', '')}\0".encode())
    source = _class_source(cls)
    for registry_name in (
        "__workflow_signals__",
        "__workflow_queries__",
        "__workflow_updates__",
        "__workflow_update_validators__",
    ):
        items = getattr(cls, registry_name, {})
        digest.update(registry_name.encode())
        digest.update(repr(sorted(items.items())).encode())
    digest.update(source.encode())
    return "sha256:" + digest.hexdigest()


def defn(*, name: str) -> Callable[[T], T]:
    """Register a workflow class under the language-neutral type ``name``.

    The class needs a zero-argument constructor and a ``run(self, ctx, *args)`` method that is a
    generator (yield commands) or a plain function (its return value completes the run).
    """
    if not isinstance(name, str) or not name.strip():
        raise WorkflowDefinitionError(
            f"@workflow.defn(name=...) needs a non-empty type name, got {name!r}; it is the workflow_type "
            "clients start and other languages call"
        )

    def register(cls: T) -> T:
        if not isinstance(cls, type):
            raise WorkflowDefinitionError(f"@workflow.defn decorates a class, got {cls!r}")
        run = getattr(cls, "run", None)
        if not callable(run):
            raise WorkflowDefinitionError(
                f"workflow class {cls.__qualname__} has no run(self, ctx, *args) method"
            )
        if inspect.iscoroutinefunction(run) or inspect.isasyncgenfunction(run):
            raise WorkflowDefinitionError(
                f"{cls.__qualname__}.run is async; workflows are generators: "
                "write 'def run(self, ctx, ...)' and "
                "'result = yield ctx.schedule_activity(...)' instead of await"
            )
        cls.__workflow_name__ = name  # type: ignore[attr-defined]
        cls.__workflow_signals__ = _receivers(cls, "__signal_name__")  # type: ignore[attr-defined]
        cls.__workflow_queries__ = _receivers(cls, "__query_name__")  # type: ignore[attr-defined]
        cls.__workflow_updates__ = _receivers(cls, "__update_name__")  # type: ignore[attr-defined]
        cls.__workflow_update_validators__ = _receivers(  # type: ignore[attr-defined]
            cls, "__update_validator_name__"
        )
        cls.__workflow_definition__ = None  # type: ignore[attr-defined]
        with _registry_lock:
            _registry[name] = cls
        return cls

    return register


def registry() -> dict[str, type]:
    """A copy of the process-wide map of workflow type name to class."""
    with _registry_lock:
        return dict(_registry)


def get_definition(cls: type) -> WorkflowDefinition:
    """The (cached) :class:`WorkflowDefinition` of a ``@workflow.defn`` class.

    Raises :class:`WorkflowDefinitionError` for an undecorated class.
    """
    cached = cls.__dict__.get("__workflow_definition__")
    if isinstance(cached, WorkflowDefinition):
        return cached
    name = cls.__dict__.get("__workflow_name__")
    if not isinstance(name, str):
        raise WorkflowDefinitionError(
            f"{getattr(cls, '__qualname__', cls)!r} is not a workflow: "
            "decorate it with @workflow.defn(name='...')"
        )
    definition = WorkflowDefinition(
        name=name,
        cls=cls,
        signals=dict(cls.__dict__.get("__workflow_signals__", {})),
        queries=dict(cls.__dict__.get("__workflow_queries__", {})),
        updates=dict(cls.__dict__.get("__workflow_updates__", {})),
        update_validators=dict(cls.__dict__.get("__workflow_update_validators__", {})),
        fingerprint=definition_fingerprint(cls),
    )
    cls.__workflow_definition__ = definition  # type: ignore[attr-defined]
    return definition
