"""A worker process for the crash test: `python crash_worker.py URL QUEUE DIR`.

Each step appends a line to `DIR/<step>` when it runs, so the test can count
executions across processes. The first execution of step two blocks (the
test kills the process there); later ones return at once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from durable import Durable, TaskContext

url, queue, directory = sys.argv[1], sys.argv[2], Path(sys.argv[3])
app = Durable(url)


def run(step: str) -> str:
    path = directory / step
    with path.open("a") as out:
        out.write("ran\n")
    if step == "two" and len(path.read_text().splitlines()) == 1:
        time.sleep(60)
    return step


@app.task("three-steps", queue=queue)
async def three_steps(ctx: TaskContext, _: None) -> list[str]:
    return [await ctx.step(name, run, name) for name in ("one", "two", "three")]


# A short claim, so the killed worker's claim expires quickly.
asyncio.run(app.run_worker(queue, claim_timeout=2, long_poll_seconds=1))
