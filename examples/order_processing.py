"""Order processing: several activities, a retried payment, a signal and a query.

The workflow reserves stock, charges the card (the payment gateway times out once; the
``ActivityRetryPolicy`` makes the server retry it), then waits for the customer's shipping address
(a signal) before shipping. Its progress can be read at any time with the ``status`` query.

Run it with ``python examples/order_processing.py``; it starts the embedded dev server in process,
runs a worker, drives one order through and prints a summary.
"""

import asyncio

from durable_workflow import Client, Worker, activity, workflow
from durable_workflow.devserver import DevServer
from durable_workflow.workflow import ActivityRetryPolicy

TASK_QUEUE = "orders"


@activity.defn(name="orders.reserve_stock")
def reserve_stock(order):
    return f"reservation-{order['id']}"


@activity.defn(name="orders.charge_card")
def charge_card(order):
    attempt = activity.context().info.attempt_number
    if attempt == 1:
        raise ConnectionError("payment gateway timed out")  # the first attempt fails
    return {"charge_id": f"ch-{order['id']}", "amount": order["total"], "attempt": attempt}


@activity.defn(name="orders.ship")
def ship(order, address):
    return f"TRACK-{order['id']}-{address['city'].upper()}"


@workflow.defn(name="orders.process")
class OrderProcessing:
    def __init__(self):
        self.status = "received"
        self.address = None

    @workflow.signal("set_address")
    def set_address(self, address):
        self.address = address

    @workflow.query("status")
    def current_status(self):
        return self.status

    def run(self, ctx, order):
        self.status = "reserving stock"
        reservation = yield ctx.schedule_activity("orders.reserve_stock", [order])

        self.status = "charging card"
        retry = ActivityRetryPolicy(max_attempts=3, initial_interval_seconds=1)
        charge = yield ctx.schedule_activity("orders.charge_card", [order], retry_policy=retry)

        self.status = "waiting for address"
        yield ctx.wait_condition(lambda: self.address is not None, key="address")

        self.status = "shipping"
        tracking = yield ctx.schedule_activity("orders.ship", [order, self.address])

        self.status = "shipped"
        return {"order": order["id"], "reservation": reservation, "charge": charge, "tracking": tracking}


async def wait_for_status(handle, wanted):
    for _ in range(600):
        answer = await handle.query("status")
        if answer["result"] == wanted:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"order never reached status {wanted!r}")


async def main():
    order = {"id": "A-1001", "items": ["keyboard", "mouse"], "total": 129.5}
    async with DevServer.start() as server, Client(server.url) as client:
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[OrderProcessing],
            activities=[reserve_stock, charge_card, ship],
        )
        async with worker:
            handle = await client.start_workflow(
                workflow_type="orders.process",
                task_queue=TASK_QUEUE,
                workflow_id="order-A-1001",
                input=[order],
            )
            await wait_for_status(handle, "waiting for address")
            print("status: waiting for address (payment done)")

            await handle.signal("set_address", [{"street": "1 Main St", "city": "Lisbon"}])
            result = await handle.result()
            status = (await handle.query("status"))["result"]

    print(f"order {result['order']}: {status}")
    print(f"  stock reserved: {result['reservation']}")
    charge = result["charge"]
    print(f"  card charged:   {charge['charge_id']} for {charge['amount']}", end="")
    print(f" (succeeded on attempt {charge['attempt']})")
    print(f"  tracking:       {result['tracking']}")


if __name__ == "__main__":
    asyncio.run(main())
