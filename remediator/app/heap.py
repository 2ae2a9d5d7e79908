"""What the service keeps for its whole life, taken out of the cyclic GC's full passes.

At start the service holds ~90,000 objects it keeps until it exits (modules,
rules, the schema, the app), and more once the Kubernetes client has loaded.
CPython's full (generation 2) collection walks every tracked object, holding
the GIL: one took 143 ms during a 40,000-alert storm, and the delivery it
interrupted answered that much later (issue 11's p99). `gc.freeze()` moves
what is alive now into a permanent generation that no collection walks.

It does not collect first: that costs ~50 ms of start-up and finds almost
nothing then (56 unreachable objects, measured). Frozen objects are still
freed by reference counting; only a reference cycle among them is never
collected, and those were built once.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_long_lived(what: str) -> None:
    """Freeze every object alive now (`what` names them in the debug log)."""
    before = gc.get_freeze_count()
    gc.freeze()
    log.debug("%s: %d objects kept out of full garbage collections", what,
              gc.get_freeze_count() - before)
