"""docs/reference/outcomes.md: the one outcome vocabulary (`model.outcomes.Outcome`),
grouped as the code groups it, with what each means to the person reading it.

The enum is the source of the names; the meanings are documentation and live
here. A new outcome without a meaning fails `tests/docs` (the page must say
what it means before anyone sees it in the audit log)."""

from __future__ import annotations

from remediator.docs.tables import GENERATED, code, table
from remediator.model.outcomes import (
    ACTION_RESULTS,
    APPROVALS,
    DECISIONS,
    REMEDIATION_STATES,
    VERIFICATIONS,
    Outcome,
)

MEANINGS: dict[str, str] = {
    "executed": "the action is queued to run (its result follows as succeeded, failed, ...)",
    "dry_run": "decided but not run: the rule's or the global dry-run (shadow mode, counted "
               "among dry-runs), or a missing Kubernetes connection or Ansible inventory "
               "(counted for nothing); the reason says which",
    "duplicate": "this alert episode's step was already decided (an Alertmanager repeat, "
                 "the other replica of an HA pair)",
    "cooldown": "the same target was acted on within the rule's `limits.cooldown`",
    "rate_limited": "the rule's `limits.max` per `limits.per`, or the global rate limit, "
                    "is spent",
    "breaker_open": "the circuit breaker is open (too many actions or failures in its "
                    "window); `remediator breaker reset` closes it",
    "denied": "the target is not allowed or not valid (a denied or not allowed namespace, "
              "a label that is not a valid name, a host not in the inventory, a missing "
              "label, `unless_firing`)",
    "paused": "remediation is paused by an operator (`remediator resume`)",
    "no_match": "no rule matches the alert",
    "rejected": "a delivery or alert that failed authentication or validation (4xx)",
    "succeeded": "the action ran and did what it says",
    "failed": "the action ran and failed (after its bounded retries), or was interrupted",
    "target_gone": "the target no longer exists (nothing to do)",
    "verified": "after `verify.after` the alert is gone (or `verify.expr` returns nothing)",
    "unverified": "after `verify.after` the problem is still there: the next `escalate` "
                  "step runs",
    "unknown": "verification could not ask Prometheus or Alertmanager",
    "exhausted": "the escalation ladder ran out of steps while still unverified: a human "
                 "is needed (RemediatorEscalationExhausted)",
    "resolved": "Alertmanager resolved the alert (follow-ups such as HPA reverts run)",
    "awaiting_approval": "the rule needs a human's approval before acting",
    "approved": "a human approved; the step was decided again and queued",
    "declined": "a human declined; the episode is not asked about again",
    "expired": "nobody answered within `approval.timeout`; the next notification asks again",
    "operator": "an operator's act: pause, resume, breaker reset, reload, approve, decline, "
                "sign-in, with actor, reason and client address",
    "precondition_failed": "a rule's `when`, `only_if` or `unless` did not hold just before "
                           "acting (the hint, or the query and its result, are recorded)",
    "gitops_managed": "Argo CD or Flux manages the target and the rule says `gitops: refuse`: "
                      "nothing ran, the key was given back (docs/gitops-ownership.md)",
    "proposed": "the change was written to git as a branch (and pull request) instead of "
                "the cluster: `gitops: propose`",
    "reverted_by_gitops": "verification found that Argo CD or Flux put git's value back "
                          "over the action's change (self-heal)",
}

_GROUPS: list[tuple[str, frozenset[Outcome] | None]] = [
    ("Decisions (when an alert arrives)", DECISIONS),
    ("Action results", ACTION_RESULTS),
    ("Verification", VERIFICATIONS),
    ("Approvals", APPROVALS),
    ("Other", None),
]

_INTRO = """\
# Outcome reference

{generated}

One vocabulary everywhere: the audit log and `remediator audit --outcome`, the
API (`/api/v1/audit?outcome=`), the `outcome` label of the metrics, the console
and the CLI. "State" says whether a remediation can be in that state (the
console's and the API's `state` filter, with `pending` while its action is
queued or running).
"""


def outcomes_page() -> str:
    grouped = set().union(*(members for _, members in _GROUPS if members is not None))
    parts = [_INTRO.format(generated=GENERATED)]
    for title, members in _GROUPS:
        chosen = [o for o in Outcome if (o in members if members is not None
                                         else o not in grouped)]
        rows = [(code(o.value), "yes" if o.value in REMEDIATION_STATES else "",
                 MEANINGS.get(o.value, "")) for o in chosen]
        parts.append(f"## {title}\n\n" + table(["outcome", "state", "meaning"], rows) + "\n")
    return "\n".join(parts)
