"""The outcome vocabulary is public contract: API, metrics, page and CLI share it."""

from remediator.model.outcomes import ACTION_RESULTS, APPROVALS, DECISIONS, VERIFICATIONS, Outcome

CONTRACT = [
    "executed", "dry_run", "duplicate", "cooldown", "rate_limited", "breaker_open", "denied",
    "paused", "no_match", "rejected", "succeeded", "failed", "target_gone", "verified",
    "unverified", "unknown", "exhausted", "resolved",
    "awaiting_approval", "approved", "declined", "expired", "operator", "precondition_failed",
    "gitops_managed", "proposed", "reverted_by_gitops",
]


def test_vocabulary_is_exactly_the_contract() -> None:
    assert [o.value for o in Outcome] == CONTRACT


def test_groups_partition_the_vocabulary() -> None:
    grouped = (DECISIONS | ACTION_RESULTS | VERIFICATIONS | APPROVALS
               | {Outcome.EXHAUSTED, Outcome.RESOLVED, Outcome.OPERATOR,
                  Outcome.PRECONDITION_FAILED, Outcome.GITOPS_MANAGED, Outcome.PROPOSED})
    assert grouped == set(Outcome)
    assert not (DECISIONS & ACTION_RESULTS) and not (ACTION_RESULTS & VERIFICATIONS)
