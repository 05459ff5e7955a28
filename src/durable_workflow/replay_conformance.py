"""Replay conformance evidence shard for the Python runtime (re-exported from
:mod:`dw_testing.replay_conformance`); console script ``durable-workflow-replay-conformance``.

Not imported by the package: ``import durable_workflow.replay_conformance`` explicitly.
"""

from dw_testing.replay_conformance import (
    COMPLETED_SCENARIOS,
    COVERAGE_SCOPE,
    PUBLISHED_ARTIFACT_SOURCES,
    REQUIRED_ARTIFACTS,
    RESTART_SCENARIOS,
    RESULT_SCHEMA,
    RESULT_VERSION,
    ReplayConformanceDivergentWorkflow,
    ReplayConformanceWorkflow,
    compose_report,
    main,
)

__all__ = [
    "COMPLETED_SCENARIOS",
    "COVERAGE_SCOPE",
    "PUBLISHED_ARTIFACT_SOURCES",
    "REQUIRED_ARTIFACTS",
    "RESTART_SCENARIOS",
    "RESULT_SCHEMA",
    "RESULT_VERSION",
    "ReplayConformanceDivergentWorkflow",
    "ReplayConformanceWorkflow",
    "compose_report",
    "main",
]
