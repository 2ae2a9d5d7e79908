"""The bound log fields live below every layer; `app.logs` formats them unchanged."""

from __future__ import annotations

import asyncio
import logging

from remediator.app import logs
from remediator.model import log_context


def test_app_logs_hands_out_the_one_context() -> None:
    assert (logs.bind, logs.bound, logs.task_context, logs.context) == (
        log_context.bind, log_context.bound, log_context.task_context, log_context.context)


def test_a_task_context_carries_its_fields_and_leaves_the_caller_alone() -> None:
    async def main() -> dict[str, str]:
        async def job() -> dict[str, str]:
            log_context.bind(fingerprint="fp", empty=None)
            return dict(log_context.context())

        task = asyncio.create_task(job(), context=log_context.task_context(remediation_id="r1"))
        seen = await task
        assert dict(log_context.context()) == {}
        return seen

    assert asyncio.run(main()) == {"remediation_id": "r1", "fingerprint": "fp"}


def test_the_filter_copies_bound_fields_onto_each_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "msg", None, None)
    with log_context.bound(remediation_id="r2"):
        logs.ContextFilter().filter(record)
    assert record.__dict__["context"] == {"remediation_id": "r2"}
