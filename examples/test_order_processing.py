"""How to test a workflow: the order example, in process and against the local dev server.

Run with ``python -m pytest examples/test_order_processing.py`` (needs ``pytest-asyncio``; the
``workflow_env`` / ``workflow_harness`` fixtures come from the dw-testing pytest plugin).
"""

import pytest
from order_processing import OrderProcessing, charge_card, reserve_stock, ship

from durable_workflow.errors import WorkflowFailed

ORDER = {"id": "T-1", "items": ["lamp"], "total": 40}
ADDRESS = {"street": "2 Side St", "city": "Porto"}


def test_in_process_with_the_real_activities(workflow_harness):
    for fn in (reserve_stock, charge_card, ship):
        workflow_harness.register_activity(fn)
    workflow_harness.signal("set_address", [ADDRESS])

    result = workflow_harness.execute_workflow(OrderProcessing, ORDER)

    assert result["charge"]["attempt"] == 2  # the first attempt failed and was retried
    assert result["tracking"] == "TRACK-T-1-PORTO"
    assert workflow_harness.query("status") == "shipped"


def test_in_process_payment_declined(workflow_harness):
    def declined(order):
        raise ValueError("card declined")

    workflow_harness.register_activity_result("orders.reserve_stock", "reservation-T-1")
    workflow_harness.register_activity("orders.charge_card", declined)

    with pytest.raises(WorkflowFailed, match="card declined"):
        workflow_harness.execute_workflow(OrderProcessing, ORDER)


async def test_on_the_local_dev_server(workflow_env):
    activities = [reserve_stock, charge_card, ship]
    async with workflow_env.worker(workflows=[OrderProcessing], activities=activities):
        handle = await workflow_env.start_workflow(OrderProcessing, ORDER)
        await handle.signal("set_address", [ADDRESS])
        result = await workflow_env.result(handle)

    assert result["tracking"] == "TRACK-T-1-PORTO"
    assert (await workflow_env.replay(handle, OrderProcessing)).terminal.result == result
