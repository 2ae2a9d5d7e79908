"""Does an action's target still exist? Asked when a human approves, not only at run time.

An approval can come long after the decision: the pod may have been
replaced, the Deployment deleted. On-call should hear "the target is gone"
when they click approve, not find a `target_gone` entry later. The check is
a read (no client import here: the Kubernetes actions register
`kubernetes.exists` when a cluster is connected); without a client, or when
the read fails for another reason, the answer is "unknown" and the worker's
own 404 handling still applies at run time.
"""

from __future__ import annotations

import logging

from remediator.actions.registry import ActionRegistry
from remediator.model.actions import ActionRequest, TargetGone

log = logging.getLogger(__name__)

EXISTS_ACTION = "kubernetes.exists"
_TIMEOUT = 5.0


def exists_request(target: ActionRequest, timeout: float = _TIMEOUT) -> ActionRequest:
    """The read-only request asking whether `target` (same kind, namespace, name) exists."""
    return ActionRequest(type=EXISTS_ACTION, kind=target.kind, namespace=target.namespace,
                         name=target.name, timeout=timeout)


async def target_exists(actions: ActionRegistry, target: ActionRequest) -> bool | None:
    """True or False when the API server said so; None when it cannot be known here."""
    check = actions.get(EXISTS_ACTION)
    if check is None or not target.type.startswith("kubernetes."):
        return None
    try:
        await check.run(exists_request(target))
    except TargetGone:
        return False
    except Exception as error:  # unknown: the worker checks again when it acts
        log.warning("could not check that %s exists: %s", target.target, error)
        return None
    return True
