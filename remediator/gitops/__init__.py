"""GitOps-aware remediation: propose changes to the Git repository an object comes from.

When Argo CD or Flux owns an object, patching it in the cluster is undone at the
next sync; the change has to go to Git. `proposals` is the interface the worker
calls (`Proposer.propose`); the git side (clone cache, manifest lookup,
round-trip edit, commit, push, forge pull request) lives in the other modules
of this package, except `ownership`, `drift` and `policy` (who owns an object).
"""
