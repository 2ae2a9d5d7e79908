"""Remediation actions: one module per family, all behind `base.Action`."""
