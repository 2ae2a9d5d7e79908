"""Remediation actions: one module per family, each a `remediator.model.abc.Action`."""
