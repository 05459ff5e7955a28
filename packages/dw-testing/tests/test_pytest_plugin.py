"""The pytest plugin, loaded through its ``pytest11`` entry point in a fresh pytest process."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

WORKFLOWS = """
from dw_core import activity, workflow


@activity.defn(name="plugin.greet")
def greet(name):
    return f"Hello, {name}!"


@workflow.defn(name="plugin.greeter")
class Greeter:
    def run(self, ctx, name):
        greeting = yield ctx.schedule_activity("plugin.greet", [name])
        yield ctx.sleep(7 * 86400)
        return greeting
"""


def test_fixtures_make_a_workflow_test_three_lines(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(workflows=WORKFLOWS)
    pytester.makeconftest(
        """
import pytest

@pytest.fixture
def workflow_env_options(tmp_path):
    return {"db": str(tmp_path / "dev.sqlite")}
"""
    )
    pytester.makepyfile(
        test_user="""
from dw_client import Client
from dw_testing import LocalServerEnvironment, WorkflowEnvironment
from workflows import Greeter, greet


async def test_greeter(workflow_env):
    async with workflow_env.worker(workflows=[Greeter], activities=[greet]):
        assert await workflow_env.execute_workflow(Greeter, "Ada") == "Hello, Ada!"


async def test_options_and_client(workflow_env, workflow_client, tmp_path):
    assert isinstance(workflow_env, LocalServerEnvironment)
    assert isinstance(workflow_client, Client) and workflow_client is workflow_env.client
    assert (tmp_path / "dev.sqlite").is_file()
    info = await workflow_client.get_cluster_info()
    assert info["control_plane"]["version"] == "2"


def test_harness(workflow_harness):
    assert isinstance(workflow_harness, WorkflowEnvironment)
    workflow_harness.register_activity(greet)
    assert workflow_harness.execute_workflow(Greeter, "Bo") == "Hello, Bo!"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_fixtures_work_in_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(workflows=WORKFLOWS)
    pytester.makepyfile(
        test_strict="""
import pytest
from workflows import Greeter, greet


@pytest.mark.asyncio
async def test_greeter(workflow_env):
    async with workflow_env.worker(workflows=[Greeter], activities=[greet]):
        assert await workflow_env.execute_workflow(Greeter, "Cy") == "Hello, Cy!"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
