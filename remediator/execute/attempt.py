"""One attempt at an action: run it within its time budget, and name how it ended.

Actions enforce their own timeout (and say whether a retry is safe); the
worker cancels only one that overruns it by `grace` seconds, which may have
half acted: that is an error no retry repeats.
"""

from __future__ import annotations

import asyncio
import time

from remediator.actions.registry import ActionRegistry
from remediator.execute.metrics import WorkerMetrics
from remediator.model.actions import (
    ActionError,
    ActionRequest,
    ActionResult,
    TargetGone,
)
from remediator.model.outcomes import Outcome


async def attempt(request: ActionRequest, *, actions: ActionRegistry, metrics: WorkerMetrics,
                  grace: float) -> tuple[ActionResult | ActionError, float]:
    """Run one action with its timeout; return (result or error, seconds)."""
    action = actions.get(request.type)
    started = time.perf_counter()
    metrics.actions_in_flight.inc()
    try:
        if action is None:
            raise ActionError(f"no implementation for {request.type} "
                              "(is the Kubernetes connection configured?)")
        result: ActionResult | ActionError = await asyncio.wait_for(
            action.run(request), timeout=request.timeout + grace)
    except TimeoutError:
        # The action did not stop at its own deadline: it may be half done.
        result = ActionError(f"timeout: no result within {request.timeout:g}s; cancelled "
                             "and not retried (it may have acted)")
    except ActionError as error:
        result = error
    except Exception as error:
        result = ActionError(f"{type(error).__name__}: {error}")
    finally:
        metrics.actions_in_flight.dec()
    elapsed = time.perf_counter() - started
    metrics.action_duration.labels(action=request.type).observe(elapsed)
    return result, elapsed


def outcome_of(result: ActionResult | ActionError) -> Outcome:
    """The outcome an attempt's result records: the target was gone, it failed, or it ran."""
    if isinstance(result, TargetGone):
        return Outcome.TARGET_GONE
    if isinstance(result, ActionError):
        return Outcome.FAILED
    return Outcome.SUCCEEDED
