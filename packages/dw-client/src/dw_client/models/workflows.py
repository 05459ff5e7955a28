"""Result models for workflow executions, runs and workflow commands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dw_client.models._fields import (
    as_mapping,
    dict_list,
    opt_bool,
    opt_dict,
    opt_int,
    opt_str,
    req_int,
    req_str,
)


@dataclass
class WorkflowExecution:
    """The newest run of a workflow, as ``describe_workflow`` and ``list_workflows`` return it."""

    workflow_id: str
    run_id: str | None
    workflow_type: str
    status: str | None = None
    namespace: str | None = None
    task_queue: str | None = None
    input: Any = None
    output: Any = None
    payload_codec: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowExecution:
        """Build from a server JSON object; missing keys become defaults."""
        data = as_mapping(data)
        return cls(
            workflow_id=req_str(data, "workflow_id"),
            run_id=opt_str(data, "run_id"),
            workflow_type=req_str(data, "workflow_type"),
            status=opt_str(data, "status"),
            namespace=opt_str(data, "namespace"),
            task_queue=opt_str(data, "task_queue"),
            input=data.get("input"),
            output=data.get("output"),
            payload_codec=opt_str(data, "payload_codec"),
        )


@dataclass
class WorkflowList:
    """One page of ``list_workflows``; pass ``next_page_token`` back for the next page."""

    executions: list[WorkflowExecution]
    next_page_token: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowList:
        """Build from a server JSON object; missing keys become defaults."""
        data = as_mapping(data)
        items = dict_list(data, "workflows") or dict_list(data, "executions")
        return cls(
            executions=[WorkflowExecution.from_dict(item) for item in items],
            next_page_token=opt_str(data, "next_page_token"),
        )


@dataclass
class WorkflowRun:
    """One run of a workflow (a link of a continue-as-new chain)."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str | None = None
    namespace: str | None = None
    task_queue: str | None = None
    run_number: int | None = None
    run_count: int | None = None
    is_current_run: bool | None = None
    status_bucket: str | None = None
    business_key: str | None = None
    compatibility: str | None = None
    payload_codec: str | None = None
    input: Any = None
    output: Any = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None
    actions: dict[str, Any] | None = None
    started_at: str | None = None
    closed_at: str | None = None
    last_progress_at: str | None = None
    closed_reason: str | None = None
    wait_kind: str | None = None
    wait_reason: str | None = None
    execution_timeout_seconds: int | None = None
    run_timeout_seconds: int | None = None
    execution_deadline_at: str | None = None
    run_deadline_at: str | None = None

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, workflow_id: str | None = None, run_id: str | None = None
    ) -> WorkflowRun:
        """Build from a server JSON object; ``workflow_id``/``run_id`` fill in absent keys."""
        data = as_mapping(data)
        return cls(
            workflow_id=req_str(data, "workflow_id", workflow_id or ""),
            run_id=req_str(data, "run_id", run_id or ""),
            workflow_type=req_str(data, "workflow_type"),
            status=opt_str(data, "status"),
            namespace=opt_str(data, "namespace"),
            task_queue=opt_str(data, "task_queue"),
            run_number=opt_int(data, "run_number"),
            run_count=opt_int(data, "run_count"),
            is_current_run=opt_bool(data, "is_current_run"),
            status_bucket=opt_str(data, "status_bucket"),
            business_key=opt_str(data, "business_key"),
            compatibility=opt_str(data, "compatibility"),
            payload_codec=opt_str(data, "payload_codec"),
            input=data.get("input"),
            output=data.get("output"),
            memo=opt_dict(data, "memo"),
            search_attributes=opt_dict(data, "search_attributes"),
            actions=opt_dict(data, "actions"),
            started_at=opt_str(data, "started_at"),
            closed_at=opt_str(data, "closed_at"),
            last_progress_at=opt_str(data, "last_progress_at"),
            closed_reason=opt_str(data, "closed_reason"),
            wait_kind=opt_str(data, "wait_kind"),
            wait_reason=opt_str(data, "wait_reason"),
            execution_timeout_seconds=opt_int(data, "execution_timeout_seconds"),
            run_timeout_seconds=opt_int(data, "run_timeout_seconds"),
            execution_deadline_at=opt_str(data, "execution_deadline_at"),
            run_deadline_at=opt_str(data, "run_deadline_at"),
        )


@dataclass
class WorkflowRunList:
    """Every run of a workflow id, oldest first."""

    workflow_id: str
    run_count: int
    runs: list[WorkflowRun] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, workflow_id: str | None = None) -> WorkflowRunList:
        """Build from a server JSON object; runs inherit the top-level ``workflow_id``."""
        data = as_mapping(data)
        wf_id = req_str(data, "workflow_id", workflow_id or "")
        runs = [WorkflowRun.from_dict(item, workflow_id=wf_id) for item in dict_list(data, "runs")]
        return cls(workflow_id=wf_id, run_count=req_int(data, "run_count", len(runs)), runs=runs)


@dataclass
class WorkflowCommandResult:
    """What the server did with a repair or archive command; ``raw`` keeps the whole body."""

    workflow_id: str
    outcome: str
    command_status: str | None = None
    command_id: str | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, workflow_id: str | None = None) -> WorkflowCommandResult:
        """Build from a server JSON object; ``workflow_id`` fills in an absent key."""
        data = as_mapping(data)
        return cls(
            workflow_id=req_str(data, "workflow_id", workflow_id or ""),
            outcome=req_str(data, "outcome"),
            command_status=opt_str(data, "command_status"),
            command_id=opt_str(data, "command_id"),
            raw=dict(data),
        )
