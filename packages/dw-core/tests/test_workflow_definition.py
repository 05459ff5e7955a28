"""@workflow.defn and receiver decorators: registration, receiver maps, fingerprints, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_core import workflow
from dw_core.workflow import WorkflowDefinitionError, definition_fingerprint, get_definition


@workflow.defn(name="definition.order")
class Order:
    @workflow.signal("approve")
    def approve(self, who: str) -> None: ...

    @workflow.query("status")
    def status(self) -> str:
        return "ok"

    @workflow.update("rename")
    def rename(self, name: str) -> str:
        return name

    @rename.validator  # type: ignore[attr-defined,untyped-decorator]
    def check_rename(self, name: str) -> None: ...

    @workflow.update_validator("other")
    def check_other(self) -> None: ...

    def run(self, ctx: workflow.WorkflowContext) -> Any:
        yield ctx.start_timer(1)


def test_defn_registers_the_type_and_builds_receiver_maps() -> None:
    assert workflow.registry()["definition.order"] is Order
    definition = get_definition(Order)
    assert definition.name == "definition.order"
    assert definition.signals == {"approve": "approve"}
    assert definition.queries == {"status": "status"}
    assert definition.updates == {"rename": "rename"}
    assert definition.update_validators == {"rename": "check_rename", "other": "check_other"}
    assert Order.__workflow_signals__ == {"approve": "approve"}  # type: ignore[attr-defined]


def test_fingerprint_is_stable_and_follows_the_class() -> None:
    assert definition_fingerprint(Order) == definition_fingerprint(Order)
    assert definition_fingerprint(Order).startswith("sha256:")

    @workflow.defn(name="definition.order")
    class Order2:  # same type name, different body
        def run(self, ctx: workflow.WorkflowContext) -> Any:
            yield ctx.start_timer(2)

    assert definition_fingerprint(Order2) != definition_fingerprint(Order)
    workflow.defn(name="definition.order")(Order)  # restore the registry entry


def test_async_run_is_refused_with_a_hint() -> None:
    with pytest.raises(WorkflowDefinitionError, match="workflows are generators"):

        @workflow.defn(name="definition.async")
        class Async:
            async def run(self, ctx: Any) -> None: ...


@pytest.mark.parametrize("bad", ["", "  ", None, 3])
def test_names_must_be_non_empty_strings(bad: Any) -> None:
    with pytest.raises(WorkflowDefinitionError):
        workflow.defn(name=bad)
    with pytest.raises(WorkflowDefinitionError):
        workflow.signal(bad)


def test_missing_run_and_undecorated_classes_are_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match="no run"):

        @workflow.defn(name="definition.norun")
        class NoRun:
            pass

    class Plain:
        def run(self, ctx: Any) -> None: ...

    with pytest.raises(WorkflowDefinitionError, match="decorate it with @workflow"):
        get_definition(Plain)


def test_two_methods_for_one_signal_name_are_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match="declared by both"):

        @workflow.defn(name="definition.dupe")
        class Dupe:
            @workflow.signal("go")
            def a(self) -> None: ...

            @workflow.signal("go")
            def b(self) -> None: ...

            def run(self, ctx: Any) -> None: ...


DEFINITION_SCRIPT = """
try:
    from dw_core import workflow
    from dw_core.workflow import definition_fingerprint
except ImportError:  # the published SDK keeps its recipe in the worker module
    from durable_workflow import workflow
    from durable_workflow.worker import _workflow_definition_fingerprint as definition_fingerprint


@workflow.defn(name="fingerprint.demo")
class Demo:
    @workflow.signal("approve")
    def approve(self):
        pass

    @workflow.query("status")
    def status(self):
        return "ok"

    @workflow.update("rename")
    def rename(self, name):
        return name

    def run(self, ctx):
        yield ctx.start_timer(1)


print(definition_fingerprint(Demo))
"""


@pytest.mark.reference_sdk
def test_definition_fingerprint_equals_the_published_recipe(tmp_path: Path) -> None:
    script = tmp_path / "definition.py"
    script.write_text(DEFINITION_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    fingerprints = [
        subprocess.run(
            [python, str(script)], capture_output=True, text=True, check=True, env=env, timeout=120
        ).stdout.strip()
        for python in (sys.executable, _reference_python())
    ]
    assert fingerprints[0].startswith("sha256:")
    assert fingerprints[0] == fingerprints[1]


def _reference_python() -> str:
    repo_root = Path(__file__).resolve().parents[3]
    candidate = repo_root / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    made = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]
