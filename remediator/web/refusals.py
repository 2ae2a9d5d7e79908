"""The webhook's answer to a wrong or missing token: counted always, audited as a sample.

See `unauthenticated.py`: one audit entry per client per minute, carrying
how many refusals of that client went unrecorded before it.
"""

from __future__ import annotations

import contextlib

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from remediator.app.services import Services
from remediator.store import StoreUnavailable
from remediator.web.deps import READ_ONLY, client_address, note_refusal


async def refuse(request: Request, services: Services, failure: str) -> JSONResponse:
    """401 (or 403 for the read-only token) with the reason; a sampled `rejected` entry."""
    status = 403 if failure == READ_ONLY else 401
    suppressed = note_refusal(request, services, failure)
    if suppressed is not None:
        detail = {"status": status, "client": client_address(request),
                  "unrecorded_before": suppressed}
        with contextlib.suppress(StoreUnavailable):
            await run_in_threadpool(services.intake.reject, reason=failure, detail=detail)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": failure, "details": []}, status_code=status, headers=headers)
