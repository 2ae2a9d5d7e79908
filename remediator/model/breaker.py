"""What the circuit breaker knows of its past, as every guard state reports it.

Pure data beside the other shared vocabulary: `GuardState.breaker()` returns
it (`remediator.model.abc`), the decision core's guards read it, and the
store builds it from its controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class BreakerSnapshot:
    """What the breaker needs to know: when it opened or was reset, and counts."""

    opened_at: datetime | None = None
    reset_at: datetime | None = None
