"""``durable_workflow.testing`` keeps the published module's names, backed by dw_testing."""

from __future__ import annotations

import dw_testing
from dw_core.workflow import replay_history as core_replay_history

import durable_workflow.testing as facade


def test_published_names_are_exported_and_are_ours() -> None:
    for name in ("WorkflowEnvironment", "WorkflowRunRecord", "replay_history", "replay_history_file"):
        assert name in facade.__all__
        assert getattr(facade, name) is getattr(dw_testing, name)
    assert facade.replay_history is core_replay_history


def test_local_environment_loads_lazily_from_the_package() -> None:
    from dw_testing.local import LocalServerEnvironment

    assert dw_testing.LocalServerEnvironment is LocalServerEnvironment
    assert facade.LocalServerEnvironment is LocalServerEnvironment
