"""The demo's slow job. A real one would resize images, call an API or build a report."""

import asyncio

from {{ cookiecutter.project_slug }}.environment import env_int

# Each step's length: half a second, for a person to watch. TASKS_STEP_MILLISECONDS in the environment shortens
# it: the browser tests do, in the processes they start (tasks/tests/test_browser.py).
STEP_SECONDS = env_int("TASKS_STEP_MILLISECONDS", 500, minimum=1, maximum=60_000) / 1000


class JobFailed(Exception):
    pass


async def count_slowly(steps, fail_at=None):
    """Yield each step number once it is done; raise JobFailed at step `fail_at` (to show failures)."""
    for step in range(1, steps + 1):
        # Blocking work (the ORM, a sync library) would go through database_sync_to_async or
        # sync_to_async here, so the worker's event loop stays free.
        await asyncio.sleep(STEP_SECONDS)
        if step == fail_at:
            raise JobFailed(f"step {step} of {steps} failed (the demo was asked to fail there)")
        yield step
