"""The published durable-workflow 0.4.84 SDK (a client nobody here wrote) against the dev server.

The SDK runs in its own venv (its import name clashes with our facade), driven by
``ref_sdk_scenarios.py`` in a subprocess while the server runs in this test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_devserver import DevServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
pytestmark = pytest.mark.reference_sdk


def reference_python() -> str:
    """The reference venv's python, creating the venv when missing (CI starts from a fresh clone)."""
    candidate = REPO / ".venv-ref" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    done = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def run_scenarios(url: str, *names: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        reference_python(),
        str(HERE / "ref_sdk_scenarios.py"),
        url,
        *names,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()[-3000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def ok(results: dict[str, Any], name: str) -> Any:
    entry = results[name]
    assert entry["ok"], f"{name}: {entry.get('error')}\n{entry.get('trace')}"
    return entry["value"]


async def test_reference_sdk_end_to_end() -> None:
    async with DevServer.start(long_poll_timeout=2) as server:
        has_schedules = any(getattr(r, "path", "") == "/api/schedules" for r in server_routes(server))
        names = [
            "quickstart",
            "signal_query_update",
            "timer",
            "child",
            "continue_as_new",
            "cancel_and_terminate",
            "signal_during_activity",
            "standalone_activity",
        ]
        if has_schedules:
            names.append("schedule_trigger")
        results = await run_scenarios(server.url, *names)
    assert ok(results, "quickstart") == "hello, world"
    flow = ok(results, "signal_query_update")
    assert flow["query_before"] == {"approved_by": None, "notes": []}
    assert flow["update_status"] == "completed" and flow["update_result"] == 1
    assert flow["result"] == {"order": 21, "doubled": 42, "approved_by": "ada", "notes": ["rush"]}
    assert ok(results, "timer") == "woke"
    assert ok(results, "child") == {"child": 41}
    can = ok(results, "continue_as_new")
    assert can["status"] == "completed" and can["result"] == "done at 3" and can["runs"] == 4
    stops = ok(results, "cancel_and_terminate")
    assert stops == {
        "cancel": "WorkflowCancelled: user asked",
        "terminate": "WorkflowTerminated: operator stop",
    }
    during = ok(results, "signal_during_activity")
    assert during == {"result": {"doubled": 10, "pokes": 1}, "activities_scheduled": 1}
    assert ok(results, "standalone_activity") == {
        "result": 42,
        "workflow_type": "dw.standalone_activity",
        "status": "completed",
        "listed": ["ref-standalone-1"],
    }
    if has_schedules:
        assert ok(results, "schedule_trigger") == {"outcome": "triggered", "result": "hello, schedule"}


def server_routes(server: DevServer) -> list[Any]:
    from dw_devserver.routes import load_route_modules

    return [route for module in load_route_modules() for route in module.routes]
