"""Quickstart: a workflow, an activity, a worker and the embedded dev server, in one file.

Run it with ``python examples/quickstart.py`` (or ``python3 tools/dev.py quickstart``). It prints
``Hello, Ada!``. To use a real Durable Workflow server instead of the embedded one, drop
``DevServer`` and pass the server's URL (and token) to ``Client``.
"""

import asyncio

from durable_workflow import Client, Worker, activity, workflow
from durable_workflow.devserver import DevServer


@activity.defn(name="greet")
def greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn(name="greeter")
class Greeter:
    def run(self, ctx, name):
        greeting = yield ctx.schedule_activity("greet", [name])
        return greeting


async def main() -> None:
    async with DevServer.start() as server, Client(server.url) as client:
        worker = Worker(client, task_queue="quickstart", workflows=[Greeter], activities=[greet])
        async with worker:  # polls in the background until the block ends
            handle = await client.start_workflow(
                workflow_type="greeter", task_queue="quickstart", workflow_id="greeter-ada", input=["Ada"]
            )
            print(await handle.result())


if __name__ == "__main__":
    asyncio.run(main())
