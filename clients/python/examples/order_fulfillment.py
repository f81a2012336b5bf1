"""Durable execution end to end: `python examples/order_fulfillment.py [SERVER_URL]`."""

import asyncio
import sys

from durable import Durable, TaskContext
from durable.types import EmitEventRequest

app = Durable(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8080")


def charge(order: dict) -> dict:  # a sync step runs in a thread
    return {"id": f"pay-{order['id']}"}


@app.task("send-email", queue="orders")
async def send_email(ctx: TaskContext, params: dict) -> dict:
    return {"sent_to": params["to"]}


@app.task("order-fulfillment", queue="orders", max_attempts=5)
async def fulfill(ctx: TaskContext, order: dict) -> dict:
    payment = await ctx.step("process-payment", charge, order)
    shipment = await ctx.await_event(f"shipment.packed:{order['id']}", timeout=86_400)
    await ctx.sleep_for(1)  # durable: survives worker and server restarts
    child = await ctx.spawn("send-email", {"to": order["email"]})
    sent = await ctx.await_task(child)
    return {"payment": payment["id"], "tracking": shipment["tracking"], "email": sent}


async def main() -> None:
    await app.ensure_queue("orders")
    stop = asyncio.Event()  # run_worker also stops on SIGINT/SIGTERM
    worker = asyncio.create_task(app.run_worker("orders", concurrency=16, stop=stop))
    handle = await app.spawn("order-fulfillment", {"id": 17, "email": "ada@example.com"})
    await app.client.emit_event(EmitEventRequest("shipment.packed:17", {"tracking": "1Z999"}))
    print(await handle.result(timeout=30))
    stop.set()
    await worker
    await app.aclose()


if __name__ == "__main__":
    asyncio.run(main())
